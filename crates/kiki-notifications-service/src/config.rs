//! The `[notifications]` configuration section: the defaults an
//! organisation's thresholds start from, and whether high-severity
//! notifications are mailed to the organisation's owners.

use serde::{Deserialize, Serialize};

/// `[notifications]` in `kiki.toml` (or `KIKI__NOTIFICATIONS__*`). Every key
/// has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Mail each new high-severity notification to the organisation's
    /// active owners through the mail port (SMTP when configured, the outbox
    /// always). Off by default.
    pub email_high_severity: bool,
    /// The ROAS target (revenue ÷ spend) of an organisation that has not set
    /// its own (0.01–100). 1.0: a campaign that brings back less revenue
    /// than it spends raises "poor ROAS".
    pub default_roas_target: f64,
    /// How far over its budget (in %) a campaign's spend may go before
    /// "budget exceeded", for an organisation that has not set its own
    /// (0–100). 0: any spend above the budget.
    pub default_budget_tolerance_pct: u32,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            email_high_severity: false,
            default_roas_target: 1.0,
            default_budget_tolerance_pct: 0,
        }
    }
}

impl NotificationsConfig {
    /// Every problem, naming its key and variable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(self.default_roas_target.is_finite()
            && (0.01..=100.0).contains(&self.default_roas_target))
        {
            out.push(format!(
                "notifications.default_roas_target must be from 0.01 to 100, not {} (KIKI__NOTIFICATIONS__DEFAULT_ROAS_TARGET)",
                self.default_roas_target
            ));
        }
        if self.default_budget_tolerance_pct > 100 {
            out.push(format!(
                "notifications.default_budget_tolerance_pct must be from 0 to 100, not {} (KIKI__NOTIFICATIONS__DEFAULT_BUDGET_TOLERANCE_PCT)",
                self.default_budget_tolerance_pct
            ));
        }
        out
    }
}

impl kiki_server::ModuleSettings for NotificationsConfig {
    fn problems(&self, _production: bool) -> Vec<String> {
        NotificationsConfig::problems(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key_and_variable() {
        assert!(NotificationsConfig::default().problems().is_empty());
        let bad = NotificationsConfig {
            default_roas_target: 0.0,
            default_budget_tolerance_pct: 101,
            ..NotificationsConfig::default()
        };
        let p = bad.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("KIKI__NOTIFICATIONS__DEFAULT_ROAS_TARGET"),
            "{p:?}"
        );
        assert!(
            p[1].contains("notifications.default_budget_tolerance_pct"),
            "{p:?}"
        );
        let r: Result<NotificationsConfig, _> =
            serde_json::from_value(serde_json::json!({"mail": true}));
        assert!(r.is_err(), "unknown keys are refused");
    }
}
