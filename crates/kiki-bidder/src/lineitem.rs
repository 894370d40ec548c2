//! Line items as the API and the store see them: targeting, schedule, budgets,
//! strategy, creatives and margin settings. Plain data with validation; the
//! bid path never reads these directly but a compiled form (see `snapshot`).

use kiki_core::{FieldError, Money, OrgId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::valuation::BetaPrior;

kiki_core::typed_id!(
    /// A line item: the unit the bidder targets, values, paces and caps.
    LineItemId
);
kiki_core::typed_id!(
    /// The campaign a line item belongs to (`cid` in bid responses).
    CampaignId
);

fn yes() -> bool {
    true
}

/// Everything the bidder needs to know about one line item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineItem {
    pub id: LineItemId,
    pub org_id: OrgId,
    pub campaign_id: CampaignId,
    #[serde(default)]
    pub name: String,
    /// Paused line items are not compiled into the snapshot.
    #[serde(default = "yes")]
    pub active: bool,
    pub flight: Flight,
    pub budget: Budget,
    #[serde(default)]
    pub pacing: PacingMode,
    #[serde(default)]
    pub bid_strategy: BidStrategy,
    /// Upper bound on the CPM whatever the strategy says.
    #[serde(default)]
    pub max_cpm: Option<Money>,
    #[serde(default)]
    pub targeting: Targeting,
    pub creatives: Vec<Creative>,
    /// LTV used when the user's segment is unknown or user data may not be used.
    pub ltv_baseline: Money,
    #[serde(default)]
    pub margin: MarginSettings,
    #[serde(default)]
    pub frequency_cap: Option<FrequencyCap>,
    /// Beta priors for pCTR and pCVR; the bidder's configured priors when absent.
    #[serde(default)]
    pub priors: Option<Priors>,
    #[serde(default)]
    pub deals: DealTargeting,
}

/// When the line item may run (UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Flight {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
}

/// Daily and lifetime budgets. A day is a UTC calendar day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Budget {
    /// Positive, in a currency the FX table knows.
    #[schema(value_type = kiki_core::PositiveMoney)]
    pub daily: Money,
    /// Lifetime budget; positive when set.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::PositiveMoney>)]
    pub total: Option<Money>,
}

/// How the daily budget is spread over the day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PacingMode {
    /// The same share every hour.
    #[default]
    Even,
    /// A share per UTC hour proportional to 24 non-negative weights
    /// (typically the expected traffic curve).
    HourlyCurve {
        /// Exactly 24 non-negative weights with a positive sum.
        #[schema(schema_with = hourly_weights)]
        weights: Vec<f64>,
    },
    /// As fast as traffic allows, still within the daily budget.
    Asap,
}

/// 24 non-negative weights, at least one of them positive.
fn hourly_weights() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let mut a = ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(0.0)),
        )
        .min_items(Some(24))
        .max_items(Some(24))
        .description(Some("Exactly 24 non-negative weights with a positive sum."))
        .build();
    // JSON Schema's `contains`: at least one weight above zero.
    a.extensions.get_or_insert_with(Default::default).insert(
        "contains".into(),
        serde_json::json!({"exclusiveMinimum": 0}),
    );
    a
}

/// How the CPM is derived before MarginGuardian and shading.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BidStrategy {
    /// CPM = pCTR × pCVR × LTV × 1000 × `margin.bid_share`.
    #[default]
    ValueBased,
    /// CPM = target CPA × pCTR × pCVR × 1000.
    TargetCpa {
        #[schema(value_type = kiki_core::PositiveMoney)]
        cpa: Money,
    },
    /// A fixed CPM.
    FixedCpm {
        #[schema(value_type = kiki_core::PositiveMoney)]
        cpm: Money,
    },
}

/// The line item's own margin setting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MarginSettings {
    /// Share of the expected value offered as the bid, (0, 1]. The rest is the
    /// advertiser's margin. Default 0.5.
    #[schema(exclusive_minimum = 0.0, maximum = 1.0, example = 0.5)]
    pub bid_share: f64,
}

