//! The port every ad platform is reached through: the sandbox market, Meta,
//! Google Ads and any later connector implement [`AdPlatform`] (campaigns, ad
//! sets, ads, creatives, budgets, statuses and daily insights) and
//! [`OAuthProvider`] (the authorisation-code flow with PKCE, refresh and
//! revocation). The types are the platform-neutral shapes the rest of KIKI
//! speaks; a connector maps them onto its platform's objects and maps the
//! platform's documented error codes onto [`PlatformError`].
//!
//! Money is integer micros in the account's currency (both Meta and Google Ads
//! state budgets in the account currency; Google in micros, Meta in minor
//! units, which a connector converts). Dates are the account's calendar days.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use kiki_twin::Platform;

use crate::breakdown::{BreakdownAnswer, BreakdownQuery};

/// The advertiser account a call acts on, with the access it has.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRef {
    /// The platform's account id (Meta: `act_<id>` without the prefix;
    /// Google Ads: the 10-digit customer id without dashes; sandbox: any).
    pub account_id: String,
    /// Google Ads: the manager account the call is made through
    /// (`login-customer-id`), when there is one.
    pub login_customer_id: Option<String>,
    /// The OAuth access token (never printed: see the `Debug` impl).
    pub access_token: String,
}

impl std::fmt::Debug for AccountRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRef")
            .field("account_id", &self.account_id)
            .field("login_customer_id", &self.login_customer_id)
            .field("access_token", &"***")
            .finish()
    }
}

/// What verifying an account found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub account_id: String,
    pub name: String,
    /// ISO 4217 code of the account's currency.
    pub currency: String,
    /// IANA time zone the platform reports days in.
    pub time_zone: String,
}

/// The kinds of object a platform holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Campaign,
    /// Meta: ad set; Google Ads: ad group.
    AdSet,
    Ad,
    Creative,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Campaign => "campaign",
            ObjectKind::AdSet => "ad_set",
            ObjectKind::Ad => "ad",
            ObjectKind::Creative => "creative",
        }
    }
}

/// Delivery status as every platform has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Active,
    Paused,
    /// Meta: `ARCHIVED`; Google Ads: `REMOVED`.
    Archived,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Active => "active",
            DeliveryStatus::Paused => "paused",
            DeliveryStatus::Archived => "archived",
        }
    }
}

/// What the campaign is bought for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Purchases / conversions (Meta `OUTCOME_SALES`; Google Ads
    /// `MAXIMIZE_CONVERSION_VALUE` or target CPA/ROAS bidding).
    Sales,
    /// Sign-ups and lead forms.
    Leads,
    /// Clicks to a site.
    Traffic,
    /// Reach and impressions.
    Awareness,
}

/// How an ad set bids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BidStrategy {
    /// Spend the budget for the most conversion value (Meta: highest value;
    /// Google Ads: maximise conversion value).
    HighestValue,
    /// Keep the average cost per conversion near this, micros (Meta: cost
    /// cap; Google Ads: target CPA).
    CostCap { micros: i64 },
    /// Keep conversion value / spend near this, in basis points (Meta: ROAS
    /// goal; Google Ads: target ROAS).
    TargetRoas { bps: u32 },
}

/// A campaign as KIKI asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSpec {
    pub name: String,
    pub objective: Objective,
    pub status: DeliveryStatus,
    /// A campaign-level daily budget, micros; `None` when the ad sets carry
    /// the budgets (Meta without campaign budget optimisation; Google Ads
    /// always has a campaign budget, so a connector sums the ad sets').
    pub daily_budget_micros: Option<i64>,
    pub start: Option<Date>,
    pub end: Option<Date>,
}

/// Who an ad set shows to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Targeting {
    /// ISO 3166-1 alpha-2 country codes.
    pub countries: Vec<String>,
    pub age_min: Option<u8>,
    pub age_max: Option<u8>,
    /// Free-text interests or keywords (Google Ads: keywords of the ad group).
    pub interests: Vec<String>,
}

/// An ad set (ad group) as KIKI asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdSetSpec {
    pub name: String,
    pub status: DeliveryStatus,
    pub daily_budget_micros: i64,
    pub bid: BidStrategy,
    pub targeting: Targeting,
    /// The audience the targeting reaches, when KIKI knows it (the sandbox
    /// uses it; real platforms estimate their own).
    pub audience_size: Option<u64>,
    pub start: Option<Date>,
    pub end: Option<Date>,
}

/// A creative as KIKI hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreativeSpec {
    /// KIKI's own id of the creative (the sandbox seeds its variant effect
    /// from it).
    pub kiki_id: String,
    pub name: String,
    pub headlines: Vec<String>,
    pub descriptions: Vec<String>,
    pub primary_text: Option<String>,
    pub call_to_action: Option<String>,
    /// Landing page.
    pub link_url: String,
    /// True when KIKI's policy review approved the copy.
    pub approved: bool,
}

/// An ad: a creative placed in an ad set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdSpec {
    pub name: String,
    pub status: DeliveryStatus,
    /// The creative's id on the platform (from [`AdPlatform::upload_creative`]).
    pub creative_external_id: String,
}

