//! What a campaign is: its goal, money, schedule and landing page, and the
//! ad sets that say where it runs and for whom. Money is integer micros with
//! a currency; budgets are per day, with an optional total cap.

use kiki_core::{Currency, Money};
use kiki_creative::Channel;
use serde::{Deserialize, Serialize};
use time::Date;

/// The platforms' campaign families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// Sales of products (Advantage+ shopping, Performance Max for retail).
    Shopping,
    /// Sign-ups, demos, quotes.
    Leads,
    /// App installs.
    AppInstalls,
}

/// Where the creatives come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetSource {
    Generated,
    UserProvided,
    Hybrid,
}

/// When a campaign runs. Dates are calendar days in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[schema(value_type = String, format = Date)]
    pub start: Date,
    /// None: until paused or completed.
    #[schema(value_type = Option<String>, format = Date)]
    pub end: Option<Date>,
    /// An IANA zone name (`Europe/Paris`) or `UTC`.
    pub time_zone: String,
}

/// Who an ad set is shown to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Targeting {
    /// ISO 3166-1 alpha-2 codes; empty means the platform's default.
    pub countries: Vec<String>,
    pub age_min: Option<u8>,
    pub age_max: Option<u8>,
    /// `female`, `male`; empty means everyone.
    pub genders: Vec<String>,
    pub interests: Vec<String>,
    pub keywords: Vec<String>,
    /// Names of the organisation's audiences (LTV segments, uploaded lists).
    pub audiences: Vec<String>,
}

/// How an ad set bids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BidStrategy {
    /// The platform's lowest-cost bidding within the budget.
    LowestCost,
    /// A cap per result (`bid_cap`).
    CostCap,
    /// Bid by predicted customer value (KIKI's bidder; value rules elsewhere).
    ValueBased,
}

/// Where and for whom part of the budget runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdSet {
    pub name: String,
    pub channel: Channel,
    #[serde(default)]
    pub targeting: Targeting,
    /// Share of the campaign's daily budget, in basis points; the ad sets'
    /// shares sum to 10 000.
    pub budget_share_bps: u32,
    pub bid_strategy: BidStrategy,
    /// The cap per result under `cost_cap`, in the campaign's currency.
    #[serde(default)]
    pub bid_cap: Option<Money>,
}

/// A campaign as a person writes it, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignDraft {
    pub name: String,
    /// What it should achieve, in words.
    pub objective: String,
    pub kind: CampaignKind,
    pub landing_url: String,
    pub brand_name: String,
    /// The twin's industry name (`ecommerce`, `saas`, …).
    pub industry: String,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub daily_budget: Money,
    #[serde(default)]
    pub total_budget: Option<Money>,
    pub schedule: Schedule,
    /// Revenue per unit of spend aimed at (3.0 = 3×).
    #[serde(default)]
    pub target_roi: Option<f64>,
    /// The most one result may cost.
    #[serde(default)]
    pub max_cpa: Option<Money>,
    pub asset_source: AssetSource,
    pub ad_sets: Vec<AdSet>,
}
