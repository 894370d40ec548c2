//! The `[ltv]` configuration section: forecast horizon, discounting,
//! currency, upload size, the plausible span of transaction dates and when a
//! fit may run inside the request.

use kiki_core::Currency;
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

/// `[ltv]` in `kiki.toml` (or `KIKI__LTV__*`). Every key has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LtvConfig {
    /// Forecast horizon of stored predictions, in days (CLV and expected
    /// purchases are over this span).
    pub horizon_days: u32,
    /// Annual discount rate applied to future orders in CLV (0.10 = 10 %).
    pub discount_rate: f64,
    /// Currency of uploaded amounts when an upload names none.
    pub currency: String,
    /// Largest accepted `POST /v1/ltv/transactions` body, in bytes.
    pub max_upload_bytes: usize,
    /// `POST /v1/ltv/fits?wait=true` fits inside the request when the
    /// organisation has at most this many customers; larger fits always run
    /// as a background job.
    pub sync_max_customers: u64,
    /// Attempt timeout of a fit job, in seconds.
    pub fit_timeout_secs: u64,
    /// The oldest transaction date an upload accepts (`YYYY-MM-DD`, UTC).
    /// Older timestamps are refused as typing or unit mistakes; stored rows
    /// outside the span are left out of fits and customer figures.
    pub earliest_transaction_date: String,
    /// How many days after now a transaction may be dated (time zones and
    /// clock skew); later timestamps are refused.
    pub max_future_days: u32,
}

impl Default for LtvConfig {
    fn default() -> Self {
        LtvConfig {
            horizon_days: 365,
            discount_rate: 0.10,
            currency: "USD".to_owned(),
            max_upload_bytes: 50 * 1024 * 1024,
            sync_max_customers: 50_000,
            fit_timeout_secs: 3600,
            earliest_transaction_date: "1990-01-01".to_owned(),
            max_future_days: 1,
        }
    }
}

/// The span of plausible transaction times: from `earliest` to `latest`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateWindow {
    pub earliest: OffsetDateTime,
    pub latest: OffsetDateTime,
}

impl DateWindow {
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.earliest <= at && at <= self.latest
    }
}

/// Earliest allowed value of `ltv.earliest_transaction_date`.
const OLDEST_ALLOWED: Date = time::macros::date!(1900 - 01 - 01);

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).ok()
}

impl LtvConfig {
    /// Start-up check: refuses values that would only fail later.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=3650).contains(&self.horizon_days) {
            anyhow::bail!("ltv.horizon_days must be between 1 and 3650 (KIKI__LTV__HORIZON_DAYS)");
        }
        if !(self.discount_rate.is_finite() && (0.0..1.0).contains(&self.discount_rate)) {
            anyhow::bail!(
                "ltv.discount_rate must be at least 0 and below 1, e.g. 0.10 (KIKI__LTV__DISCOUNT_RATE)"
            );
        }
        if Currency::parse(&self.currency).is_err() {
            anyhow::bail!(
                "ltv.currency must be a three-letter ISO code such as USD (KIKI__LTV__CURRENCY)"
            );
        }
        if self.max_upload_bytes == 0 {
            anyhow::bail!(
                "ltv.max_upload_bytes must be greater than 0 (KIKI__LTV__MAX_UPLOAD_BYTES)"
            );
        }
        if self.fit_timeout_secs == 0 {
            anyhow::bail!(
                "ltv.fit_timeout_secs must be greater than 0 (KIKI__LTV__FIT_TIMEOUT_SECS)"
            );
        }
        match parse_date(&self.earliest_transaction_date) {
            Some(d) if d >= OLDEST_ALLOWED => {}
            _ => anyhow::bail!(
                "ltv.earliest_transaction_date must be a date no earlier than 1900-01-01, written YYYY-MM-DD, e.g. 1990-01-01 (KIKI__LTV__EARLIEST_TRANSACTION_DATE)"
            ),
        }
        if self.max_future_days > 3650 {
            anyhow::bail!(
                "ltv.max_future_days must be between 0 and 3650 (KIKI__LTV__MAX_FUTURE_DAYS)"
            );
        }
        Ok(())
    }

    /// The plausible transaction times at `now`. An unvalidated bad
    /// `earliest_transaction_date` falls back to the default, 1990-01-01.
    pub fn date_window(&self, now: OffsetDateTime) -> DateWindow {
        let earliest = parse_date(&self.earliest_transaction_date)
            .filter(|d| *d >= OLDEST_ALLOWED)
            .unwrap_or(time::macros::date!(1990 - 01 - 01));
        DateWindow {
            earliest: earliest.midnight().assume_utc(),
            latest: now.saturating_add(Duration::days(i64::from(self.max_future_days.min(3650)))),
        }
    }
}

impl kiki_server::ModuleSettings for LtvConfig {
    fn problems(&self, _production: bool) -> Vec<String> {
        match self.validate() {
            Ok(()) => Vec::new(),
            Err(e) => vec![e.to_string()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(LtvConfig::default().validate().is_ok());
        let bad = LtvConfig {
            discount_rate: 1.5,
            ..LtvConfig::default()
        };
        let msg = bad
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("ltv.discount_rate"), "{msg}");
        let bad = LtvConfig {
            currency: "dollars".into(),
            ..LtvConfig::default()
        };
        assert!(bad.validate().is_err());
        for date in ["1899-12-31", "01/01/1990", ""] {
            let bad = LtvConfig {
                earliest_transaction_date: date.into(),
                ..LtvConfig::default()
            };
            let msg = bad
                .validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                msg.contains("ltv.earliest_transaction_date"),
                "{date}: {msg}"
            );
        }
        let bad = LtvConfig {
            max_future_days: 5000,
            ..LtvConfig::default()
        };
        let msg = bad
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("ltv.max_future_days"), "{msg}");
    }

    #[test]
    fn the_date_window_runs_from_the_earliest_date_to_the_allowed_future() {
        let now = time::macros::datetime!(2026-12-06 09:00 UTC);
        let w = LtvConfig::default().date_window(now);
        assert_eq!(w.earliest, time::macros::datetime!(1990-01-01 00:00 UTC));
        assert_eq!(w.latest, time::macros::datetime!(2026-12-07 09:00 UTC));
        assert!(w.contains(w.earliest) && w.contains(w.latest));
        assert!(!w.contains(time::macros::datetime!(1989-12-31 23:59 UTC)));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<LtvConfig, _> = serde_json::from_value(serde_json::json!({"horizon": 3}));
        assert!(r.is_err());
    }
}
