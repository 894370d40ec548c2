//! Creative variants: the answer of `GET /v1/analytics/variants` (a
//! campaign's variants side by side, with the counts each rate rests on and
//! its 95 % Wilson interval) and the label a `by=variant` breakdown row
//! carries. Pure.
//!
//! An ad's creative is known from its KIKI id: the platforms service names
//! the ad it places for a creative in an ad set `"{ad set id}:{creative
//! id}"` (both KIKI UUIDs; crates/kiki-platforms-service, deploy), and the
//! platforms' metrics sync writes that id in the ad rows' `ad_id`. An ad
//! row whose `ad_id` is not two UUIDs so joined (an ad KIKI did not place)
//! has no known creative: its figures are reported apart as
//! `unattributed`, never guessed.

use kiki_analytics::{ObservedRate, Sums};
use kiki_core::{Currency, Money};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::export::{Cell, Kind, Table};
use super::{Breakdown, MetricSet, PeriodView};

/// The creative of an ad, from its KIKI id `"{ad set id}:{creative id}"`;
/// `None` for any other id.
pub fn creative_of_ad(ad_id: &str) -> Option<Uuid> {
    let (set, creative) = ad_id.split_once(':')?;
    Uuid::parse_str(set).ok()?;
    Uuid::parse_str(creative).ok()
}

/// What a variant is called: its creative's id and, when the campaigns
/// service knows the creative, its variation number and first headline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsCreativeLabel)]
pub struct CreativeLabel {
    pub creative_id: Uuid,
    /// Its variation number among those generated together (1-based; 0
    /// for one written by a person); `null` when the creative is unknown.
    pub variation: Option<u32>,
    /// Its first headline (or its primary text when it has none).
    pub headline: Option<String>,
}

impl CreativeLabel {
    /// "Variant 2: “Fresh skin”", or the id's first 8 characters.
    pub fn text(&self) -> String {
        let id = self.creative_id.to_string();
        let name = match self.variation {
            Some(0) => "Own creative".to_owned(),
            Some(n) => format!("Variant {n}"),
            None => format!("Creative {}", &id[..8]),
        };
        match &self.headline {
            Some(h) if !h.is_empty() => format!("{name}: “{h}”"),
            _ => name,
        }
    }
}

/// An observed rate with the counts it rests on and its 95 % Wilson
/// interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsObservedRate, example = json!({
    "rate": 0.1, "successes": 10, "trials": 100, "low": 0.055229137, "high": 0.174365662
}))]
pub struct RateView {
    /// From the sums (conversions may be fractional); `null` without
    /// trials.
    pub rate: Option<f64>,
    /// What the interval counts: clicks (CTR), whole conversions — the sum
    /// rounded down — (CVR).
    pub successes: u64,
    /// Impressions (CTR), clicks (CVR).
    pub trials: u64,
    /// The interval's ends; `null` without trials or with more successes
    /// than trials.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl From<ObservedRate> for RateView {
    fn from(r: ObservedRate) -> RateView {
        RateView {
            rate: r.rate,
            successes: r.successes,
            trials: r.trials,
            low: r.interval.map(|i| i.0),
            high: r.interval.map(|i| i.1),
        }
    }
}

/// One variant in one currency: the ads that show its creative, summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsVariant)]
pub struct VariantRow {
    #[serde(flatten)]
    pub label: CreativeLabel,
    pub organisation_id: Uuid,
    /// The platform's wire name.
    pub platform: String,
    /// The ads summed (one per ad set the creative runs in).
    pub ads: usize,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub impressions: i64,
    pub clicks: i64,
    /// Possibly fractional (data-driven attribution).
    pub conversions: f64,
    pub spend: Money,
    pub revenue: Money,
    /// Clicks ÷ impressions, on clicks of impressions.
    pub ctr: RateView,
    /// Conversions ÷ clicks, the interval on whole conversions of clicks.
    pub cvr: RateView,
    /// Spend ÷ conversions; `null` without conversions.
    pub cpa: Option<Money>,
    /// Revenue ÷ spend; `null` without spend.
    pub roas: Option<f64>,
}

