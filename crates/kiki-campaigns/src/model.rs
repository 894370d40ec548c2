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

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// When a campaign runs. Dates are calendar days in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub start: Date,
    /// None: until paused or completed.
    #[serde(default, with = "iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub end: Option<Date>,
    /// An IANA zone name (`Europe/Paris`) or `UTC`.
    #[schema(
        pattern = r"^(UTC|[A-Z][A-Za-z0-9_+-]*(/[A-Z][A-Za-z0-9_+-]*)+)$",
        example = "Europe/Paris"
    )]
    pub time_zone: String,
}

/// Who an ad set is shown to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AdSetTargeting)]
#[serde(default, deny_unknown_fields)]
pub struct Targeting {
    /// ISO 3166-1 alpha-2 codes; empty means the platform's default.
    #[schema(schema_with = country_codes)]
    pub countries: Vec<String>,
    /// 13 to 65, not above `age_max`.
    #[schema(minimum = 13, maximum = 65)]
    pub age_min: Option<u8>,
    /// 13 to 65.
    #[schema(minimum = 13, maximum = 65)]
    pub age_max: Option<u8>,
    /// `female`, `male`; empty means everyone.
    #[schema(value_type = Vec<GenderName>)]
    pub genders: Vec<String>,
    pub interests: Vec<String>,
    pub keywords: Vec<String>,
    /// Names of the organisation's audiences (LTV segments, uploaded lists).
    pub audiences: Vec<String>,
}

/// How an ad set bids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AdSetBidStrategy)]
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
    /// 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    pub channel: Channel,
    #[serde(default)]
    pub targeting: Targeting,
    /// Share of the campaign's daily budget, in basis points; the ad sets'
    /// shares sum to 10 000.
    #[schema(minimum = 1, maximum = 10000)]
    pub budget_share_bps: u32,
    pub bid_strategy: BidStrategy,
    /// The cap per result under `cost_cap` (required then), in the
    /// campaign's currency.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::money::PositiveMoney>)]
    pub bid_cap: Option<Money>,
}

/// A campaign as a person writes it, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Spring serum launch",
    "objective": "New customers for the Vitamin C serum, ROI 3x",
    "kind": "shopping",
    "landing_url": "https://shop.example/serum",
    "brand_name": "Lumière",
    "industry": "ecommerce",
    "currency": "USD",
    "daily_budget": {"micros": 500000000, "currency": "USD"},
    "total_budget": {"micros": 15000000000u64, "currency": "USD"},
    "schedule": {"start": "2027-03-01", "end": "2027-03-30", "time_zone": "America/New_York"},
    "target_roi": 3.0,
    "asset_source": "generated",
    "ad_sets": [
        {"name": "Meta prospecting", "channel": "meta", "budget_share_bps": 6000, "bid_strategy": "lowest_cost",
         "targeting": {"countries": ["US"], "age_min": 25, "age_max": 44, "genders": ["female"]}},
        {"name": "Search", "channel": "google", "budget_share_bps": 4000, "bid_strategy": "lowest_cost",
         "targeting": {"countries": ["US"], "keywords": ["vitamin c serum"]}}
    ]
}))]
pub struct CampaignDraft {
    /// 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// What it should achieve, in words: 1 to 2,000 characters.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub objective: String,
    pub kind: CampaignKind,
    /// An http or https address with a host (a dot in it, or `localhost`).
    #[schema(
        max_length = 2048,
        pattern = r"^https?://([^\s/?#]*@)?(localhost|[A-Za-z0-9-]*\.[A-Za-z0-9.-]*)(:[^\s/?#@]*)?([/?#]\S*)?$"
    )]
    pub landing_url: String,
    /// 1 to 100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub brand_name: String,
    /// The twin's industry name.
    #[schema(
        pattern = "^(ecommerce|saas|mobile_apps|professional_services|education|health|finance|general)$"
    )]
    pub industry: String,
    pub currency: Currency,
    /// More than zero, in `currency`, within the organisation's daily cap.
    #[schema(value_type = kiki_core::money::PositiveMoney)]
    pub daily_budget: Money,
    /// At least one day of the daily budget, in `currency`.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::money::PositiveMoney>)]
    pub total_budget: Option<Money>,
    /// Starts today or later; ends on or after the start.
    pub schedule: Schedule,
    /// Revenue per unit of spend aimed at (3.0 = 3×): above 0, at most 100.
    #[serde(default)]
    #[schema(exclusive_minimum = 0.0, maximum = 100.0)]
    pub target_roi: Option<f64>,
    /// The most one result may cost, in `currency`.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::money::PositiveMoney>)]
    pub max_cpa: Option<Money>,
    pub asset_source: AssetSource,
    /// 1 to 50 ad sets whose budget shares sum to 10 000.
    #[schema(min_items = 1, max_items = 50)]
    pub ad_sets: Vec<AdSet>,
}

/// The schema of `Targeting::countries`: assigned ISO 3166-1 alpha-2 codes.
fn country_codes() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(crate::programmatic::alpha2_codes()))
                .examples(["US"]),
        )
        .description(Some(
            "ISO 3166-1 alpha-2 codes (assigned ones, in capitals); empty means the platform's default.",
        ))
        .build()
}

/// A gender a platform targets.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the item schema of `Targeting::genders` in the API document
pub enum GenderName {
    Female,
    Male,
}
