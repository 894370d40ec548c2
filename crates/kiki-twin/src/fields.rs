//! A small collector of field errors with JSON-path names, shared by the
//! validators of plans, models, options and estimation inputs.

use kiki_core::{Currency, FieldError, Money};

#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub errors: Vec<FieldError>,
}

impl Fields {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// A float that must be finite and within `[lo, hi]`.
    pub fn finite_in(&mut self, field: impl Into<String>, value: f64, lo: f64, hi: f64) {
        let field = field.into();
        if !value.is_finite() {
            self.push(field, "The value must be a finite number.");
        } else if value < lo || value > hi {
            self.push(field, format!("The value must be between {lo} and {hi}."));
        }
    }

    /// A float that must be finite and strictly positive.
    pub fn finite_positive(&mut self, field: impl Into<String>, value: f64) {
        let field = field.into();
        if !value.is_finite() {
            self.push(field, "The value must be a finite number.");
        } else if value <= 0.0 {
            self.push(field, "The value must be greater than zero.");
        }
    }

    /// A float that must be finite and at least zero.
    pub fn finite_non_negative(&mut self, field: impl Into<String>, value: f64) {
        let field = field.into();
        if !value.is_finite() {
            self.push(field, "The value must be a finite number.");
        } else if value < 0.0 {
            self.push(field, "The value must not be negative.");
        }
    }

    pub fn non_negative_micros(&mut self, field: impl Into<String>, value: i64) {
        if value < 0 {
            self.push(field, "The amount must not be negative.");
        }
    }

    /// An amount that must be in `currency`; `false` (and a field error at
    /// `<field>.currency`) when it is not.
    pub fn same_currency(&mut self, field: &str, value: &Money, currency: Currency) -> bool {
        if value.currency == currency {
            true
        } else {
            self.push(
                format!("{field}.currency"),
                format!("Must be the plan currency ({currency})."),
            );
            false
        }
    }

    /// An amount in `currency` of at least zero.
    pub fn non_negative_money(&mut self, field: &str, value: &Money, currency: Currency) {
        if self.same_currency(field, value, currency) {
            self.non_negative_micros(field, value.micros);
        }
    }

    /// An amount in `currency` above zero; `what` names it in the message.
    pub fn positive_money(&mut self, field: &str, value: &Money, currency: Currency, what: &str) {
        if self.same_currency(field, value, currency) && value.micros <= 0 {
            self.push(field, format!("{what} must be greater than zero."));
        }
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}