impl VariantRow {
    pub fn of(
        label: CreativeLabel,
        organisation_id: Uuid,
        platform: String,
        ads: usize,
        currency: Currency,
        s: &Sums,
    ) -> VariantRow {
        let money = |m: i64| Money::from_micros(m, currency);
        VariantRow {
            label,
            organisation_id,
            platform,
            ads,
            currency,
            impressions: s.impressions,
            clicks: s.clicks,
            conversions: s.conversions(),
            spend: money(s.spend_micros),
            revenue: money(s.revenue_micros),
            ctr: kiki_analytics::variants::ctr(s).into(),
            cvr: kiki_analytics::variants::cvr(s).into(),
            cpa: s.cpa_micros().map(money),
            roas: s.roas(),
        }
    }
}

/// The variant with the highest observed CTR, and how its interval sits
/// among the others'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsVariantLeader)]
pub struct VariantLeader {
    #[serde(flatten)]
    pub label: CreativeLabel,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub ctr: f64,
    /// The other rows with an interval (those it was compared with).
    pub compared: usize,
    /// The creatives of the compared rows whose CTR interval overlaps the
    /// leader's.
    pub overlapping: Vec<Uuid>,
    /// True when it was compared with at least one other row and no
    /// other's interval overlaps its own. An observation, not a
    /// significance test.
    pub separated: bool,
}

/// `GET /v1/analytics/variants`: a campaign's creative variants side by
/// side.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsVariants, example = json!({
    "period": {"since": "2026-02-27", "until": "2026-03-01", "days": 3},
    "campaign_id": "01939e7a-1c2b-7d3e-8f40-5a6b7c8d9e0f",
    "variants": [{
        "creative_id": "01939e7a-2222-7d3e-8f40-5a6b7c8d9e0f", "variation": 2, "headline": "Glow in a week",
        "organisation_id": "01939e7a-0000-7d3e-8f40-5a6b7c8d9e0f", "platform": "meta", "ads": 1,
        "currency": "USD", "impressions": 3000, "clicks": 90, "conversions": 4.5,
        "spend": {"micros": 60000000, "currency": "USD"}, "revenue": {"micros": 180000000, "currency": "USD"},
        "ctr": {"rate": 0.03, "successes": 90, "trials": 3000, "low": 0.024471151, "high": 0.036730967},
        "cvr": {"rate": 0.05, "successes": 4, "trials": 90, "low": 0.017417242, "high": 0.10876855},
        "cpa": {"micros": 13333333, "currency": "USD"}, "roas": 3.0
    }, {
        "creative_id": "01939e7a-1111-7d3e-8f40-5a6b7c8d9e0f", "variation": 1, "headline": "Lumière serum",
        "organisation_id": "01939e7a-0000-7d3e-8f40-5a6b7c8d9e0f", "platform": "meta", "ads": 1,
        "currency": "USD", "impressions": 3000, "clicks": 75, "conversions": 3.0,
        "spend": {"micros": 55000000, "currency": "USD"}, "revenue": {"micros": 150000000, "currency": "USD"},
        "ctr": {"rate": 0.025, "successes": 75, "trials": 3000, "low": 0.019991321, "high": 0.031223585},
        "cvr": {"rate": 0.04, "successes": 3, "trials": 75, "low": 0.013696064, "high": 0.111129871},
        "cpa": {"micros": 18333333, "currency": "USD"}, "roas": 2.727272727
    }],
    "leader": {"creative_id": "01939e7a-2222-7d3e-8f40-5a6b7c8d9e0f", "variation": 2, "headline": "Glow in a week",
        "currency": "USD", "ctr": 0.03, "compared": 1, "overlapping": ["01939e7a-1111-7d3e-8f40-5a6b7c8d9e0f"], "separated": false},
    "observation": "Variant 2: “Glow in a week” has the highest observed CTR (3.00 %), but its 95 % interval overlaps that of Variant 1: “Lumière serum”: not yet distinguishable. These are observed rates, not a significance test.",
    "unattributed": []
}))]
pub struct Variants {
    pub period: PeriodView,
    pub campaign_id: Uuid,
    /// One row per creative, platform and currency, the highest CTR first
    /// (no CTR last), then by creative.
    pub variants: Vec<VariantRow>,
    /// The highest observed CTR among rows with impressions; `null` when
    /// none has any.
    pub leader: Option<VariantLeader>,
    /// What the rows show, in words (never a significance claim).
    pub observation: String,
    /// The campaign's ad rows whose creative is not known (ads KIKI did
    /// not place), per currency; not in any variant.
    pub unattributed: Vec<MetricSet>,
}

