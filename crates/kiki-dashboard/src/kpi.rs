//! The overview's KPI tiles, built from the analytics summary of one
//! currency: each figure as people read it (money in its currency through
//! `Money::text`, ratios as percentages or multiples) with its change from
//! the comparison period, and a note where the figure rests on an
//! assumption, and whether its change is good news: for most figures a
//! rise is, for costs per result (cost per conversion, cost per click,
//! customer acquisition cost) a fall is. The net profit uplift tile carries
//! the fee and the sentence saying what it is measured against; the
//! new-customer tile what the LTV figures rest on. Pure.

use kiki_analytics_service::domain::{
    AmountChange, CurrencySummary, MarginView, NumberChange, SummaryFigures,
};
use kiki_core::Money;

/// One tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// A stable key for tests and styling (`spend`, `roas`, …).
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    /// "+$350.00 (+700.0 %)"; "no comparison" without a comparison period.
    pub change: Option<String>,
    /// `up`, `down` or `flat` (for the arrow; not a judgement).
    pub direction: &'static str,
    /// `good`, `bad` or `neutral`: the change judged by [`lower_is_better`]
    /// (the colour of the change).
    pub tone: &'static str,
    /// What the figure assumes, in words.
    pub note: Option<String>,
}

/// `12.5 %` (one decimal).
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// `+12.5 %` / `-3.0 %`.
fn signed_percent(share: f64) -> String {
    let s = format!("{:.1} %", share.abs() * 100.0);
    if share > 0.0 {
        format!("+{s}")
    } else if share < 0.0 {
        format!("-{s}")
    } else {
        s
    }
}

fn signed_money(m: Money) -> String {
    if m.micros > 0 {
        format!("+{}", m.text())
    } else if m.micros < 0 {
        format!("-{}", Money::from_micros(-m.micros, m.currency).text())
    } else {
        m.text().to_string()
    }
}

/// A whole number with thousands separators.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Conversions may be fractional (data-driven attribution): two decimals
/// when they are, none when not.
pub fn conversions(c: f64) -> String {
    if (c - c.round()).abs() < 1e-9 {
        grouped(c.round() as i64)
    } else {
        format!("{c:.2}")
    }
}

/// `2.50×`.
pub fn multiple(x: f64) -> String {
    format!("{x:.2}×")
}

/// Whether a fall of the figure `key` is good news: costs per result
/// (cost per conversion, cost per click, cost per thousand impressions,
/// cost per acquired customer).
/// Every other tile is better higher (spend too: more delivery; its own
/// judgement is the profit beside it).
pub fn lower_is_better(key: &str) -> bool {
    matches!(key, "cpa" | "cpc" | "cpm" | "cac")
}

/// The change of `key` moving in `direction`, judged: `good`, `bad` or
/// `neutral` (no change, or nothing to compare).
pub fn tone(key: &str, direction: &str) -> &'static str {
    match (direction, lower_is_better(key)) {
        ("up", false) | ("down", true) => "good",
        ("up", true) | ("down", false) => "bad",
        _ => "neutral",
    }
}

fn direction(x: Option<f64>) -> &'static str {
    match x {
        Some(v) if v > 0.0 => "up",
        Some(v) if v < 0.0 => "down",
        _ => "flat",
    }
}

fn amount_change(c: &AmountChange) -> (String, &'static str) {
    let abs = signed_money(c.absolute);
    let text = match c.relative {
        Some(r) => format!("{abs} ({})", signed_percent(r)),
        None if c.absolute.micros == 0 => abs,
        None => format!("{abs} (none before)"),
    };
    (text, direction(Some(c.absolute.micros as f64)))
}

fn number_change(c: &NumberChange, abs: impl Fn(f64) -> String) -> (String, &'static str) {
    match (c.absolute, c.relative) {
        (Some(a), Some(r)) => (
            format!("{} ({})", abs(a), signed_percent(r)),
            direction(Some(a)),
        ),
        (Some(a), None) if a == 0.0 => (abs(a), "flat"),
        (Some(a), None) => (format!("{} (none before)", abs(a)), direction(Some(a))),
        (None, _) => ("not comparable".to_owned(), "flat"),
    }
}

fn signed(x: f64, f: impl Fn(f64) -> String) -> String {
    if x > 0.0 {
        format!("+{}", f(x))
    } else if x < 0.0 {
        format!("-{}", f(-x))
    } else {
        f(0.0)
    }
}

/// The note on profit figures when any organisation summed has no margin.
pub fn margin_note(margins: &[MarginView]) -> Option<String> {
    let assumed = margins.iter().filter(|m| m.assumed).count();
    match assumed {
        0 => None,
        n if n == margins.len() => Some(
            "Assumes a 100 % margin: no contribution margin is configured, so revenue counts as profit."
                .to_owned(),
        ),
        n => Some(format!(
            "{n} of {} organisations have no contribution margin configured; 100 % is assumed for them.",
            margins.len()
        )),
    }
}

