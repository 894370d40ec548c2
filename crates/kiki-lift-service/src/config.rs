//! The `[lift]` configuration section: upload size, panel size and the
//! design job's timeout.

use serde::{Deserialize, Serialize};

/// `[lift]` in `kiki.toml` (or `KIKI__LIFT__*`). Every key has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiftConfig {
    /// Largest accepted KPI panel upload, in bytes.
    pub max_upload_bytes: usize,
    /// Largest panel, in market × day cells.
    pub max_panel_cells: usize,
    /// Attempt timeout of a design job, in seconds.
    pub design_timeout_secs: u64,
}

impl Default for LiftConfig {
    fn default() -> Self {
        LiftConfig {
            max_upload_bytes: 20 * 1024 * 1024,
            max_panel_cells: 2_000_000,
            design_timeout_secs: 3600,
        }
    }
}

impl LiftConfig {
    /// Every problem, naming its key and variable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.max_upload_bytes == 0 {
            out.push(
                "lift.max_upload_bytes must be greater than 0 (KIKI__LIFT__MAX_UPLOAD_BYTES)"
                    .into(),
            );
        }
        if self.max_panel_cells < 4 {
            out.push(
                "lift.max_panel_cells must be at least 4 (KIKI__LIFT__MAX_PANEL_CELLS)".into(),
            );
        }
        if self.design_timeout_secs == 0 {
            out.push(
                "lift.design_timeout_secs must be greater than 0 (KIKI__LIFT__DESIGN_TIMEOUT_SECS)"
                    .into(),
            );
        }
        out
    }
}

impl kiki_server::ModuleSettings for LiftConfig {
    fn problems(&self, _production: bool) -> Vec<String> {
        LiftConfig::problems(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(LiftConfig::default().problems().is_empty());
        let bad = LiftConfig {
            design_timeout_secs: 0,
            ..LiftConfig::default()
        };
        assert!(bad.problems()[0].contains("lift.design_timeout_secs"));
        let r: Result<LiftConfig, _> = serde_json::from_value(serde_json::json!({"max": 3}));
        assert!(r.is_err());
    }
}