fn pct(v: f64) -> String {
    format!("{:.2} %", v * 100.0)
}

/// Names in a sentence: "A", "A and B", "A, B and C".
fn listed(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The sentence describing the comparison: which variant has the highest
/// observed CTR and whether its interval overlaps the others'.
pub fn observation(rows: &[VariantRow], leader: Option<&VariantLeader>) -> String {
    const NOT_A_TEST: &str = "These are observed rates, not a significance test.";
    let Some(l) = leader else {
        return if rows.is_empty() {
            "No ad of this campaign shows a known creative in this period.".into()
        } else {
            "No variant has impressions in this period: there is no rate to compare.".into()
        };
    };
    let name = l.label.text();
    if l.compared == 0 {
        return format!(
            "{name} has an observed CTR of {}; no other variant has impressions to compare it with.",
            pct(l.ctr)
        );
    }
    if l.separated {
        return format!(
            "{name} has the highest observed CTR ({}) and its 95 % interval overlaps none of the others'. {NOT_A_TEST}",
            pct(l.ctr)
        );
    }
    let mut names: Vec<String> = Vec::new();
    for id in &l.overlapping {
        if let Some(r) = rows.iter().find(|r| r.label.creative_id == *id) {
            let t = r.label.text();
            if !names.contains(&t) {
                names.push(t);
            }
        }
    }
    let those = if l.overlapping.len() == 1 {
        "that of"
    } else {
        "those of"
    };
    format!(
        "{name} has the highest observed CTR ({}), but its 95 % interval overlaps {those} {}: not yet distinguishable. {NOT_A_TEST}",
        pct(l.ctr),
        listed(&names)
    )
}

const VARIANT_COLUMNS: [(&str, Kind); 22] = [
    ("creative_id", Kind::Text),
    ("variation", Kind::Integer),
    ("headline", Kind::Text),
    ("platform", Kind::Text),
    ("ads", Kind::Integer),
    ("currency", Kind::Text),
    ("impressions", Kind::Integer),
    ("clicks", Kind::Integer),
    ("conversions", Kind::Decimal),
    ("spend", Kind::Amount),
    ("revenue", Kind::Amount),
    ("ctr", Kind::Percent),
    ("ctr_low", Kind::Percent),
    ("ctr_high", Kind::Percent),
    ("cvr", Kind::Percent),
    ("cvr_conversions_counted", Kind::Integer),
    ("cvr_low", Kind::Percent),
    ("cvr_high", Kind::Percent),
    ("cpa", Kind::Amount),
    ("roas", Kind::Decimal),
    ("organisation_id", Kind::Text),
    ("leader", Kind::Text),
];

fn num(v: Option<f64>) -> Cell {
    v.map_or(Cell::Empty, Cell::Number)
}

impl Variants {
    /// One table: the variants side by side (the leader marked).
    pub fn tables(&self) -> Vec<Table> {
        let leader = self.leader.as_ref();
        vec![Table {
            name: "Variants".into(),
            columns: VARIANT_COLUMNS
                .iter()
                .map(|(n, k)| ((*n).to_owned(), *k))
                .collect(),
            rows: self
                .variants
                .iter()
                .map(|r| {
                    let is_leader = leader.is_some_and(|l| {
                        l.label.creative_id == r.label.creative_id && l.currency == r.currency
                    });
                    vec![
                        Cell::Text(r.label.creative_id.to_string()),
                        r.label
                            .variation
                            .map_or(Cell::Empty, |v| Cell::Integer(i64::from(v))),
                        r.label
                            .headline
                            .as_ref()
                            .map_or(Cell::Empty, |h| Cell::Text(h.clone())),
                        Cell::Text(r.platform.clone()),
                        Cell::Integer(i64::try_from(r.ads).unwrap_or(i64::MAX)),
                        Cell::Text(r.currency.as_str().to_owned()),
                        Cell::Integer(r.impressions),
                        Cell::Integer(r.clicks),
                        Cell::Number(r.conversions),
                        Cell::Micros(r.spend.micros),
                        Cell::Micros(r.revenue.micros),
                        num(r.ctr.rate),
                        num(r.ctr.low),
                        num(r.ctr.high),
                        num(r.cvr.rate),
                        Cell::Integer(i64::try_from(r.cvr.successes).unwrap_or(i64::MAX)),
                        num(r.cvr.low),
                        num(r.cvr.high),
                        r.cpa.map_or(Cell::Empty, |m| Cell::Micros(m.micros)),
                        num(r.roas),
                        Cell::Text(r.organisation_id.to_string()),
                        Cell::Text(if is_leader { "highest CTR" } else { "" }.into()),
                    ]
                })
                .collect(),
        }]
    }
}

/// A `by=variant` breakdown's table: the group columns with the creative's
/// id, variation and headline before them.
pub fn breakdown_table(b: &Breakdown, mut base: Table) -> Table {
    let mut columns = vec![
        ("creative_id".to_owned(), Kind::Text),
        ("variation".to_owned(), Kind::Integer),
        ("headline".to_owned(), Kind::Text),
    ];
    columns.append(&mut base.columns);
    base.columns = columns;
    for (cells, r) in base.rows.iter_mut().zip(&b.rows) {
        let c = r.creative.as_ref();
        let mut first = vec![
            c.map_or(Cell::Empty, |c| Cell::Text(c.creative_id.to_string())),
            c.and_then(|c| c.variation)
                .map_or(Cell::Empty, |v| Cell::Integer(i64::from(v))),
            c.and_then(|c| c.headline.clone())
                .map_or(Cell::Empty, Cell::Text),
        ];
        first.append(cells);
        *cells = first;
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ads_creative_comes_from_its_kiki_id() {
        let set = Uuid::now_v7();
        let creative = Uuid::now_v7();
        assert_eq!(creative_of_ad(&format!("{set}:{creative}")), Some(creative));
        assert_eq!(creative_of_ad(&creative.to_string()), None);
        assert_eq!(creative_of_ad(&format!("x:{creative}")), None);
        assert_eq!(creative_of_ad(&format!("{set}:")), None);
        assert_eq!(creative_of_ad("120200001:99"), None);
    }

    fn row(id: Uuid, variation: u32, impressions: i64, clicks: i64) -> VariantRow {
        VariantRow::of(
            CreativeLabel {
                creative_id: id,
                variation: Some(variation),
                headline: Some(format!("H{variation}")),
            },
            Uuid::nil(),
            "meta".into(),
            1,
            Currency::USD,
            &Sums {
                impressions,
                clicks,
                ..Sums::default()
            },
        )
    }

    #[test]
    fn the_observation_says_what_overlaps() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let rows = vec![
            row(b, 2, 1000, 40),
            row(c, 3, 1000, 30),
            row(a, 1, 1000, 10),
        ];
        let leader = |overlapping: Vec<Uuid>, compared: usize| VariantLeader {
            label: rows[0].label.clone(),
            currency: Currency::USD,
            ctr: 0.04,
            compared,
            separated: compared > 0 && overlapping.is_empty(),
            overlapping,
        };
        assert_eq!(
            observation(&rows, Some(&leader(vec![c], 2))),
            "Variant 2: “H2” has the highest observed CTR (4.00 %), but its 95 % interval overlaps that of Variant 3: “H3”: not yet distinguishable. These are observed rates, not a significance test."
        );
        assert!(observation(&rows, Some(&leader(vec![c, a], 2))).contains(
            "overlaps those of Variant 3: “H3” and Variant 1: “H1”: not yet distinguishable"
        ));
        assert!(
            observation(&rows, Some(&leader(vec![], 2)))
                .contains("(4.00 %) and its 95 % interval overlaps none of the others'")
        );
        assert!(observation(&rows, Some(&leader(vec![], 0))).contains("no other variant"));
        assert!(observation(&[], None).starts_with("No ad of this campaign"));
        assert!(observation(&rows, None).starts_with("No variant has impressions"));
    }
}
