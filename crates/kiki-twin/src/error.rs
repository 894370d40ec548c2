//! The crate's one error type. Bad input is reported as field errors so the
//! HTTP layer can answer 422 naming each field; nothing here panics on input.

use kiki_core::FieldError;

use crate::platform::Platform;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TwinError {
    /// The input failed validation; each entry names a JSON path.
    #[error("The input is invalid: {}", summarise(.0))]
    Invalid(Vec<FieldError>),
    /// A plan names a platform (or ad set) the market model has no parameters for.
    #[error("The market model has no parameters for platform `{0}`; estimate it first.")]
    MissingPlatformModel(Platform),
    /// The plan and the market model are in different currencies.
    #[error("The plan is in {plan} but the market model is in {model}; convert one of them first.")]
    CurrencyMismatch { plan: String, model: String },
    /// A computed amount does not fit in 64-bit micros or is not a finite number.
    #[error(
        "The simulated {what} is not a finite amount that fits in micros; the model parameters are out of range."
    )]
    OutOfRange { what: &'static str },
    /// A platform name that is not one of [`Platform::ALL`].
    #[error("`{0}` is not a known platform.")]
    UnknownPlatform(String),
    /// The projection given to the mirror has no days.
    #[error("The projection has no days to compare against.")]
    EmptyProjection,
}

fn summarise(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl TwinError {
    /// The field errors, when this is a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            TwinError::Invalid(errors) => errors,
            _ => &[],
        }
    }
}
