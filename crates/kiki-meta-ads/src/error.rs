//! Meta's error answers mapped onto [`PlatformError`]. The Graph API answers
//! a failed call with `{"error": {"message", "type", "code", "error_subcode",
//! "is_transient", "error_user_title", "error_user_msg", "error_data",
//! "fbtrace_id"}}`; the codes are those of Meta's "Handling Errors" (Graph
//! API) and "Marketing API error codes" pages:
//!
//! | Meta | KIKI |
//! |---|---|
//! | 190 with subcode 458 (app removed) or 460 (password changed) | `Revoked` |
//! | 190 otherwise (463 expired, 467 invalid, …) | `AuthExpired` |
//! | 10, 200–299 | `Permission` |
//! | 4, 17, 32, 613, 80000–80014 | `RateLimited` |
//! | 803; 100 with subcode 33 | `NotFound` |
//! | `is_transient`, 1, 2, HTTP 5xx | `Transient` |
//! | 100 and the rest | `InvalidRequest`, naming the field Meta blamed |

use kiki_platforms::PlatformError;
use serde::Deserialize;
use serde_json::Value;

/// The longest part of Meta's message kept in an error.
const MAX_MESSAGE_CHARS: usize = 400;

/// When Meta gives no estimate, a throttled account waits this long.
pub(crate) const DEFAULT_RATE_LIMIT_WAIT_SECS: u64 = 60;

/// The `error` object of a Graph answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GraphError {
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<i64>,
    pub error_subcode: Option<i64>,
    pub is_transient: Option<bool>,
    pub error_user_title: Option<String>,
    pub error_user_msg: Option<String>,
    pub error_data: Option<Value>,
    pub fbtrace_id: Option<String>,
}

