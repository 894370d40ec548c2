//! `BidderConfig`: every setting of the bidder with its default. Loaded once by
//! the service (`[bidder]` in kiki.toml, `KIKI__BIDDER__…` in the environment)
//! and passed in; the engine reads no settings from anywhere else.

use std::collections::HashMap;

use kiki_core::{Currency, OrgId};
use serde::{Deserialize, Serialize};

use crate::error::BidderError;
use crate::fx::FxTable;
use crate::lineitem::Priors;
use crate::margin::MarginPolicy;
use crate::notice::NoticeConfig;
use crate::openrtb::MAX_BODY_BYTES;
use crate::pacing::PacingConfig;
use crate::shading::ShadingConfig;
use crate::valuation::BetaPrior;

/// How privacy signals limit what the bidder may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PrivacyPolicy {
    /// When `regs.gdpr = 1` and `user.consent` is missing or empty, use no user-level
    /// data: no segment lookup, no frequency counting by user. Default true.
    pub require_consent_for_user_data: bool,
    /// In that case still bid on context alone (baseline LTV). Default true.
    pub contextual_without_consent: bool,
    /// A US Privacy string that opts out of sale (`1?Y?`) also means no user-level data. Default true.
    pub honour_us_privacy_opt_out: bool,
    /// A frequency-capped line item does not bid when no user id may be used
    /// (it could not keep its cap). Default true.
    pub capped_items_need_user: bool,
}

impl Default for PrivacyPolicy {
    fn default() -> Self {
        PrivacyPolicy {
            require_consent_for_user_data: true,
            contextual_without_consent: true,
            honour_us_privacy_opt_out: true,
            capped_items_need_user: true,
        }
    }
}

/// Everything configurable in the bidder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct BidderConfig {
    /// Our seat id: `seatbid.seat`, and what `wseat`/`bseat` are checked against. Default `kiki`.
    pub seat: String,
    /// Currency of budgets, LTVs, valuation and (when the exchange allows) bids. Default USD.
    pub currency: Currency,
    /// Base of the notice URLs, e.g. `https://bid.example.com`. Default `http://localhost:8080`.
    pub notice_base_url: String,
    /// Largest accepted body; larger ones get 413. Default 262 144 (256 KiB).
    pub max_body_bytes: usize,
    /// `tmax` assumed when a request has none. Default 120 ms (the spec's examples).
    pub default_tmax_ms: i64,
    /// Time kept back from `tmax` for the network both ways. Default 40 ms.
    pub tmax_safety_margin_ms: i64,
    /// Least time that must remain for a decision to be attempted. Default 5 ms.
    pub min_decision_ms: i64,
    /// Answer a no-bid with `{"id":…,"nbr":…}` and 200 instead of an empty 204. Default false.
    pub no_bid_body: bool,
    pub privacy: PrivacyPolicy,
    /// MarginGuardian thresholds for organisations without their own.
    pub margin: MarginPolicy,
    /// MarginGuardian thresholds per organisation.
    pub margin_per_org: HashMap<OrgId, MarginPolicy>,
    /// Priors of line items that set none. Default pCTR Beta(1, 499) (mean 0.2 %),
    /// pCVR Beta(1, 49) (mean 2 %).
    pub priors: Priors,
    pub shading: ShadingConfig,
    pub pacing: PacingConfig,
    pub notices: NoticeConfig,
    /// Share of the daily budget a lease refill asks for. Default 0.02.
    pub lease_fraction: f64,
    /// Rates for floors and bids in other currencies. Default: only USD.
    pub fx: FxTable,
    /// How often ended frequency windows are purged (by `maintain`). Default 300 000 ms.
    pub freq_purge_interval_ms: i64,
}

impl Default for BidderConfig {
    fn default() -> Self {
        BidderConfig {
            seat: "kiki".into(),
            currency: Currency::USD,
            notice_base_url: "http://localhost:8080".into(),
            max_body_bytes: MAX_BODY_BYTES,
            default_tmax_ms: 120,
            tmax_safety_margin_ms: 40,
            min_decision_ms: 5,
            no_bid_body: false,
            privacy: PrivacyPolicy::default(),
            margin: MarginPolicy::default(),
            margin_per_org: HashMap::new(),
            priors: Priors {
                ctr: BetaPrior {
                    alpha: 1.0,
                    beta: 499.0,
                },
                cvr: BetaPrior {
                    alpha: 1.0,
                    beta: 49.0,
                },
            },
            shading: ShadingConfig::default(),
            pacing: PacingConfig::default(),
            notices: NoticeConfig::default(),
            lease_fraction: 0.02,
            fx: FxTable::only(Currency::USD),
            freq_purge_interval_ms: 300_000,
        }
    }
}