impl Default for MarginSettings {
    fn default() -> Self {
        MarginSettings { bid_share: 0.5 }
    }
}

/// Who and where: empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Targeting {
    /// ISO-3166-1 alpha-3 codes, as OpenRTB sends them (three letters, e.g. `USA`).
    #[schema(schema_with = country_codes)]
    pub countries: Vec<String>,
    /// AdCOM device types, each 1 to 8 (1 mobile/tablet, 2 PC, 3 CTV, 4 phone, 5 tablet, 6 connected, 7 STB, 8 OOH).
    #[schema(schema_with = device_types)]
    pub device_types: Vec<u8>,
    /// Operating systems, case-insensitive (`iOS`, `Android`, `Windows`…).
    pub os: Vec<String>,
    /// IAB content categories of the site or app. Allowing a parent (`IAB1`) allows its children.
    pub categories: ListRule,
    /// Site domains or app bundles (a leading `www.` is ignored).
    pub domains: ListRule,
    pub inventory: InventoryKind,
    /// Allowed hours of the week; empty means all hours.
    pub dayparts: Vec<Daypart>,
    /// Offset from UTC in minutes in which the dayparts are written (within ±14 h).
    #[schema(minimum = -840, maximum = 840)]
    pub daypart_utc_offset_minutes: i16,
}

fn country_codes() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z]{3}$")),
        )
        .description(Some(
            "ISO-3166-1 alpha-3 codes, as OpenRTB sends them (three letters, e.g. `USA`).",
        ))
        .build()
}

fn device_types() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(8)),
        )
        .description(Some("AdCOM device types, each 1 to 8 (1 mobile/tablet, 2 PC, 3 CTV, 4 phone, 5 tablet, 6 connected, 7 STB, 8 OOH)."))
        .build()
}

/// An allow list and a block list; an empty allow list allows everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ListRule {
    pub allow: Vec<String>,
    pub block: Vec<String>,
}

/// Which kind of inventory a line item buys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InventoryKind {
    #[default]
    Any,
    SiteOnly,
    AppOnly,
}

/// A block of hours `[start_hour, end_hour)` on the given days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Daypart {
    #[schema(min_items = 1)]
    pub days: Vec<Weekday>,
    /// Below `end_hour`.
    #[schema(minimum = 0, maximum = 23)]
    pub start_hour: u8,
    #[schema(minimum = 1, maximum = 24)]
    pub end_hour: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// Monday = 0.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Private marketplace deals the line item may bid on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DealTargeting {
    pub ids: Vec<String>,
    /// Bid only through one of the deals, never in the open auction.
    pub only: bool,
}

/// N impressions per user per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FrequencyCap {
    #[schema(minimum = 1)]
    pub max_impressions: u32,
    #[schema(minimum = 1)]
    pub window_secs: u32,
}

/// Beta priors for the click and conversion rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Priors {
    pub ctr: BetaPrior,
    pub cvr: BetaPrior,
}

/// One ad.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Creative {
    /// `crid` in the bid; not only spaces.
    #[schema(min_length = 1, pattern = r"\S")]
    pub id: String,
    pub format: CreativeFormat,
    /// The markup returned in `adm` (HTML, VAST XML or native JSON). May use
    /// OpenRTB macros, and `${KIKI_IMP_URL}` / `${KIKI_CLICK_URL}` for the
    /// signed trackers.
    #[schema(min_length = 1)]
    pub markup: String,
    /// Advertiser domains, checked against `badv`.
    #[serde(default)]
    pub adomain: Vec<String>,
    /// IAB categories of the ad, checked against `bcat`.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Creative attributes (AdCOM list), checked against `battr`.
    #[serde(default)]
    pub attributes: Vec<u16>,
    /// App bundle advertised, checked against `bapp`.
    #[serde(default)]
    pub bundle: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CreativeFormat {
    Banner {
        #[schema(minimum = 1)]
        w: u32,
        #[schema(minimum = 1)]
        h: u32,
    },
    Video {
        #[schema(min_items = 1)]
        mimes: Vec<String>,
        #[schema(minimum = 1)]
        duration_secs: u32,
    },
    Audio {
        #[schema(min_items = 1)]
        mimes: Vec<String>,
        #[schema(minimum = 1)]
        duration_secs: u32,
    },
    Native,
}

