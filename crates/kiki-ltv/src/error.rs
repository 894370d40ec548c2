//! The one error type of the LTV engine. Every variant says in a full
//! sentence what is wrong and, for bad data, which rows are at fault.

use std::fmt;

use kiki_core::ErrorCode;

use crate::csv_import::CsvErrors;
use serde::{Deserialize, Serialize};

/// How many offending row indexes an error keeps; the total is kept too.
pub const MAX_LISTED_ROWS: usize = 20;

/// Indexes (0-based, into the slice that was passed in) of the rows that
/// broke a rule: the first [`MAX_LISTED_ROWS`] and how many there were.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowList {
    pub rows: Vec<usize>,
    pub total: usize,
}

impl RowList {
    pub fn push(&mut self, row: usize) {
        if self.rows.len() < MAX_LISTED_ROWS {
            self.rows.push(row);
        }
        self.total += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Rows for which `bad` holds.
    pub fn collect<I: IntoIterator<Item = bool>>(flags: I) -> RowList {
        let mut list = RowList::default();
        for (i, bad) in flags.into_iter().enumerate() {
            if bad {
                list.push(i);
            }
        }
        list
    }
}

impl fmt::Display for RowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.rows.iter().map(usize::to_string).collect();
        let noun = if self.total == 1 { "row" } else { "rows" };
        write!(f, "{noun} {}", shown.join(", "))?;
        if self.total > self.rows.len() {
            write!(f, " and {} more", self.total - self.rows.len())?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LtvError {
    #[error("There is no customer data to work with.")]
    EmptyData,

    #[error("The {field} value is not a finite number in {rows}.")]
    NonFinite { field: &'static str, rows: RowList },

    #[error("The {field} value is negative in {rows}.")]
    Negative { field: &'static str, rows: RowList },

    #[error("The frequency must be a whole number of repeat purchases, but is not in {rows}.")]
    FractionalFrequency { rows: RowList },

    #[error(
        "The recency (time of the last purchase) is later than the customer's age T in {rows}."
    )]
    RecencyExceedsAge { rows: RowList },

    #[error(
        "A customer with no repeat purchases must have recency 0, but {rows} have a positive recency."
    )]
    RecencyWithoutRepeat { rows: RowList },

    #[error(
        "BG/BB counts whole transaction opportunities: recency and T must be whole numbers, but are not in {rows}."
    )]
    FractionalPeriods { rows: RowList },

    #[error(
        "BG/BB allows at most one transaction per opportunity, but frequency exceeds recency in {rows}."
    )]
    FrequencyExceedsRecency { rows: RowList },

    #[error("The weight of a row must be a positive finite number, but is not in {rows}.")]
    InvalidWeight { rows: RowList },

    #[error(
        "No customer made a repeat purchase, so purchase and dropout rates cannot be estimated."
    )]
    NoRepeatBuyers,

    #[error(
        "The Gamma-Gamma model needs a positive average spend for customers with repeat purchases, but it is zero or negative in {rows}."
    )]
    NonPositiveSpend { rows: RowList },

    #[error("The parameter `{name}` is {value}, but it must be {requirement}.")]
    InvalidParameter {
        name: String,
        value: f64,
        requirement: &'static str,
    },

    #[error("The stored {kind} model has no parameter `{name}`.")]
    MissingParameter {
        kind: &'static str,
        name: &'static str,
    },

    #[error("The option `{name}` is invalid: {message}")]
    InvalidOption { name: &'static str, message: String },

    #[error(
        "The Gamma-Gamma model has q = {q}, so the expected spend of a customer without repeat purchases is infinite; refit with more data or a penalizer."
    )]
    UndefinedMeanSpend { q: f64 },

    #[error("Fitting the {kind} model failed: {reason}")]
    FitFailed { kind: &'static str, reason: String },

    #[error("The {what} could not be computed to full precision for these parameters.")]
    Numerical { what: &'static str },

    #[error("{0}")]
    Csv(CsvErrors),
}

impl LtvError {
    /// The row indexes the error is about, when it is about rows.
    pub fn offending_rows(&self) -> Option<&RowList> {
        match self {
            LtvError::NonFinite { rows, .. }
            | LtvError::Negative { rows, .. }
            | LtvError::FractionalFrequency { rows }
            | LtvError::RecencyExceedsAge { rows }
            | LtvError::RecencyWithoutRepeat { rows }
            | LtvError::FractionalPeriods { rows }
            | LtvError::FrequencyExceedsRecency { rows }
            | LtvError::InvalidWeight { rows }
            | LtvError::NonPositiveSpend { rows } => Some(rows),
            _ => None,
        }
    }

    /// The code the HTTP edge answers with: 422 for every variant. Bad input
    /// is the caller's to fix; a model that cannot be fitted or evaluated on
    /// the data (an optimiser or numerical failure) is fixed by choosing
    /// another model, a penalizer or more data, which is the caller's choice
    /// too.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::ValidationFailed
    }

    /// Whether the model (not the rows) is what failed: the optimiser did not
    /// reach an optimum, or a quantity cannot be evaluated for the fitted
    /// parameters.
    pub fn is_model_failure(&self) -> bool {
        matches!(
            self,
            LtvError::FitFailed { .. } | LtvError::Numerical { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_list_caps_the_listed_rows_and_counts_the_rest() {
        let list = RowList::collect(std::iter::repeat_n(true, 30));
        assert_eq!(list.rows.len(), MAX_LISTED_ROWS);
        assert_eq!(list.total, 30);
        assert!(list.to_string().ends_with("19 and 10 more"), "{list}");
    }

    #[test]
    fn messages_name_the_problem_and_the_rows() {
        let err = LtvError::RecencyExceedsAge {
            rows: RowList::collect([false, true, false, true]),
        };
        assert_eq!(
            err.to_string(),
            "The recency (time of the last purchase) is later than the customer's age T in rows 1, 3."
        );
        assert_eq!(err.offending_rows().map(|r| r.total), Some(2));
        assert_eq!(err.error_code(), ErrorCode::ValidationFailed);
        assert!(!err.is_model_failure());
        let numerical = LtvError::Numerical { what: "x" };
        assert!(numerical.is_model_failure());
        assert_eq!(numerical.error_code(), ErrorCode::ValidationFailed);
        let one = LtvError::NonFinite {
            field: "T",
            rows: RowList::collect([true]),
        };
        assert_eq!(
            one.to_string(),
            "The T value is not a finite number in row 0."
        );
    }
}
