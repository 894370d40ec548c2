//! The ad-platforms service's request and response types and their pure
//! rules: connections, the OAuth completion, daily metrics, their country
//! and device breakdowns, and sync runs.

use kiki_core::{Currency, FieldError, Money};
use kiki_twin::{Industry, Platform};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

kiki_core::string_enum! {
    /// How a platform is reached: the built-in sandbox market, or the
    /// platform's real API through an OAuth connection.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ConnectionMode {
        Sandbox = "sandbox",
        Live = "live",
    }
}

kiki_core::string_enum! {
    /// A connection's health: `connected` (calls work), `broken` (the
    /// platform revoked access or the token cannot be refreshed: connect
    /// again), `disconnected` (removed by the organisation).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ConnectionStatus {
        Connected = "connected",
        Broken = "broken",
        Disconnected = "disconnected",
    }
}

/// The platforms KIKI can connect to. KIKI programmatic runs on its own
/// bidder, so it is not connected here.
pub fn connectable(p: Platform) -> bool {
    !matches!(p, Platform::Kiki | Platform::Sandbox)
}

/// Platforms with a real connector in this build.
pub fn has_live_connector(p: Platform) -> bool {
    matches!(p, Platform::Meta | Platform::Google)
}

/// `POST /v1/platforms/connections`: connect a platform.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"platform": "meta", "mode": "sandbox", "industry": "ecommerce", "currency": "USD"}))]
pub struct ConnectRequest {
    pub platform: Platform,
    pub mode: ConnectionMode,
    /// Live: the platform's advertiser account (Meta: the ad account id
    /// without `act_`; Google Ads: the customer id, digits only).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = "^[0-9A-Za-z_-]+$")]
    pub account_id: Option<String>,
    /// Live, Google Ads: the manager account the calls go through.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 20, pattern = "^[0-9]+$")]
    pub login_customer_id: Option<String>,
    /// Live: where the platform sends the user back with `code` and `state`
    /// (default: the dashboard's page for it under `platforms.public_url`);
    /// that page completes the connection with
    /// `POST /v1/platforms/oauth/complete`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 500, pattern = "^https?://")]
    pub redirect_uri: Option<String>,
    /// Sandbox: the industry whose market the sandbox simulates (default
    /// `general`).
    #[serde(default)]
    pub industry: Option<Industry>,
    /// Sandbox: the account's currency (default USD).
    #[serde(default)]
    pub currency: Option<Currency>,
}

impl ConnectRequest {
    /// Checks the fields against the mode; every problem is named.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if !connectable(self.platform) {
            e.push(FieldError::new(
                "platform",
                format!(
                    "{} is not an ad platform to connect: KIKI programmatic runs on KIKI's own bidder.",
                    self.platform.display_name()
                ),
            ));
        }
        let id_ok = |s: &str, max: usize, digits: bool| {
            !s.is_empty()
                && s.len() <= max
                && s.bytes().all(|b| {
                    if digits {
                        b.is_ascii_digit()
                    } else {
                        b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
                    }
                })
        };
        if let Some(a) = &self.account_id
            && !id_ok(a, 64, false)
        {
            e.push(FieldError::new(
                "account_id",
                "1 to 64 letters, digits, `_` or `-`.",
            ));
        }
        if let Some(l) = &self.login_customer_id
            && !id_ok(l, 20, true)
        {
            e.push(FieldError::new("login_customer_id", "1 to 20 digits."));
        }
        if let Some(r) = &self.redirect_uri
            && !((r.starts_with("http://") || r.starts_with("https://"))
                && r.len() <= 500
                && !r.chars().any(char::is_whitespace))
        {
            e.push(FieldError::new(
                "redirect_uri",
                "An http(s) address without spaces, at most 500 characters.",
            ));
        }
        match self.mode {
            ConnectionMode::Live => {
                if self.account_id.is_none() {
                    e.push(FieldError::new(
                        "account_id",
                        "A live connection names the platform's advertiser account.",
                    ));
                }
                for (set, name) in [
                    (self.industry.is_some(), "industry"),
                    (self.currency.is_some(), "currency"),
                ] {
                    if set {
                        e.push(FieldError::new(
                            name,
                            "Only a sandbox connection takes this; a live account has its own.",
                        ));
                    }
                }
            }
            ConnectionMode::Sandbox => {
                for (set, name) in [
                    (self.account_id.is_some(), "account_id"),
                    (self.login_customer_id.is_some(), "login_customer_id"),
                    (self.redirect_uri.is_some(), "redirect_uri"),
                ] {
                    if set {
                        e.push(FieldError::new(
                            name,
                            "Only a live connection takes this; the sandbox has no account to name.",
                        ));
                    }
                }
            }
        }
        e
    }
}

