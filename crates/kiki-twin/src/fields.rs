//! A small collector of field errors with JSON-path names, shared by the
//! validators of plans, models, options and estimation inputs.

use kiki_core::FieldError;

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

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}