/// The level insights are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsightLevel {
    Campaign,
    AdSet,
    Ad,
}

/// Daily insights for an account between two days (inclusive), optionally
/// for some campaigns only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsightsQuery {
    pub level: InsightLevel,
    pub since: Date,
    pub until: Date,
    /// External campaign ids; empty: the whole account.
    pub campaign_ids: Vec<String>,
}

/// One object's numbers on one day, as the platform reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightRow {
    pub day: Date,
    pub campaign_id: String,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    pub spend_micros: i64,
    pub impressions: u64,
    pub clicks: u64,
    /// Purchases (Meta: the `purchase` / `omni_purchase` action; Google Ads:
    /// `metrics.conversions`, which may be fractional under data-driven
    /// attribution and is kept as reported).
    pub conversions: f64,
    pub conversion_value_micros: i64,
    /// People reached; `None` where the platform does not report it daily
    /// (Google Ads).
    pub reach: Option<u64>,
    pub frequency: Option<f64>,
}

/// Why a platform call failed, as every platform's documented errors come
/// down to.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlatformError {
    /// The access token expired or was invalidated; a refresh may fix it
    /// (Meta code 190; Google Ads `UNAUTHENTICATED`).
    #[error("the platform says the access token is no longer valid: {message}")]
    AuthExpired { message: String },
    /// The token was revoked or the user lost access: the connection must be
    /// made again (OAuth `invalid_grant` on refresh).
    #[error("the platform revoked KIKI's access: {message}")]
    Revoked { message: String },
    /// The account does not allow this (Meta codes 10, 200–299; Google Ads
    /// `PERMISSION_DENIED`).
    #[error("the platform refused permission: {message}")]
    Permission { message: String },
    /// Throttled (Meta codes 4, 17, 32, 613, 80000–80014; Google Ads
    /// `RESOURCE_EXHAUSTED`; HTTP 429). Try again after the wait.
    #[error(
        "the platform is rate limiting this account; retry after {retry_after_secs} s: {message}"
    )]
    RateLimited {
        retry_after_secs: u64,
        message: String,
    },
    /// The platform refused the request's content; `field` names what it
    /// pointed at when it did.
    #[error("the platform refused the request{}: {message}", field.as_deref().map(|f| format!(" (field `{f}`)")).unwrap_or_default())]
    InvalidRequest {
        field: Option<String>,
        message: String,
    },
    /// The object does not exist (any more) on the platform.
    #[error("the platform has no such object: {message}")]
    NotFound { message: String },
    /// A failure that may pass: 5xx, timeouts, connection errors, Meta
    /// `is_transient`, Google Ads `INTERNAL` / `UNAVAILABLE`.
    #[error("the platform failed for now: {message}")]
    Transient { message: String },
}

impl PlatformError {
    /// A short machine code for records and the API.
    pub fn code(&self) -> &'static str {
        match self {
            PlatformError::AuthExpired { .. } => "auth_expired",
            PlatformError::Revoked { .. } => "revoked",
            PlatformError::Permission { .. } => "permission",
            PlatformError::RateLimited { .. } => "rate_limited",
            PlatformError::InvalidRequest { .. } => "invalid_request",
            PlatformError::NotFound { .. } => "not_found",
            PlatformError::Transient { .. } => "transient",
        }
    }

    /// Whether the same call may succeed later without anyone acting.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PlatformError::RateLimited { .. } | PlatformError::Transient { .. }
        )
    }
}

/// How much of its quota an account has used, as the connector last saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaState {
    /// Share of the quota used, 0–100 (Meta: the highest of the usage
    /// header's `call_count`, `total_cputime`, `total_time`; Google Ads:
    /// operations today / the developer token's daily operations).
    pub used_pct: f64,
    /// Seconds the platform asked to wait before the next call (Meta
    /// `estimated_time_to_regain_access` in minutes × 60; Google Ads
    /// `retryDelay`), 0 when none.
    pub wait_secs: u64,
}

impl QuotaState {
    /// A sync backs off when a platform is this close to throttling.
    pub const BACK_OFF_AT_PCT: f64 = 90.0;

    /// Whether a caller should wait before the next call.
    pub fn should_back_off(&self) -> bool {
        self.wait_secs > 0 || self.used_pct >= Self::BACK_OFF_AT_PCT
    }
}

/// One ad platform, reached for one account per call.
#[async_trait::async_trait]
pub trait AdPlatform: Send + Sync {
    /// The platform this is.
    fn platform(&self) -> Platform;

    /// Checks the access and reads the account's name, currency and zone.
    async fn verify(&self, account: &AccountRef) -> Result<AccountInfo, PlatformError>;

    /// Creates a campaign; returns its platform id.
    async fn create_campaign(
        &self,
        account: &AccountRef,
        spec: &CampaignSpec,
    ) -> Result<String, PlatformError>;

    /// Brings an existing campaign to `spec` (name, budget, dates, status).
    async fn update_campaign(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        spec: &CampaignSpec,
    ) -> Result<(), PlatformError>;

