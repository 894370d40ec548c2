//! The shape of a dependency health check, shared by the database, cache and
//! anything else a readiness endpoint reports on.

use serde::{Deserialize, Serialize};

/// How a dependency is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DependencyStatus {
    /// Working normally.
    Up,
    /// Not working, but a fallback keeps the service running (e.g. cache in memory).
    Degraded,
    /// Not working and no fallback.
    Down,
}

/// One dependency's health, as shown by `/health/ready`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DependencyCheck {
    /// `database`, `redis`, `cache`, ...
    pub name: String,
    pub status: DependencyStatus,
    /// Round trip of the check in milliseconds.
    pub response_time_ms: f64,
    /// Why it is not `up`, as a sentence.
    pub error: Option<String>,
}

impl DependencyCheck {
    pub(crate) fn new(name: &str, status: DependencyStatus, elapsed: std::time::Duration) -> Self {
        DependencyCheck {
            name: name.to_owned(),
            status,
            response_time_ms: elapsed.as_secs_f64() * 1000.0,
            error: None,
        }
    }

    pub(crate) fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_serialises_in_lower_case() {
        let c = DependencyCheck::new(
            "redis",
            DependencyStatus::Degraded,
            std::time::Duration::from_millis(3),
        )
        .with_error("Redis is unreachable.");
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["status"], "degraded");
        assert_eq!(v["name"], "redis");
        assert_eq!(v["response_time_ms"], 3.0);
    }
}
