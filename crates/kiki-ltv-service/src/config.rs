//! The `[ltv]` configuration section: forecast horizon, discounting,
//! currency, upload size and when a fit may run inside the request.

use kiki_core::Currency;
use serde::{Deserialize, Serialize};

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
        }
    }
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
        Ok(())
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
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<LtvConfig, _> = serde_json::from_value(serde_json::json!({"horizon": 3}));
        assert!(r.is_err());
    }
}
