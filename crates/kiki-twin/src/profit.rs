//! How profit is counted: the contribution margin that turns incremental
//! revenue into incremental gross profit, and where that margin came from.
//!
//! Net profit uplift = incremental gross profit − incremental ad spend, with
//! incremental gross profit = incremental revenue × contribution margin. The
//! margin is the organisation's configured one; with none configured the
//! engine assumes 100 % (revenue = profit) and says so; a contract may keep
//! the revenue basis on purpose. Product costs from a commerce integration
//! will arrive as another [`MarginSource`].

use serde::{Deserialize, Serialize};

/// Where the contribution margin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum MarginSource {
    /// The organisation's configured contribution margin.
    Configured,
    /// No margin configured: 100 % is assumed (revenue = profit).
    #[default]
    NotConfigured,
    /// The contract keeps the revenue-based definition (margin 100 %).
    RevenueContract,
}

/// The contribution margin profit is counted at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Margin {
    /// Share of incremental revenue that is gross profit, 0 to 1.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub contribution_margin: f64,
    pub source: MarginSource,
}

impl Default for Margin {
    fn default() -> Self {
        Margin::not_configured()
    }
}

impl Margin {
    /// A configured margin in basis points (3000 = 30 %), clamped to 0..=10000.
    pub fn configured_bps(bps: u32) -> Margin {
        Margin {
            contribution_margin: f64::from(bps.min(10_000)) / 10_000.0,
            source: MarginSource::Configured,
        }
    }

    /// No margin configured: revenue is counted as profit, and the figures
    /// say so.
    pub fn not_configured() -> Margin {
        Margin {
            contribution_margin: 1.0,
            source: MarginSource::NotConfigured,
        }
    }

    /// The revenue basis a contract keeps: margin 100 %.
    pub fn revenue_contract() -> Margin {
        Margin {
            contribution_margin: 1.0,
            source: MarginSource::RevenueContract,
        }
    }

    /// Whether revenue is counted as profit.
    pub fn is_revenue_basis(&self) -> bool {
        self.contribution_margin >= 1.0
    }

    /// The margin and its source in words, e.g. "configured 30 %" or
    /// "not configured: assuming 100 %, revenue = profit".
    pub fn describe(&self) -> String {
        match self.source {
            MarginSource::Configured => format!("configured {}", percent(self.contribution_margin)),
            MarginSource::NotConfigured => {
                "not configured: assuming 100 %, revenue = profit".into()
            }
            MarginSource::RevenueContract => {
                "revenue basis by contract: 100 %, revenue = profit".into()
            }
        }
    }

    /// Field errors: the margin must be a number from 0 to 1.
    pub fn validate(&self, path: &str) -> Vec<kiki_core::FieldError> {
        let m = self.contribution_margin;
        if m.is_finite() && (0.0..=1.0).contains(&m) {
            Vec::new()
        } else {
            vec![kiki_core::FieldError::new(
                format!("{path}.contribution_margin"),
                "The contribution margin must be between 0 and 1 (0 % to 100 %).",
            )]
        }
    }
}

/// `0.3` → "30 %", `0.125` → "12.5 %".
pub(crate) fn percent(x: f64) -> String {
    let p = x * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_margin_says_where_it_came_from() {
        assert_eq!(Margin::configured_bps(3000).describe(), "configured 30 %");
        assert_eq!(Margin::configured_bps(1250).describe(), "configured 12.5 %");
        assert_eq!(
            Margin::not_configured().describe(),
            "not configured: assuming 100 %, revenue = profit"
        );
        assert!(Margin::revenue_contract().is_revenue_basis());
        assert!(!Margin::configured_bps(9999).is_revenue_basis());
        assert_eq!(Margin::configured_bps(20_000).contribution_margin, 1.0);
    }

    #[test]
    fn a_margin_outside_zero_to_one_is_a_field_error() {
        let bad = Margin {
            contribution_margin: 1.5,
            source: MarginSource::Configured,
        };
        assert_eq!(
            bad.validate("margin")[0].field,
            "margin.contribution_margin"
        );
        assert!(Margin::configured_bps(0).validate("margin").is_empty());
    }
}
