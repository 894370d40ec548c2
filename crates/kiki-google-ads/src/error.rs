//! Google Ads API failures as [`PlatformError`]s. A failed call answers with
//! a `google.rpc.Status` (`{"error": {"code", "message", "status",
//! "details"}}`) whose `details` carry a `GoogleAdsFailure`: a list of
//! errors, each with an `errorCode` (`{"authenticationError":
//! "OAUTH_TOKEN_EXPIRED"}`), a message, the `location.fieldPathElements`
//! it points at and, for quota errors, `details.quotaErrorDetails.retryDelay`.
//! A mutate sent with `partialFailure: true` answers 200 with the same
//! status in `partialFailureError` when operations failed.
//!
//! The mapping follows the gRPC codes Google documents for the API
//! (<https://developers.google.com/google-ads/api/docs/best-practices/error-types>):
//! `UNAUTHENTICATED` → [`PlatformError::AuthExpired`], `PERMISSION_DENIED` →
//! [`PlatformError::Permission`], `RESOURCE_EXHAUSTED` →
//! [`PlatformError::RateLimited`], `INVALID_ARGUMENT` →
//! [`PlatformError::InvalidRequest`] naming the field path, `NOT_FOUND` →
//! [`PlatformError::NotFound`], `INTERNAL` / `UNAVAILABLE` /
//! `DEADLINE_EXCEEDED` → [`PlatformError::Transient`]; the HTTP status
//! decides when the body says nothing.

use std::time::Duration;

use kiki_platforms::PlatformError;
use serde_json::Value;

/// The longest message kept from a platform answer.
const MAX_MESSAGE: usize = 500;

/// The first error of a `GoogleAdsFailure`, as far as KIKI uses it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FirstError {
    /// `authenticationError: OAUTH_TOKEN_EXPIRED`.
    pub code: Option<String>,
    pub message: Option<String>,
    /// `operations[0].create.amount_micros`.
    pub field: Option<String>,
}

/// What a `google.rpc.Status` (the `error` object, or a
/// `partialFailureError`) says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Status {
    pub status: Option<String>,
    pub message: Option<String>,
    pub first: Option<FirstError>,
    pub retry_delay: Option<Duration>,
}

impl Status {
    pub(crate) fn parse(v: &Value) -> Status {
        let mut out = Status {
            status: v.get("status").and_then(Value::as_str).map(str::to_owned),
            message: v.get("message").and_then(Value::as_str).map(str::to_owned),
            ..Status::default()
        };
        for detail in v
            .get("details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if out.retry_delay.is_none() {
                out.retry_delay = detail
                    .pointer("/quotaErrorDetails/retryDelay")
                    .and_then(Value::as_str)
                    .and_then(parse_duration);
            }
            for e in detail
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if out.retry_delay.is_none() {
                    out.retry_delay = e
                        .pointer("/details/quotaErrorDetails/retryDelay")
                        .and_then(Value::as_str)
                        .and_then(parse_duration);
                }
                if out.first.is_none() {
                    out.first = Some(FirstError {
                        code: error_code(e.get("errorCode")),
                        message: e.get("message").and_then(Value::as_str).map(str::to_owned),
                        field: field_path(e.pointer("/location/fieldPathElements")),
                    });
                }
            }
        }
        out
    }

    /// The error codes of this status, for matching (`OAUTH_TOKEN_EXPIRED`).
    fn code_value(&self) -> Option<&str> {
        let c = self.first.as_ref()?.code.as_deref()?;
        Some(c.rsplit(": ").next().unwrap_or(c))
    }

    /// A sentence for people: the first error's message and code, else the
    /// status message.
    fn describe(&self) -> String {
        let text = match &self.first {
            Some(FirstError {
                code: Some(code),
                message: Some(m),
                ..
            }) => format!("{m} ({code})"),
            Some(FirstError {
                code: Some(code),
                message: None,
                ..
            }) => code.clone(),
            Some(FirstError {
                message: Some(m), ..
            }) => m.clone(),
            _ => self
                .message
                .clone()
                .unwrap_or_else(|| "no reason given".to_owned()),
        };
        clip(&text)
    }
}

/// `{"authenticationError": "OAUTH_TOKEN_EXPIRED"}` →
/// `authenticationError: OAUTH_TOKEN_EXPIRED`.
fn error_code(v: Option<&Value>) -> Option<String> {
    let obj = v?.as_object()?;
    let (k, val) = obj.iter().next()?;
    Some(match val.as_str() {
        Some(s) => format!("{k}: {s}"),
        None => k.clone(),
    })
}

/// `[{"fieldName": "operations", "index": 0}, {"fieldName": "create"}]` →
/// `operations[0].create`.
pub(crate) fn field_path(v: Option<&Value>) -> Option<String> {
    let elements = v?.as_array()?;
    let mut path = String::new();
    for e in elements {
        let Some(name) = e.get("fieldName").and_then(Value::as_str) else {
            continue;
        };
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        if let Some(i) = e.get("index").and_then(Value::as_u64) {
            path.push_str(&format!("[{i}]"));
        }
    }
    (!path.is_empty()).then_some(path)
}

/// A protobuf JSON `Duration` (`"30s"`, `"1.5s"`) or plain seconds (`"30"`,
/// the `Retry-After` form), rounded up to whole seconds.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let num = s.strip_suffix('s').unwrap_or(s);
    if let Ok(secs) = num.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let secs: f64 = num.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs(secs.ceil() as u64))
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_MESSAGE).collect();
    out.push('…');
    out
}

