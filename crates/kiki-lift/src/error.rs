//! The one error type of the incrementality engine. Every variant says in a
//! full sentence what is wrong, so a service can hand it to a person as is.

use serde::{Deserialize, Serialize};

/// Everything the engine refuses to compute, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum LiftError {
    /// The input is malformed or inconsistent (names the rule broken).
    #[error("{0}")]
    Invalid(String),
    /// A unit named in the request is not in the panel.
    #[error("The unit `{0}` is not in the panel.")]
    UnknownUnit(String),
    /// A number in the input is NaN or infinite.
    #[error("The value for unit `{unit}` at period {period} is not a finite number.")]
    NonFinite {
        /// The unit whose value is bad.
        unit: String,
        /// The 0-based period index of the bad value.
        period: usize,
    },
    /// The long-format data leaves holes in the panel.
    #[error(
        "The panel is incomplete: {missing} unit-period cells are missing (first: unit `{first_unit}`, period `{first_period}`)."
    )]
    Incomplete {
        /// How many cells are missing.
        missing: usize,
        /// The first missing cell's unit.
        first_unit: String,
        /// The first missing cell's period label.
        first_period: String,
    },
    /// There is not enough data for the method (says what is missing).
    #[error("{0}")]
    InsufficientData(String),
    /// A numerical routine did not reach a solution (says which).
    #[error("The computation did not converge: {0}.")]
    Numerical(String),
    /// The caller cancelled a long run.
    #[error("The run was cancelled.")]
    Cancelled,
}

impl LiftError {
    /// Shorthand for [`LiftError::Invalid`].
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        LiftError::Invalid(msg.into())
    }

    /// Shorthand for [`LiftError::InsufficientData`].
    pub(crate) fn insufficient(msg: impl Into<String>) -> Self {
        LiftError::InsufficientData(msg.into())
    }
}

/// The result type of the engine.
pub type Result<T> = std::result::Result<T, LiftError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences_and_round_trip_through_json() {
        let err = LiftError::NonFinite {
            unit: "chicago".into(),
            period: 3,
        };
        assert_eq!(
            err.to_string(),
            "The value for unit `chicago` at period 3 is not a finite number."
        );
        let json = serde_json::to_string(&err).unwrap();
        assert!(json.contains("\"kind\":\"non_finite\""));
        let back: LiftError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, err);
    }
}