/// A platform connection as the API shows it (never its tokens).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionView {
    pub id: Uuid,
    pub platform: Platform,
    pub mode: ConnectionMode,
    pub status: ConnectionStatus,
    pub account_id: String,
    pub account_name: String,
    /// ISO 4217: the account's currency, which its budgets and metrics use.
    pub currency: String,
    pub time_zone: String,
    /// When the access token expires, if the platform said.
    #[serde(with = "time::serde::rfc3339::option")]
    pub token_expires_at: Option<OffsetDateTime>,
    /// The last failure of a call with this connection, in the platform's
    /// words.
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_checked_at: Option<OffsetDateTime>,
    /// The last day the performance sync covered (`YYYY-MM-DD`; on the
    /// sandbox, a day of the market's calendar).
    pub last_synced_day: Option<String>,
    /// Sandbox: today in the sandbox market (`YYYY-MM-DD`), which runs ahead
    /// of the calendar in accelerated time (`platforms.sandbox_seconds_per_day`);
    /// `null` for a live account.
    #[schema(example = "2026-12-04")]
    pub market_date: Option<String>,
    /// Sandbox: the market's time now (the calendar's, or accelerated).
    #[serde(with = "time::serde::rfc3339::option")]
    pub market_time: Option<OffsetDateTime>,
    /// Sandbox in accelerated time: real seconds per simulated day; `null`
    /// on the calendar and for a live account.
    pub market_seconds_per_day: Option<u32>,
    /// What to do when the connection is not working.
    pub action: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What connecting started: a sandbox connection is made at once; a live
/// one returns the address to send the user to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectStarted {
    /// The connection (sandbox), or `null` until the OAuth flow completes.
    pub connection: Option<ConnectionView>,
    /// Live: the platform's consent page, carrying `state` and the PKCE
    /// challenge.
    pub authorize_url: Option<String>,
    /// Live: when the `state` stops being accepted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// `POST /v1/platforms/oauth/complete`: what the platform sent back.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"state": "Vx2n0q7c3XWmX9y6k1rWcQm4oZp8dL0tHq2sG5aJfE", "code": "AQD8k2..."}))]
pub struct CompleteRequest {
    #[schema(min_length = 16, max_length = 200)]
    pub state: String,
    #[schema(min_length = 1, max_length = 4096)]
    pub code: String,
}

kiki_core::string_enum! {
    /// The level of a metrics row.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum MetricLevel {
        Campaign = "campaign",
        AdSet = "ad_set",
        Ad = "ad",
    }
}

/// One object's numbers on one day, as its platform reported them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DailyMetric {
    pub platform: Platform,
    pub level: MetricLevel,
    /// `YYYY-MM-DD`, the platform account's day.
    pub day: String,
    /// The platform's id of the object.
    pub external_id: String,
    /// KIKI's campaign, ad set and ad (`<ad set>:<creative>`) when KIKI
    /// launched the object.
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    pub spend: Money,
    pub impressions: i64,
    pub clicks: i64,
    /// As reported (fractional under data-driven attribution).
    pub conversions: f64,
    /// The platform's attributed purchase value.
    pub conversion_value: Money,
    pub reach: Option<i64>,
    pub frequency: Option<f64>,
}

/// One campaign's numbers on one day for one country or device, as its
/// platform reported them (the breakdown sync).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyBreakdown {
    pub platform: Platform,
    pub dimension: kiki_platforms::BreakdownDimension,
    /// `YYYY-MM-DD`, the platform account's day.
    pub day: String,
    /// The platform's id of the campaign.
    pub external_id: String,
    /// KIKI's campaign when KIKI launched it.
    pub campaign_id: Option<String>,
    /// An ISO 3166-1 alpha-2 code, or `mobile`, `desktop`, `tablet`,
    /// `connected_tv`, `other`.
    pub value: String,
    pub spend: Money,
    pub impressions: i64,
    pub clicks: i64,
    /// As reported (fractional under data-driven attribution).
    pub conversions: f64,
    pub conversion_value: Money,
}

/// Whether a platform reported a dimension on a synced day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakdownCoverage {
    pub platform: Platform,
    /// `YYYY-MM-DD`.
    pub day: String,
    pub reported: bool,
    /// Why not, in the platform's or the connector's words.
    pub reason: Option<String>,
}

/// [`crate::PlatformsService::breakdown_metrics`]: the rows of a dimension
/// between two days and, per platform and synced day, whether it was
/// reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownMetrics {
    pub rows: Vec<DailyBreakdown>,
    pub coverage: Vec<BreakdownCoverage>,
}

kiki_core::string_enum! {
    /// How a sync run ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum SyncStatus {
        Succeeded = "succeeded",
        Failed = "failed",
        /// The platform's quota was near its limit; nothing was asked.
        BackedOff = "backed_off",
    }
}

/// One performance sync of one platform.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncRunView {
    pub id: Uuid,
    pub platform: Platform,
    /// `schedule`, `manual`, `launch`, or `accelerated` (the sandbox sweep
    /// in accelerated time).
    pub trigger: String,
    /// The first and last day read (`YYYY-MM-DD`; on the sandbox, days of
    /// the market's calendar, ahead of the real one in accelerated time).
    pub since: String,
    pub until: String,
    pub status: SyncStatus,
    pub rows_upserted: i64,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: serde_json::Value) -> ConnectRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_request_is_checked_against_its_mode() {
        assert!(
            req(serde_json::json!({"platform": "meta", "mode": "sandbox"}))
                .problems()
                .is_empty()
        );
        let p = req(serde_json::json!({"platform": "google", "mode": "live"})).problems();
        assert_eq!(p[0].field, "account_id");
        let p = req(serde_json::json!({"platform": "kiki", "mode": "sandbox", "account_id": "x"}))
            .problems();
        let fields: Vec<&str> = p.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["platform", "account_id"]);
        let p = req(serde_json::json!({
            "platform": "google", "mode": "live", "account_id": "1234567890",
            "login_customer_id": "12a", "currency": "EUR"
        }))
        .problems();
        let fields: Vec<&str> = p.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["login_customer_id", "currency"]);
    }
}