impl BidderConfig {
    /// Checks every threshold; the message names the first setting to fix.
    pub fn validate(&self) -> Result<(), BidderError> {
        let bad = |s: &str| Err(BidderError::InvalidConfig(s.to_owned()));
        if self.seat.trim().is_empty() {
            return bad("seat must not be empty");
        }
        if !(self.notice_base_url.starts_with("http://")
            || self.notice_base_url.starts_with("https://"))
        {
            return bad("notice_base_url must start with http:// or https://");
        }
        if self.max_body_bytes == 0 {
            return bad("max_body_bytes must be positive");
        }
        if self.default_tmax_ms <= 0 || self.tmax_safety_margin_ms < 0 || self.min_decision_ms < 0 {
            return bad("default_tmax_ms must be positive and the margins not negative");
        }
        if !(self.priors.ctr.is_valid() && self.priors.cvr.is_valid()) {
            return bad("priors need positive finite alpha and beta");
        }
        if !(self.lease_fraction.is_finite()
            && self.lease_fraction > 0.0
            && self.lease_fraction <= 1.0)
        {
            return bad("lease_fraction must be in (0, 1]");
        }
        let n = &self.notices;
        if n.hold_timeout_ms <= 0
            || n.billing_timeout_ms < n.hold_timeout_ms
            || n.retention_ms < n.hold_timeout_ms
        {
            return bad(
                "notices need 0 < hold_timeout_ms <= billing_timeout_ms and retention_ms >= hold_timeout_ms",
            );
        }
        if self.freq_purge_interval_ms <= 0 {
            return bad("freq_purge_interval_ms must be positive");
        }
        if !self.fx.knows(self.currency) {
            return bad("the fx table must know the bidder currency");
        }
        self.margin.validate()?;
        for p in self.margin_per_org.values() {
            p.validate()?;
        }
        self.shading.validate()?;
        self.pacing.validate()?;
        Ok(())
    }

    /// The MarginGuardian thresholds that apply to an organisation.
    pub fn margin_for(&self, org: OrgId) -> MarginPolicy {
        self.margin_per_org
            .get(&org)
            .copied()
            .unwrap_or(self.margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_an_empty_document_gives_them() {
        let c: BidderConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, BidderConfig::default());
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.margin.safety_margin, 0.70);
        assert_eq!(c.max_body_bytes, 256 * 1024);
    }

    #[test]
    fn a_partial_document_overrides_only_what_it_names() {
        let org = OrgId::new();
        let json = format!(
            r#"{{"seat":"s1","margin":{{"safety_margin":0.6}},"margin_per_org":{{"{org}":{{"min_ltv_micros":1}}}}}}"#
        );
        let c: BidderConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(c.seat, "s1");
        assert_eq!(c.margin.safety_margin, 0.6);
        assert_eq!(c.margin.cut_factor, 0.95);
        assert_eq!(c.margin_for(org).min_ltv_micros, 1);
        assert_eq!(c.margin_for(OrgId::new()).safety_margin, 0.6);
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        type Breaker = fn(&mut BidderConfig);
        let cases: &[(&str, Breaker)] = &[
            ("seat", |c| c.seat.clear()),
            ("notice_base_url", |c| c.notice_base_url = "ftp://x".into()),
            ("lease_fraction", |c| c.lease_fraction = 0.0),
            ("hold_timeout_ms", |c| c.notices.hold_timeout_ms = 0),
            ("margin.safety_margin", |c| c.margin.safety_margin = 2.0),
            ("shading", |c| c.shading.min_factor = 0.0),
            ("pacing", |c| c.pacing.max_step = 1.0),
            ("fx table", |c| c.currency = Currency::EUR),
        ];
        for (name, breaker) in cases {
            let mut c = BidderConfig::default();
            breaker(&mut c);
            let msg = c.validate().unwrap_err().to_string();
            assert!(msg.contains(name), "{name}: {msg}");
        }
    }
}