impl GraphError {
    /// The text an operator sees: Meta's user-facing title and message when
    /// it gave them, its technical message otherwise, and the trace id Meta
    /// support asks for.
    fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(t) = self.error_user_title.as_deref().filter(|t| !t.is_empty()) {
            parts.push(t.to_owned());
        }
        match self.error_user_msg.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => parts.push(m.to_owned()),
            None => parts.push(
                self.message
                    .clone()
                    .unwrap_or_else(|| "Meta gave no reason".to_owned()),
            ),
        }
        let mut text = parts.join(": ");
        if let Some(code) = self.code {
            text.push_str(&format!(" (Meta code {code}"));
            if let Some(sub) = self.error_subcode {
                text.push_str(&format!("/{sub}"));
            }
            text.push(')');
        }
        if let Some(trace) = self.fbtrace_id.as_deref() {
            text.push_str(&format!(" [fbtrace_id {trace}]"));
        }
        clip(&text)
    }

    /// The field Meta blamed: `error_data.blame_field_specs` (a list of
    /// paths, `[["targeting", "age_max"]]`; `error_data` is sometimes a JSON
    /// string), else the `param <name>` Meta's `(#100)` messages name.
    fn blamed_field(&self) -> Option<String> {
        let data = match &self.error_data {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
            Some(v) => Some(v.clone()),
            None => None,
        };
        if let Some(specs) = data
            .as_ref()
            .and_then(|d| d.get("blame_field_specs"))
            .and_then(Value::as_array)
        {
            let fields: Vec<String> = specs
                .iter()
                .filter_map(|spec| match spec {
                    Value::Array(path) => {
                        let segs: Vec<&str> = path.iter().filter_map(Value::as_str).collect();
                        (!segs.is_empty()).then(|| segs.join("."))
                    }
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            if !fields.is_empty() {
                return Some(fields.join(", "));
            }
        }
        let msg = self.message.as_deref()?;
        for marker in ["param ", "parameter "] {
            if let Some(at) = msg.find(marker) {
                let name: String = msg[at + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
                    .collect();
                if !name.is_empty() {
                    return Some(name);
                }
            }
        }
        None
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
        out.push('…');
        out
    }
}

/// The error of a Graph answer with HTTP `status` and `body`.
/// `wait_secs` is the wait the usage headers of the same answer asked for.
pub(crate) fn map_error(status: u16, body: &[u8], wait_secs: Option<u64>) -> PlatformError {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").filter(|e| e.is_object()).cloned())
        .and_then(|e| serde_json::from_value::<GraphError>(e).ok());
    match error {
        Some(e) => map_graph_error(status, &e, wait_secs),
        None => map_status(status, body, wait_secs),
    }
}

/// Maps one Graph `error` object (HTTP `status` is 0 inside a batch item
/// answered without one).
pub(crate) fn map_graph_error(
    status: u16,
    e: &GraphError,
    wait_secs: Option<u64>,
) -> PlatformError {
    let message = e.describe();
    let code = e.code.unwrap_or(0);
    let sub = e.error_subcode.unwrap_or(0);
    match code {
        190 if matches!(sub, 458 | 460) => PlatformError::Revoked { message },
        190 => PlatformError::AuthExpired { message },
        10 | 200..=299 => PlatformError::Permission { message },
        4 | 17 | 32 | 613 | 80_000..=80_014 => PlatformError::RateLimited {
            retry_after_secs: wait_secs
                .filter(|w| *w > 0)
                .unwrap_or(DEFAULT_RATE_LIMIT_WAIT_SECS),
            message,
        },
        803 => PlatformError::NotFound { message },
        100 if sub == 33 => PlatformError::NotFound { message },
        _ if e.is_transient == Some(true) || matches!(code, 1 | 2) || status >= 500 => {
            PlatformError::Transient { message }
        }
        _ if code == 0 && status != 0 => map_status(status, message.as_bytes(), wait_secs),
        _ => PlatformError::InvalidRequest {
            field: e.blamed_field(),
            message,
        },
    }
}

/// An answer without a Graph error object: by its HTTP status.
fn map_status(status: u16, body: &[u8], wait_secs: Option<u64>) -> PlatformError {
    let text = String::from_utf8_lossy(body);
    let message = clip(&format!("HTTP {status}: {}", text.trim()));
    match status {
        401 => PlatformError::AuthExpired { message },
        403 => PlatformError::Permission { message },
        404 => PlatformError::NotFound { message },
        429 => PlatformError::RateLimited {
            retry_after_secs: wait_secs
                .filter(|w| *w > 0)
                .unwrap_or(DEFAULT_RATE_LIMIT_WAIT_SECS),
            message,
        },
        s if s >= 500 || s == 408 => PlatformError::Transient { message },
        _ => PlatformError::InvalidRequest {
            field: None,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(status: u16, error: Value) -> PlatformError {
        map_error(
            status,
            json!({ "error": error }).to_string().as_bytes(),
            None,
        )
    }

    #[test]
    fn meta_codes_map_to_the_port() {
        let cases = [
            (json!({"code": 190, "error_subcode": 463}), "auth_expired"),
            (json!({"code": 190, "error_subcode": 467}), "auth_expired"),
            (json!({"code": 190}), "auth_expired"),
            (json!({"code": 190, "error_subcode": 458}), "revoked"),
            (json!({"code": 190, "error_subcode": 460}), "revoked"),
            (json!({"code": 10}), "permission"),
            (json!({"code": 200}), "permission"),
            (json!({"code": 294}), "permission"),
            (json!({"code": 4}), "rate_limited"),
            (
                json!({"code": 17, "error_subcode": 2446079}),
                "rate_limited",
            ),
            (json!({"code": 32}), "rate_limited"),
            (
                json!({"code": 613, "error_subcode": 1487742}),
                "rate_limited",
            ),
            (json!({"code": 80000}), "rate_limited"),
            (json!({"code": 80004}), "rate_limited"),
            (json!({"code": 80014}), "rate_limited"),
            (json!({"code": 803}), "not_found"),
            (json!({"code": 100, "error_subcode": 33}), "not_found"),
            (json!({"code": 1}), "transient"),
            (json!({"code": 2}), "transient"),
            (json!({"code": 100, "is_transient": true}), "transient"),
            (json!({"code": 100}), "invalid_request"),
            (json!({"code": 1487390}), "invalid_request"),
        ];
        for (error, want) in cases {
            assert_eq!(map(400, error.clone()).code(), want, "{error}");
        }
        assert_eq!(map(500, json!({"code": 9999})).code(), "transient");
        assert_eq!(
            map_error(502, b"<html>bad gateway</html>", None).code(),
            "transient"
        );
        assert_eq!(map_error(404, b"", None).code(), "not_found");
    }

    #[test]
    fn a_rate_limit_carries_the_wait_meta_asked_for() {
        let e = map_error(
            400,
            json!({"error": {"code": 17, "message": "User request limit reached"}})
                .to_string()
                .as_bytes(),
            Some(600),
        );
        assert_eq!(
            e,
            PlatformError::RateLimited {
                retry_after_secs: 600,
                message: "User request limit reached (Meta code 17)".into()
            }
        );
        let e = map(400, json!({"code": 4}));
        assert!(
            matches!(e, PlatformError::RateLimited { retry_after_secs, .. } if retry_after_secs == DEFAULT_RATE_LIMIT_WAIT_SECS)
        );
    }

    #[test]
    fn an_invalid_parameter_names_the_blamed_field() {
        let e = map(
            400,
            json!({
                "message": "Invalid parameter",
                "code": 100,
                "error_subcode": 1885272,
                "error_user_title": "Budget Too Low",
                "error_user_msg": "Your budget must be at least $1.00.",
                "error_data": {"blame_field_specs": [["daily_budget"]]},
                "fbtrace_id": "AbC123"
            }),
        );
        assert_eq!(
            e,
            PlatformError::InvalidRequest {
                field: Some("daily_budget".into()),
                message: "Budget Too Low: Your budget must be at least $1.00. \
                          (Meta code 100/1885272) [fbtrace_id AbC123]"
                    .into()
            }
        );
        // error_data as a JSON string, a nested path.
        let e = map(
            400,
            json!({"code": 100, "message": "Invalid parameter",
                   "error_data": "{\"blame_field_specs\":[[\"targeting\",\"age_max\"]]}"}),
        );
        assert!(
            matches!(e, PlatformError::InvalidRequest { field: Some(f), .. } if f == "targeting.age_max")
        );
        // No blame specs: the `param` the message names.
        let e = map(
            400,
            json!({"code": 100, "message": "(#100) param name must be non-empty."}),
        );
        assert!(matches!(e, PlatformError::InvalidRequest { field: Some(f), .. } if f == "name"));
    }
}