impl LineItem {
    /// Checks every field; the list names each problem.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut err = |f: &str, m: &str| errs.push(FieldError::new(f, m));
        if self.budget.daily.micros <= 0 {
            err("budget.daily", "The daily budget must be positive.");
        }
        if let Some(total) = self.budget.total
            && total.micros <= 0
        {
            err(
                "budget.total",
                "The total budget must be positive when set.",
            );
        }
        if let Some(end) = self.flight.end
            && end <= self.flight.start
        {
            err("flight.end", "The flight must end after it starts.");
        }
        if self.ltv_baseline.micros < 0 {
            err("ltv_baseline", "The LTV baseline must not be negative.");
        }
        let share = self.margin.bid_share;
        if !(share.is_finite() && share > 0.0 && share <= 1.0) {
            err("margin.bid_share", "The bid share must be in (0, 1].");
        }
        match &self.bid_strategy {
            BidStrategy::TargetCpa { cpa } if cpa.micros <= 0 => {
                err("bid_strategy.cpa", "The target CPA must be positive.")
            }
            BidStrategy::FixedCpm { cpm } if cpm.micros <= 0 => {
                err("bid_strategy.cpm", "The fixed CPM must be positive.")
            }
            _ => {}
        }
        if let Some(m) = self.max_cpm
            && m.micros <= 0
        {
            err("max_cpm", "The maximum CPM must be positive when set.");
        }
        if let PacingMode::HourlyCurve { weights } = &self.pacing {
            let ok = weights.len() == 24
                && weights.iter().all(|w| w.is_finite() && *w >= 0.0)
                && weights.iter().sum::<f64>() > 0.0;
            if !ok {
                err(
                    "pacing.weights",
                    "An hourly curve needs 24 non-negative weights with a positive sum.",
                );
            }
        }
        for (i, c) in self.targeting.countries.iter().enumerate() {
            if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                err(
                    &format!("targeting.countries[{i}]"),
                    "A country must be an ISO-3166-1 alpha-3 code such as USA.",
                );
            }
        }
        for (i, d) in self.targeting.device_types.iter().enumerate() {
            if !(1..=8).contains(d) {
                err(
                    &format!("targeting.device_types[{i}]"),
                    "A device type must be an AdCOM code from 1 to 8.",
                );
            }
        }
        for (i, p) in self.targeting.dayparts.iter().enumerate() {
            if p.days.is_empty() || p.start_hour >= p.end_hour || p.end_hour > 24 {
                err(
                    &format!("targeting.dayparts[{i}]"),
                    "A daypart needs at least one day and 0 <= start_hour < end_hour <= 24.",
                );
            }
        }
        if self.targeting.daypart_utc_offset_minutes.abs() > 14 * 60 {
            err(
                "targeting.daypart_utc_offset_minutes",
                "The offset must be within 14 hours of UTC.",
            );
        }
        if let Some(fc) = self.frequency_cap
            && (fc.max_impressions == 0 || fc.window_secs == 0)
        {
            err(
                "frequency_cap",
                "A frequency cap needs at least one impression and a window of at least one second.",
            );
        }
        if let Some(p) = self.priors
            && !(p.ctr.is_valid() && p.cvr.is_valid())
        {
            err("priors", "Beta priors need positive finite alpha and beta.");
        }
        if self.creatives.is_empty() {
            err("creatives", "A line item needs at least one creative.");
        }
        for (i, c) in self.creatives.iter().enumerate() {
            let f = |s: &str| format!("creatives[{i}].{s}");
            if c.id.trim().is_empty() {
                err(&f("id"), "A creative needs an id.");
            }
            if c.markup.is_empty() {
                err(&f("markup"), "A creative needs markup.");
            }
            match &c.format {
                CreativeFormat::Banner { w, h } if *w == 0 || *h == 0 => {
                    err(&f("format"), "A banner needs a positive width and height.")
                }
                CreativeFormat::Video {
                    mimes,
                    duration_secs,
                }
                | CreativeFormat::Audio {
                    mimes,
                    duration_secs,
                } if mimes.is_empty() || *duration_secs == 0 => err(
                    &f("format"),
                    "Video and audio need at least one MIME type and a positive duration.",
                ),
                _ => {}
            }
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kiki_core::Currency;
    use time::macros::datetime;

    /// A valid banner line item for tests across the crate.
    pub(crate) fn banner_item() -> LineItem {
        LineItem {
            id: LineItemId::new(),
            org_id: OrgId::new(),
            campaign_id: CampaignId::new(),
            name: "test".into(),
            active: true,
            flight: Flight {
                start: datetime!(2026-01-01 00:00 UTC),
                end: None,
            },
            budget: Budget {
                daily: Money::from_micros(100_000_000, Currency::USD),
                total: None,
            },
            pacing: PacingMode::Even,
            bid_strategy: BidStrategy::ValueBased,
            max_cpm: None,
            targeting: Targeting::default(),
            creatives: vec![Creative {
                id: "cr-1".into(),
                format: CreativeFormat::Banner { w: 300, h: 250 },
                markup: "<div>ad</div>".into(),
                adomain: vec!["shop.example".into()],
                categories: vec!["IAB22".into()],
                attributes: vec![],
                bundle: None,
            }],
            ltv_baseline: Money::from_micros(120_000_000, Currency::USD),
            margin: MarginSettings::default(),
            frequency_cap: None,
            priors: None,
            deals: DealTargeting::default(),
        }
    }

    #[test]
    fn a_complete_line_item_is_valid_and_round_trips_as_json() {
        let li = banner_item();
        assert_eq!(li.validate(), Ok(()));
        let json = serde_json::to_string(&li).unwrap();
        let back: LineItem = serde_json::from_str(&json).unwrap();
        assert_eq!(back, li);
    }

    #[test]
    fn each_invalid_field_is_named() {
        type Breaker = fn(&mut LineItem);
        let cases: &[(&str, Breaker)] = &[
            ("budget.daily", |l| l.budget.daily.micros = 0),
            ("budget.total", |l| {
                l.budget.total = Some(Money::from_micros(-1, Currency::USD))
            }),
            ("flight.end", |l| l.flight.end = Some(l.flight.start)),
            ("margin.bid_share", |l| l.margin.bid_share = 1.5),
            ("pacing.weights", |l| {
                l.pacing = PacingMode::HourlyCurve {
                    weights: vec![1.0; 23],
                }
            }),
            ("targeting.countries[0]", |l| {
                l.targeting.countries = vec!["US".into()]
            }),
            ("targeting.device_types[0]", |l| {
                l.targeting.device_types = vec![9]
            }),
            ("targeting.dayparts[0]", |l| {
                l.targeting.dayparts = vec![Daypart {
                    days: vec![Weekday::Mon],
                    start_hour: 5,
                    end_hour: 5,
                }]
            }),
            ("frequency_cap", |l| {
                l.frequency_cap = Some(FrequencyCap {
                    max_impressions: 0,
                    window_secs: 60,
                })
            }),
            ("priors", |l| {
                l.priors = Some(Priors {
                    ctr: BetaPrior {
                        alpha: 0.0,
                        beta: 1.0,
                    },
                    cvr: BetaPrior {
                        alpha: 1.0,
                        beta: 1.0,
                    },
                })
            }),
            ("creatives", |l| l.creatives.clear()),
            ("creatives[0].format", |l| {
                l.creatives[0].format = CreativeFormat::Banner { w: 0, h: 250 }
            }),
            ("creatives[0].markup", |l| l.creatives[0].markup.clear()),
            ("bid_strategy.cpa", |l| {
                l.bid_strategy = BidStrategy::TargetCpa {
                    cpa: Money::from_micros(0, Currency::USD),
                }
            }),
        ];
        for (field, breaker) in cases {
            let mut li = banner_item();
            breaker(&mut li);
            let errs = li.validate().unwrap_err();
            assert!(errs.iter().any(|e| e.field == *field), "{field}: {errs:?}");
        }
    }
}