/// The tiles of one currency.
pub fn tiles(s: &CurrencySummary, margins: &[MarginView]) -> Vec<Tile> {
    let cur: &SummaryFigures = &s.current;
    let m = &cur.metrics;
    let ch = s.change.as_ref();
    let note = margin_note(margins);
    let mut out = Vec::new();
    let mut tile = |key,
                    label,
                    value: String,
                    change: Option<(String, &'static str)>,
                    note: Option<String>| {
        let (change, direction) = match (ch.is_some(), change) {
            (true, Some((c, d))) => (Some(c), d),
            (true, None) => (Some("not comparable".to_owned()), "flat"),
            (false, _) => (None, "flat"),
        };
        out.push(Tile {
            key,
            label,
            value,
            change,
            direction,
            tone: tone(key, direction),
            note,
        });
    };
    let na = || "—".to_owned();
    tile(
        "spend",
        "Ad spend",
        m.spend.text().to_string(),
        ch.map(|c| amount_change(&c.spend)),
        None,
    );
    tile(
        "revenue",
        "Revenue",
        m.revenue.text().to_string(),
        ch.map(|c| amount_change(&c.revenue)),
        None,
    );
    tile(
        "gross_profit",
        "Gross profit",
        cur.gross_profit.text().to_string(),
        ch.map(|c| amount_change(&c.gross_profit)),
        note.clone(),
    );
    tile(
        "profit_after_ad_spend",
        "Profit after ad spend",
        cur.profit_after_ad_spend.text().to_string(),
        ch.map(|c| amount_change(&c.profit_after_ad_spend)),
        note,
    );
    let basis = &cur.basis;
    let text = |b: &str| (!b.is_empty()).then(|| b.to_owned());
    tile(
        "net_profit_uplift",
        "Net profit uplift vs baseline",
        cur.net_profit_uplift
            .map(|v| v.text().to_string())
            .unwrap_or_else(na),
        ch.and_then(|c| c.net_profit_uplift.as_ref().map(amount_change)),
        match cur.fee {
            Some(fee) => Some(format!("Fee {}. {}", fee.text(), basis.uplift)),
            None => text(&basis.uplift),
        },
    );
    tile(
        "new_customers",
        "New customers",
        cur.new_customers.map(grouped).unwrap_or_else(na),
        ch.map(|c| {
            number_change(&c.new_customers, |x| {
                signed(x, |v| grouped(v.round() as i64))
            })
        }),
        text(&basis.customers),
    );
    tile(
        "mean_predicted_ltv",
        "Mean predicted LTV",
        cur.mean_predicted_ltv
            .map(|v| v.text().to_string())
            .unwrap_or_else(na),
        ch.and_then(|c| c.mean_predicted_ltv.as_ref().map(amount_change)),
        None,
    );
    tile(
        "cac",
        "Customer acquisition cost",
        cur.cac.map(|v| v.text().to_string()).unwrap_or_else(na),
        ch.and_then(|c| c.cac.as_ref().map(amount_change)),
        None,
    );
    tile(
        "ltv_to_cac",
        "LTV/CAC",
        cur.ltv_to_cac.map(multiple).unwrap_or_else(na),
        ch.map(|c| number_change(&c.ltv_to_cac, |x| signed(x, multiple))),
        None,
    );
    tile(
        "roas",
        "ROAS",
        m.roas.map(multiple).unwrap_or_else(na),
        ch.map(|c| number_change(&c.roas, |x| signed(x, multiple))),
        None,
    );
    tile(
        "cpa",
        "Cost per conversion",
        m.cpa.map(|v| v.text().to_string()).unwrap_or_else(na),
        ch.and_then(|c| c.cpa.as_ref().map(amount_change)),
        None,
    );
    tile(
        "conversions",
        "Conversions",
        conversions(m.conversions),
        ch.map(|c| number_change(&c.conversions, |x| signed(x, conversions))),
        None,
    );
    tile(
        "ctr",
        "Click-through rate",
        m.ctr.map(percent).unwrap_or_else(na),
        ch.map(|c| number_change(&c.ctr, |x| signed(x * 100.0, |v| format!("{v:.2} pt")))),
        None,
    );
    tile(
        "cpc",
        "Cost per click",
        m.cpc.map(|v| v.text().to_string()).unwrap_or_else(na),
        ch.and_then(|c| c.cpc.as_ref().map(amount_change)),
        None,
    );
    tile(
        "clicks",
        "Clicks",
        grouped(m.clicks),
        ch.map(|c| number_change(&c.clicks, |x| signed(x, |v| grouped(v.round() as i64)))),
        None,
    );
    tile(
        "impressions",
        "Impressions",
        grouped(m.impressions),
        ch.map(|c| number_change(&c.impressions, |x| signed(x, |v| grouped(v.round() as i64)))),
        None,
    );
    tile(
        "active_campaigns",
        "Active campaigns",
        grouped(cur.active_campaigns),
        ch.map(|c| {
            number_change(&c.active_campaigns, |x| {
                signed(x, |v| grouped(v.round() as i64))
            })
        }),
        None,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::Currency;

    fn usd(m: i64) -> Money {
        Money::from_micros(m, Currency::USD)
    }

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(percent(0.015), "1.5 %");
        assert_eq!(signed_percent(7.0), "+700.0 %");
        assert_eq!(signed_percent(-0.25), "-25.0 %");
        assert_eq!(signed_money(usd(350_000_000)), "+$350.00");
        assert_eq!(signed_money(usd(-1_500_000)), "-$1.50");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(-1_000), "-1,000");
        assert_eq!(conversions(9.0), "9");
        assert_eq!(conversions(1.5), "1.50");
        assert_eq!(multiple(2.5), "2.50×");
    }

    #[test]
    fn changes_say_when_there_was_nothing_before() {
        let c = AmountChange {
            absolute: usd(10_000_000),
            relative: None,
        };
        assert_eq!(amount_change(&c), ("+$10.00 (none before)".into(), "up"));
        let c = AmountChange {
            absolute: usd(-5_000_000),
            relative: Some(-0.5),
        };
        assert_eq!(amount_change(&c), ("-$5.00 (-50.0 %)".into(), "down"));
        let n = NumberChange {
            absolute: None,
            relative: None,
        };
        assert_eq!(number_change(&n, |x| x.to_string()).0, "not comparable");
    }

    #[test]
    fn a_fall_in_a_cost_per_result_is_good_news() {
        assert!(lower_is_better("cpa") && lower_is_better("cpc") && lower_is_better("cac"));
        assert!(!lower_is_better("net_profit_uplift") && !lower_is_better("ltv_to_cac"));
        assert_eq!(tone("cac", "down"), "good");
        assert!(!lower_is_better("revenue") && !lower_is_better("roas"));
        assert_eq!(tone("cpa", "down"), "good");
        assert_eq!(tone("cpa", "up"), "bad");
        assert_eq!(tone("cpc", "down"), "good");
        assert_eq!(tone("cpc", "up"), "bad");
        assert_eq!(tone("revenue", "up"), "good");
        assert_eq!(tone("conversions", "down"), "bad");
        assert_eq!(tone("cpa", "flat"), "neutral");
        assert_eq!(tone("revenue", "flat"), "neutral");
    }

    #[test]
    fn the_margin_note_says_what_is_assumed() {
        let m = |assumed| MarginView {
            organisation_id: uuid::Uuid::nil(),
            margin_bps: 10_000,
            assumed,
        };
        assert_eq!(margin_note(&[m(false)]), None);
        assert!(
            margin_note(&[m(true)])
                .unwrap()
                .starts_with("Assumes a 100 % margin")
        );
        assert!(
            margin_note(&[m(true), m(false)])
                .unwrap()
                .starts_with("1 of 2")
        );
    }

    #[test]
    fn the_uplift_tile_carries_the_fee_and_its_basis() {
        use kiki_analytics_service::domain::{FigureBasis, SummaryChange};
        let mut cur = SummaryFigures::of(Currency::USD, &[], 0);
        cur.net_profit_uplift = Some(usd(250_000_000));
        cur.fee = Some(usd(50_000_000));
        cur.new_customers = Some(1_200);
        cur.mean_predicted_ltv = Some(usd(150_000_000));
        cur.cac = Some(usd(40_000_000));
        cur.ltv_to_cac = Some(2.5);
        cur.basis = FigureBasis {
            customers: "1,200 new customers.".into(),
            uplift: "Against the twin's no-new-spend baseline.".into(),
            fx: None,
        };
        let mut prev = SummaryFigures::of(Currency::USD, &[], 0);
        prev.new_customers = Some(1_000);
        prev.cac = Some(usd(50_000_000));
        let change = SummaryChange::between(&cur, &prev);
        let s = CurrencySummary {
            currency: Currency::USD,
            current: cur,
            previous: Some(prev),
            change: Some(change),
        };
        let tiles = tiles(&s, &[]);
        let t = |k: &str| tiles.iter().find(|t| t.key == k).unwrap().clone();
        let u = t("net_profit_uplift");
        assert_eq!(u.value, "$250.00");
        assert_eq!(
            u.change.as_deref(),
            Some("not comparable"),
            "no uplift before"
        );
        assert_eq!(
            u.note.as_deref(),
            Some("Fee $50.00. Against the twin's no-new-spend baseline.")
        );
        let n = t("new_customers");
        assert_eq!(n.value, "1,200");
        assert_eq!(n.change.as_deref(), Some("+200 (+20.0 %)"));
        assert_eq!(n.tone, "good");
        let c = t("cac");
        assert_eq!(c.value, "$40.00");
        assert_eq!(c.change.as_deref(), Some("-$10.00 (-20.0 %)"));
        assert_eq!(c.tone, "good", "a cheaper customer is good news");
        assert_eq!(t("mean_predicted_ltv").value, "$150.00");
        assert_eq!(t("ltv_to_cac").value, "2.50×");
    }
}