    /// Creates an ad set (ad group) in a campaign; returns its id.
    async fn create_ad_set(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        spec: &AdSetSpec,
    ) -> Result<String, PlatformError>;

    /// Brings an existing ad set to `spec` (budget, bid, targeting, status).
    async fn update_ad_set(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        spec: &AdSetSpec,
    ) -> Result<(), PlatformError>;

    /// Uploads a creative; returns its id (Google Ads has no separate
    /// creative object: a connector keeps the copy and returns a local key
    /// it later places in the ad).
    async fn upload_creative(
        &self,
        account: &AccountRef,
        spec: &CreativeSpec,
    ) -> Result<String, PlatformError>;

    /// Places a creative in an ad set as an ad; returns the ad's id.
    async fn create_ad(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        spec: &AdSpec,
    ) -> Result<String, PlatformError>;

    /// Pauses, resumes or archives one object.
    async fn set_status(
        &self,
        account: &AccountRef,
        kind: ObjectKind,
        id: &str,
        status: DeliveryStatus,
    ) -> Result<(), PlatformError>;

    /// Daily numbers per object between two days, every page.
    async fn insights(
        &self,
        account: &AccountRef,
        query: &InsightsQuery,
    ) -> Result<Vec<InsightRow>, PlatformError>;

    /// Daily numbers per campaign broken down by a dimension (country or
    /// device) between two days, every page. A platform that cannot report
    /// the dimension answers [`BreakdownAnswer::NotReported`] with the
    /// reason, which is what a connector without breakdowns does.
    async fn fetch_breakdown_insights(
        &self,
        account: &AccountRef,
        query: &BreakdownQuery,
    ) -> Result<BreakdownAnswer, PlatformError> {
        let _ = account;
        Ok(BreakdownAnswer::NotReported {
            reason: format!(
                "KIKI's {} connector does not read a {} breakdown.",
                self.platform().display_name(),
                query.dimension.as_str()
            ),
        })
    }

    /// The account's quota as last seen, if the platform reports one.
    fn quota(&self, account_id: &str) -> Option<QuotaState> {
        let _ = account_id;
        None
    }
}

/// Tokens from an OAuth 2.0 token endpoint (RFC 6749 §5.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    /// Absent when the platform issues none (Meta issues long-lived access
    /// tokens instead of refresh tokens).
    pub refresh_token: Option<String>,
    /// When the access token expires, if the platform said.
    pub expires_at: Option<OffsetDateTime>,
    /// Granted scopes, space-separated, when the platform said.
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A platform's OAuth 2.0 authorisation-code flow (RFC 6749 §4.1) with PKCE
/// (RFC 7636, `S256`).
#[async_trait::async_trait]
pub trait OAuthProvider: Send + Sync {
    /// The URL the user is sent to, carrying `state` and the PKCE challenge.
    fn authorize_url(&self, state: &str, code_challenge: &str, redirect_uri: &str) -> String;

    /// Exchanges the callback's code (with the PKCE verifier) for tokens.
    async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
        now: OffsetDateTime,
    ) -> Result<TokenSet, PlatformError>;

    /// Gets a fresh access token; [`PlatformError::Revoked`] when the grant
    /// is gone (`invalid_grant`).
    async fn refresh(
        &self,
        tokens: &TokenSet,
        now: OffsetDateTime,
    ) -> Result<TokenSet, PlatformError>;

    /// Revokes the grant at the platform (RFC 7009 where supported).
    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError>;
}

/// PKCE (RFC 7636): the `S256` challenge of a verifier,
/// `BASE64URL(SHA256(verifier))` without padding.
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// Whether a PKCE verifier has the shape RFC 7636 §4.1 requires: 43–128
/// characters of `[A-Za-z0-9-._~]`.
pub fn is_pkce_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_the_rfc_example() {
        // RFC 7636, Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_pkce_verifier(verifier));
        assert_eq!(
            pkce_challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!is_pkce_verifier("short"));
        assert!(!is_pkce_verifier(&"a+".repeat(30)));
    }

    #[test]
    fn secrets_are_not_printed() {
        let a = AccountRef {
            account_id: "123".into(),
            login_customer_id: None,
            access_token: "EAAB-secret".into(),
        };
        assert!(!format!("{a:?}").contains("secret"));
        let t = TokenSet {
            access_token: "ya29.secret".into(),
            refresh_token: Some("1//secret".into()),
            expires_at: None,
            scope: None,
        };
        assert!(!format!("{t:?}").contains("secret"));
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = PlatformError::InvalidRequest {
            field: Some("daily_budget".into()),
            message: "too low".into(),
        };
        assert_eq!(
            e.to_string(),
            "the platform refused the request (field `daily_budget`): too low"
        );
        assert!(!e.is_retryable());
        assert!(
            PlatformError::RateLimited {
                retry_after_secs: 60,
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(
            QuotaState {
                used_pct: 95.0,
                wait_secs: 0
            }
            .should_back_off()
        );
    }
}
