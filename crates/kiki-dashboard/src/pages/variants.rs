//! The campaign page's "Variants" section: the campaign's creative variants
//! side by side from the analytics service's variant comparison — counts,
//! CTR and CVR each with its 95 % Wilson interval (in numbers and as a
//! small server-drawn SVG bar on a scale shared by the rows), CPA and
//! ROAS — and the comparison's sentence, which describes the observations
//! and claims no significance.

use kiki_analytics_service::domain::variants::{RateView, Variants};

use crate::kpi::{conversions, grouped, multiple};

/// The section.
#[derive(Debug, Clone, Default)]
pub struct VariantsView {
    pub rows: Vec<VariantLine>,
    /// What the rows show, in words (the analytics service's sentence).
    pub observation: String,
    /// Figures of the campaign's ads whose creative is not known.
    pub unattributed: Option<String>,
}

/// One variant in one currency.
#[derive(Debug, Clone)]
pub struct VariantLine {
    pub label: String,
    pub platform: String,
    pub currency: String,
    pub impressions: String,
    pub clicks: String,
    pub conversions: String,
    pub spend: String,
    pub revenue: String,
    pub ctr: RateCell,
    pub cvr: RateCell,
    pub cpa: String,
    pub roas: String,
    /// The highest observed CTR.
    pub leader: bool,
}

/// A rate with its interval and the counts it rests on.
#[derive(Debug, Clone)]
pub struct RateCell {
    /// `3.00 %`, or `—` without trials.
    pub rate: String,
    /// `2.45 %–3.67 %`, or `—`.
    pub interval: String,
    /// `90 of 3,000 impressions`.
    pub counts: String,
    /// The interval drawn (empty without one).
    pub svg: String,
}

/// Two decimals: the rates of variants are often a few per cent apart.
fn pct(v: f64) -> String {
    format!("{:.2} %", v * 100.0)
}

const BAR_W: f64 = 120.0;
const BAR_H: f64 = 14.0;

/// The interval on a 0..`scale` axis as a small SVG: a bar from the low to
/// the high end and a mark at the observed rate.
pub fn interval_svg(r: &RateView, scale: f64, what: &str) -> String {
    let (Some(rate), Some(lo), Some(hi)) = (r.rate, r.low, r.high) else {
        return String::new();
    };
    if scale <= 0.0 {
        return String::new();
    }
    let x = |v: f64| (v / scale).clamp(0.0, 1.0) * (BAR_W - 4.0) + 2.0;
    let (x0, x1, xr) = (x(lo), x(hi), x(rate.min(1.0)));
    format!(
        "<svg class=\"interval\" viewBox=\"0 0 {BAR_W} {BAR_H}\" width=\"{BAR_W}\" height=\"{BAR_H}\" role=\"img\" \
aria-label=\"{what}: observed {}, 95 % interval {} to {}\" xmlns=\"http://www.w3.org/2000/svg\">\
<line class=\"axis\" x1=\"2\" y1=\"{mid}\" x2=\"{end:.1}\" y2=\"{mid}\"/>\
<rect class=\"range\" x=\"{x0:.1}\" y=\"3\" width=\"{w:.1}\" height=\"8\" rx=\"2\"/>\
<circle class=\"mark\" cx=\"{xr:.1}\" cy=\"{mid}\" r=\"3\"/></svg>",
        pct(rate),
        pct(lo),
        pct(hi),
        mid = BAR_H / 2.0,
        end = BAR_W - 2.0,
        w = (x1 - x0).max(1.0),
    )
}

fn rate_cell(r: &RateView, scale: f64, what: &str, unit: &str) -> RateCell {
    let na = || "—".to_owned();
    RateCell {
        rate: r.rate.map(pct).unwrap_or_else(na),
        interval: match (r.low, r.high) {
            (Some(lo), Some(hi)) => format!("{}–{}", pct(lo), pct(hi)),
            _ => na(),
        },
        counts: format!(
            "{} of {} {unit}",
            grouped(i64::try_from(r.successes).unwrap_or(i64::MAX)),
            grouped(i64::try_from(r.trials).unwrap_or(i64::MAX))
        ),
        svg: interval_svg(r, scale, what),
    }
}

/// The highest interval end among the rows (the bars' shared scale).
fn scale_of<'a>(rates: impl Iterator<Item = &'a RateView>) -> f64 {
    rates.filter_map(|r| r.high).fold(0.0, f64::max)
}

/// The section from the analytics service's answer.
pub fn view(v: &Variants) -> VariantsView {
    let na = || "—".to_owned();
    let ctr_scale = scale_of(v.variants.iter().map(|r| &r.ctr));
    let cvr_scale = scale_of(v.variants.iter().map(|r| &r.cvr));
    let leader = v.leader.as_ref();
    let rows = v
        .variants
        .iter()
        .map(|r| VariantLine {
            label: r.label.text(),
            platform: r.platform.clone(),
            currency: r.currency.as_str().to_owned(),
            impressions: grouped(r.impressions),
            clicks: grouped(r.clicks),
            conversions: conversions(r.conversions),
            spend: r.spend.text().to_string(),
            revenue: r.revenue.text().to_string(),
            ctr: rate_cell(&r.ctr, ctr_scale, "Click-through rate", "impressions"),
            cvr: rate_cell(
                &r.cvr,
                cvr_scale,
                "Conversion rate",
                "clicks (whole conversions)",
            ),
            cpa: r.cpa.map(|m| m.text().to_string()).unwrap_or_else(na),
            roas: r.roas.map(multiple).unwrap_or_else(na),
            leader: leader.is_some_and(|l| {
                l.label.creative_id == r.label.creative_id && l.currency == r.currency
            }),
        })
        .collect();
    let unattributed = (!v.unattributed.is_empty()).then(|| {
        let parts: Vec<String> = v
            .unattributed
            .iter()
            .map(|m| {
                format!(
                    "{} spend, {} impressions",
                    m.spend.text(),
                    grouped(m.impressions)
                )
            })
            .collect();
        format!(
            "Ads whose creative is not known (not placed by KIKI) are not in any variant: {}.",
            parts.join("; ")
        )
    });
    VariantsView {
        rows,
        observation: v.observation.clone(),
        unattributed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_spans_the_interval_on_the_shared_scale() {
        let r = RateView {
            rate: Some(0.03),
            successes: 90,
            trials: 3000,
            low: Some(0.02),
            high: Some(0.04),
        };
        // Scale 0.05 over 116 px from x = 2: 0.02 → 48.4, 0.04 → 94.8,
        // 0.03 → 71.6.
        let svg = interval_svg(&r, 0.05, "CTR");
        assert!(svg.contains("x=\"48.4\""), "{svg}");
        assert!(svg.contains("width=\"46.4\""), "{svg}");
        assert!(svg.contains("cx=\"71.6\""), "{svg}");
        assert!(svg.contains("observed 3.00 %, 95 % interval 2.00 % to 4.00 %"));
        let none = RateView {
            rate: None,
            successes: 0,
            trials: 0,
            low: None,
            high: None,
        };
        assert_eq!(interval_svg(&none, 0.05, "CTR"), "");
        let c = rate_cell(&r, 0.05, "CTR", "impressions");
        assert_eq!(c.counts, "90 of 3,000 impressions");
        assert_eq!(c.interval, "2.00 %–4.00 %");
    }
}
