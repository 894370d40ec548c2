//! Charts rendered on the server as SVG, so a page shows them without
//! JavaScript (and exports can reuse them), plus the same data as JSON for
//! the page's script to turn into an interactive uPlot chart. Pure: series
//! in, markup out. Amounts stay integer micros; the only arithmetic on them
//! here is placing points on a canvas.

use kiki_core::{Currency, Money};
use serde::Serialize;
use time::Date;

/// Daily revenue and spend in one currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailySeries {
    pub currency: Currency,
    /// `YYYY-MM-DD` per point.
    pub days: Vec<String>,
    pub revenue_micros: Vec<i64>,
    pub spend_micros: Vec<i64>,
}

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl DailySeries {
    pub fn new(currency: Currency) -> DailySeries {
        DailySeries {
            currency,
            days: Vec::new(),
            revenue_micros: Vec::new(),
            spend_micros: Vec::new(),
        }
    }

    pub fn push(&mut self, day: Date, revenue_micros: i64, spend_micros: i64) {
        self.days
            .push(kiki_analytics_service::domain::day_text(day));
        self.revenue_micros.push(revenue_micros);
        self.spend_micros.push(spend_micros);
    }

    /// The data for the script, written (HTML-escaped) into the chart's
    /// `data-series` attribute; `<`, `>` and `&` are also JSON escapes, so
    /// the text stays inert wherever it is placed. An attribute rather than
    /// a `<script type="application/json">` block: htmx drops every script
    /// element from swapped content when script tags are off.
    pub fn json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| "null".into())
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }

    fn max(&self) -> i64 {
        self.revenue_micros
            .iter()
            .chain(&self.spend_micros)
            .copied()
            .max()
            .unwrap_or(0)
            .max(0)
    }

    fn min(&self) -> i64 {
        self.revenue_micros
            .iter()
            .chain(&self.spend_micros)
            .copied()
            .min()
            .unwrap_or(0)
            .min(0)
    }

    fn points(&self, values: &[i64], lo: i64, hi: i64) -> String {
        let n = values.len();
        let span = (hi - lo).max(1) as f64;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = if n <= 1 {
                    LEFT + (W - LEFT - RIGHT) / 2.0
                } else {
                    LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1) as f64
                };
                let y = TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) as f64 / span);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A line chart of revenue and spend, with the top and bottom of the
    /// scale in the currency and the first and last day on the axis. Its
    /// `<title>` and `<desc>` say what it shows in words.
    pub fn svg(&self, title: &str) -> String {
        let (lo, hi) = (self.min(), self.max());
        let money = |m: i64| Money::from_micros(m, self.currency).text().to_string();
        let total = |v: &[i64]| v.iter().copied().fold(0i64, i64::saturating_add);
        let desc = format!(
            "Daily revenue and ad spend from {} to {}: revenue {} in all, spend {} in all.",
            self.days.first().map(String::as_str).unwrap_or(""),
            self.days.last().map(String::as_str).unwrap_or(""),
            money(total(&self.revenue_micros)),
            money(total(&self.spend_micros)),
        );
        let base_y = H - BOTTOM;
        let mut out = format!(
            "<svg class=\"chart-svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"t-{c} d-{c}\" xmlns=\"http://www.w3.org/2000/svg\">\
             <title id=\"t-{c}\">{title}</title><desc id=\"d-{c}\">{desc}</desc>\
             <line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base_y}\"/>\
             <line class=\"axis\" x1=\"{LEFT}\" y1=\"{base_y}\" x2=\"{x2}\" y2=\"{base_y}\"/>\
             <text class=\"tick\" x=\"{tx}\" y=\"{ty_top}\" text-anchor=\"end\">{hi_text}</text>\
             <text class=\"tick\" x=\"{tx}\" y=\"{ty_bottom}\" text-anchor=\"end\">{lo_text}</text>",
            c = self.currency,
            title = esc(title),
            desc = esc(&desc),
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty_top = TOP + 10.0,
            ty_bottom = base_y,
            hi_text = esc(&money(hi)),
            lo_text = esc(&money(lo)),
        );
        if let (Some(first), Some(last)) = (self.days.first(), self.days.last()) {
            out.push_str(&format!(
                "<text class=\"tick\" x=\"{LEFT}\" y=\"{H}\" text-anchor=\"start\">{}</text>\
                 <text class=\"tick\" x=\"{}\" y=\"{H}\" text-anchor=\"end\">{}</text>",
                esc(first),
                W - RIGHT,
                esc(last)
            ));
        }
        for (class, values) in [
            ("line revenue", &self.revenue_micros),
            ("line spend", &self.spend_micros),
        ] {
            out.push_str(&format!(
                "<polyline class=\"{class}\" points=\"{}\"/>",
                self.points(values, lo, hi)
            ));
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn series() -> DailySeries {
        let mut s = DailySeries::new(Currency::USD);
        s.push(date!(2026 - 02 - 27), 300_000_000, 150_000_000);
        s.push(date!(2026 - 02 - 28), 0, 0);
        s.push(date!(2026 - 03 - 01), 650_000_000, 250_000_000);
        s
    }

    #[test]
    fn the_svg_places_the_highest_value_at_the_top_and_zero_on_the_axis() {
        let svg = series().svg("Revenue and spend");
        // 650 is the top (y = 12), 0 the axis (y = 212); three days over 636 px.
        assert!(
            svg.contains("points=\"72.0,119.7 390.0,212.0 708.0,12.0\""),
            "{svg}"
        );
        assert!(svg.contains(">$650.00</text>"), "{svg}");
        assert!(svg.contains(">$0.00</text>"), "{svg}");
        assert!(svg.contains("revenue $950.00 in all, spend $400.00 in all"));
        assert!(svg.contains(">2026-02-27</text>") && svg.contains(">2026-03-01</text>"));
    }

    #[test]
    fn the_json_cannot_close_its_script_element() {
        let mut s = series();
        s.days[0] = "</script><script>alert(1)</script>".into();
        let j = s.json();
        assert!(!j.contains('<') && !j.contains('>'), "{j}");
        let back: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back["days"][0], "</script><script>alert(1)</script>");
        assert_eq!(back["revenue_micros"][2], 650_000_000);
        assert_eq!(back["currency"], "USD");
    }

    #[test]
    fn an_empty_series_still_draws_its_axes() {
        let svg = DailySeries::new(Currency::EUR).svg("x");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("class=\"axis\""));
    }
}