/// The error for a failed HTTP answer: the status code, the body and the
/// `Retry-After` header.
pub(crate) fn from_response(
    http_status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> PlatformError {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    // searchStream answers an array of batches; a failure may be its last.
    let error = parsed.as_ref().and_then(|v| match v {
        Value::Array(items) => items.iter().rev().find_map(|i| i.get("error")).cloned(),
        other => other.get("error").cloned(),
    });
    let status = error.as_ref().map(Status::parse).unwrap_or_default();
    classify(http_status, &status, retry_after)
}

/// The error a status comes down to; `http_status` decides when the body
/// names no gRPC status.
pub(crate) fn classify(
    http_status: u16,
    status: &Status,
    retry_after: Option<Duration>,
) -> PlatformError {
    let message = status.describe();
    let code = status.code_value().unwrap_or("");
    if matches!(code, "RESOURCE_NOT_FOUND" | "CUSTOMER_NOT_FOUND") {
        return PlatformError::NotFound { message };
    }
    let grpc = status.status.as_deref().unwrap_or(match http_status {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        400 | 409 | 412 | 422 => "INVALID_ARGUMENT",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "UNAVAILABLE",
        _ => "UNKNOWN",
    });
    match grpc {
        "UNAUTHENTICATED" => PlatformError::AuthExpired { message },
        "PERMISSION_DENIED" => PlatformError::Permission { message },
        "RESOURCE_EXHAUSTED" => PlatformError::RateLimited {
            retry_after_secs: status
                .retry_delay
                .or(retry_after)
                .map(|d| d.as_secs().max(1))
                // Google documents no default; its client libraries wait 30 s.
                .unwrap_or(30),
            message,
        },
        "NOT_FOUND" => PlatformError::NotFound { message },
        "INTERNAL" | "UNAVAILABLE" | "DEADLINE_EXCEEDED" | "ABORTED" | "UNKNOWN" => {
            PlatformError::Transient { message }
        }
        _ => PlatformError::InvalidRequest {
            field: status.first.as_ref().and_then(|f| f.field.clone()),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failure(status: &str, code: Value, path: Value, details: Value) -> Value {
        json!({"error": {
            "code": 400, "message": "Request contains an invalid argument.", "status": status,
            "details": [{
                "@type": "type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure",
                "errors": [{
                    "errorCode": code,
                    "message": "Too low.",
                    "location": {"fieldPathElements": path},
                    "details": details
                }],
                "requestId": "r-1"
            }]
        }})
    }

    #[test]
    fn an_invalid_argument_names_the_field_path() {
        let body = failure(
            "INVALID_ARGUMENT",
            json!({"campaignBudgetError": "MONEY_AMOUNT_TOO_SMALL"}),
            json!([{"fieldName": "operations", "index": 0}, {"fieldName": "create"}, {"fieldName": "amount_micros"}]),
            json!({}),
        );
        let e = from_response(400, body.to_string().as_bytes(), None);
        assert_eq!(
            e,
            PlatformError::InvalidRequest {
                field: Some("operations[0].create.amount_micros".into()),
                message: "Too low. (campaignBudgetError: MONEY_AMOUNT_TOO_SMALL)".into()
            }
        );
    }

    #[test]
    fn quota_errors_carry_the_retry_delay() {
        let body = failure(
            "RESOURCE_EXHAUSTED",
            json!({"quotaError": "RESOURCE_EXHAUSTED"}),
            json!([]),
            json!({"quotaErrorDetails": {"rateScope": "DEVELOPER", "retryDelay": "86400s"}}),
        );
        match from_response(
            429,
            body.to_string().as_bytes(),
            Some(Duration::from_secs(5)),
        ) {
            PlatformError::RateLimited {
                retry_after_secs, ..
            } => assert_eq!(retry_after_secs, 86_400),
            other => panic!("{other:?}"),
        }
        // Without details, Retry-After decides.
        let e = from_response(429, b"{}", Some(Duration::from_secs(7)));
        assert!(
            matches!(
                e,
                PlatformError::RateLimited {
                    retry_after_secs: 7,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn statuses_and_http_codes_map_as_documented() {
        let cases: [(u16, Option<&str>, &str); 10] = [
            (401, Some("UNAUTHENTICATED"), "auth_expired"),
            (401, None, "auth_expired"),
            (403, Some("PERMISSION_DENIED"), "permission"),
            (403, None, "permission"),
            (404, Some("NOT_FOUND"), "not_found"),
            (500, Some("INTERNAL"), "transient"),
            (503, Some("UNAVAILABLE"), "transient"),
            (504, Some("DEADLINE_EXCEEDED"), "transient"),
            (502, None, "transient"),
            (400, None, "invalid_request"),
        ];
        for (http, grpc, want) in cases {
            let body = match grpc {
                Some(s) => {
                    json!({"error": {"code": http, "message": "m", "status": s}}).to_string()
                }
                None => "<html>bad gateway</html>".to_owned(),
            };
            assert_eq!(
                from_response(http, body.as_bytes(), None).code(),
                want,
                "{http} {grpc:?}"
            );
        }
        let not_found = failure(
            "INVALID_ARGUMENT",
            json!({"mutateError": "RESOURCE_NOT_FOUND"}),
            json!([]),
            json!({}),
        );
        assert_eq!(
            from_response(400, not_found.to_string().as_bytes(), None).code(),
            "not_found"
        );
    }

    #[test]
    fn durations_parse_in_both_forms() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-3s"), None);
    }
}
