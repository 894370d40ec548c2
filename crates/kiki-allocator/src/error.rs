//! The allocator's one error type.

use kiki_core::FieldError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocError {
    /// The request failed validation; each entry names a JSON path.
    #[error("The request is invalid: {}", summarise(.0))]
    Invalid(Vec<FieldError>),
    /// An amount does not fit in 64-bit micros or is not finite.
    #[error(
        "The computed {what} is not a finite amount that fits in micros; the curves are out of range."
    )]
    OutOfRange { what: &'static str },
}

fn summarise(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AllocError {
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            AllocError::Invalid(e) => e,
            AllocError::OutOfRange { .. } => &[],
        }
    }
}
