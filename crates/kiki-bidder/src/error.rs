//! The one error enum of the bidder. Every message is a one-line sentence, so the
//! HTTP layer can answer 400/413 with `to_string()` as the reason.

use kiki_core::{Currency, FieldError};

/// Everything that can go wrong in the bidder: bad requests, bad notices, bad
/// line items and bad configuration. Never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BidderError {
    /// The body exceeds the configured limit (the HTTP layer answers 413).
    #[error("The request body is {len} bytes, more than the limit of {max} bytes.")]
    BodyTooLarge { len: usize, max: usize },
    /// The body is not JSON of the OpenRTB shape (400).
    #[error("The request body is not valid OpenRTB JSON: {0}.")]
    MalformedJson(String),
    /// The JSON parsed but breaks an OpenRTB rule (400).
    #[error("The bid request is invalid: {0}.")]
    InvalidRequest(String),
    /// A win, billing or loss notice that cannot be understood (400).
    #[error("The notice is invalid: {0}.")]
    InvalidNotice(String),
    /// `${AUCTION_PRICE}` did not hold a decimal CPM.
    #[error("The auction price `{0}` is not a non-negative decimal CPM.")]
    InvalidPrice(String),
    /// The exchange sent the notice URL without replacing the price macro.
    #[error("The exchange did not substitute the ${{AUCTION_PRICE}} macro.")]
    PriceMacroNotSubstituted,
    /// A line item failed validation; each field error names the field.
    #[error("Line item {id} is invalid: {}.", join_field_errors(.errors))]
    InvalidLineItem { id: String, errors: Vec<FieldError> },
    /// A conversion was needed between two currencies with no configured rate.
    #[error("No exchange rate is configured to convert {from} into {to}.")]
    MissingFxRate { from: Currency, to: Currency },
    /// The bidder configuration breaks a rule (e.g. a threshold outside its range).
    #[error("The bidder configuration is invalid: {0}.")]
    InvalidConfig(String),
    /// An arithmetic result was NaN or infinite; the name says which quantity.
    #[error("The computed {0} is not a finite number.")]
    NotFinite(&'static str),
}

fn join_field_errors(errors: &[FieldError]) -> String {
    let mut out = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&e.field);
        out.push_str(": ");
        out.push_str(e.message.trim_end_matches('.'));
    }
    out
}

impl BidderError {
    /// The HTTP status the edge should answer with when this error ends a request.
    pub fn http_status(&self) -> u16 {
        match self {
            BidderError::BodyTooLarge { .. } => 413,
            BidderError::MalformedJson(_)
            | BidderError::InvalidRequest(_)
            | BidderError::InvalidNotice(_)
            | BidderError::InvalidPrice(_)
            | BidderError::PriceMacroNotSubstituted => 400,
            BidderError::InvalidLineItem { .. } => 422,
            BidderError::MissingFxRate { .. }
            | BidderError::InvalidConfig(_)
            | BidderError::NotFinite(_) => 500,
        }
    }

    /// The matching code of the shared error table.
    pub fn error_code(&self) -> kiki_core::ErrorCode {
        use kiki_core::ErrorCode;
        match self {
            BidderError::BodyTooLarge { .. } => ErrorCode::PayloadTooLarge,
            BidderError::MalformedJson(_) => ErrorCode::InvalidJson,
            BidderError::InvalidRequest(_)
            | BidderError::InvalidNotice(_)
            | BidderError::InvalidPrice(_)
            | BidderError::PriceMacroNotSubstituted => ErrorCode::BadRequest,
            BidderError::InvalidLineItem { .. } => ErrorCode::ValidationFailed,
            BidderError::MissingFxRate { .. }
            | BidderError::InvalidConfig(_)
            | BidderError::NotFinite(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_one_line_and_status_matches_the_shared_table() {
        let all = [
            BidderError::BodyTooLarge {
                len: 300_000,
                max: 262_144,
            },
            BidderError::MalformedJson("expected value at line 1 column 1".into()),
            BidderError::InvalidRequest("the bid request has no `imp`".into()),
            BidderError::InvalidNotice("the `bid` parameter is missing".into()),
            BidderError::InvalidPrice("abc".into()),
            BidderError::PriceMacroNotSubstituted,
            BidderError::InvalidLineItem {
                id: "x".into(),
                errors: vec![FieldError::new("budget.daily", "Must be positive.")],
            },
            BidderError::MissingFxRate {
                from: Currency::EUR,
                to: Currency::USD,
            },
            BidderError::InvalidConfig("margin.safety_margin must be in (0, 1]".into()),
            BidderError::NotFinite("bid price"),
        ];
        for e in all {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(msg.ends_with('.'), "{msg}");
            assert_eq!(e.http_status(), e.error_code().http_status(), "{msg}");
        }
    }
}
