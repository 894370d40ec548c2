//! Bar charts for the PDF of a breakdown (spend and revenue per group) and
//! of a ranking (the ranked metric per row): horizontal bars drawn as
//! vector rectangles, one chart per currency for amounts, a row label on the
//! left and each bar's value printed at its end.

use kiki_core::{Currency, Money};

use super::super::{Breakdown, GroupRow, Performers};
use super::{
    BLACK, GREY, Layout, MARGIN, Op, PAGE_W, REVENUE_COLOUR, RULE, SPEND_COLOUR, text_width,
};

/// Rows a bar chart shows (the table below lists them all).
pub const MAX_BARS: usize = 12;
const ROW_H: f32 = 15.0;
const LABEL_CHARS: usize = 34;

/// How a bar's value reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BarUnit {
    /// Micros of an amount in this currency.
    Money(Currency),
    /// A plain number, two decimals (ROAS).
    Ratio,
    /// A share, shown as a percentage (CTR, CVR).
    Percent,
}

impl BarUnit {
    fn text(self, v: f64) -> String {
        match self {
            BarUnit::Money(c) => Money::from_micros(v.round() as i64, c).text().to_string(),
            BarUnit::Ratio => format!("{v:.2}"),
            BarUnit::Percent => format!("{:.2} %", v * 100.0),
        }
    }
}

/// A horizontal bar chart: per row a label and one value per series.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub unit: BarUnit,
    /// (name, colour) of each series.
    pub series: Vec<(String, [u8; 3])>,
    /// (label, a value per series); at most [`MAX_BARS`].
    pub rows: Vec<(String, Vec<f64>)>,
}

/// A group's label: the creative variant's, the country or the device, else
/// the object's platform id,
/// else the organisation, else the platform; prefixed by the platform where
/// both are known.
pub fn group_label(r: &GroupRow) -> String {
    let object = r
        .creative
        .as_ref()
        .map(|c| c.text())
        .or_else(|| r.country.clone())
        .or_else(|| r.device.clone())
        .or_else(|| r.external_id.clone())
        .or_else(|| {
            r.organisation_id
                .map(|o| format!("organisation {}", &o.to_string()[..8]))
        });
    let text = match (&r.platform, object) {
        (Some(p), Some(o)) => format!("{p} · {o}"),
        (Some(p), None) => p.clone(),
        (None, Some(o)) => o,
        (None, None) => "—".into(),
    };
    if text.chars().count() > LABEL_CHARS {
        let cut: String = text.chars().take(LABEL_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

impl Breakdown {
    /// Spend and revenue of the first rows, a chart per currency (at most
    /// four), in the table's order (largest spend first).
    pub fn bar_charts(&self) -> Vec<BarChart> {
        let mut currencies: Vec<Currency> = Vec::new();
        for r in &self.rows {
            if !currencies.contains(&r.metrics.currency) {
                currencies.push(r.metrics.currency);
            }
        }
        currencies
            .into_iter()
            .take(4)
            .map(|c| BarChart {
                title: format!(
                    "Spend and revenue by {} ({c})",
                    self.by.as_str().replace('_', " ")
                ),
                unit: BarUnit::Money(c),
                series: vec![
                    ("Spend".into(), SPEND_COLOUR),
                    ("Revenue".into(), REVENUE_COLOUR),
                ],
                rows: self
                    .rows
                    .iter()
                    .filter(|r| r.metrics.currency == c)
                    .take(MAX_BARS)
                    .map(|r| {
                        (
                            group_label(r),
                            vec![
                                r.metrics.spend.micros as f64,
                                r.metrics.revenue.micros as f64,
                            ],
                        )
                    })
                    .collect(),
            })
            .filter(|c| !c.rows.is_empty())
            .collect()
    }
}

impl Performers {
    /// The ranked metric of the first rows, in rank order. Amounts are
    /// charted only when every row is in one currency (a ranking across
    /// currencies ranks ratios only).
    pub fn bar_charts(&self) -> Vec<BarChart> {
        use kiki_analytics::Metric;
        let Some(first) = self.rows.first() else {
            return Vec::new();
        };
        let unit = match self.metric {
            Metric::Ctr | Metric::Cvr => BarUnit::Percent,
            Metric::Roas => BarUnit::Ratio,
            _ => {
                let c = first.row.metrics.currency;
                if self.rows.iter().any(|r| r.row.metrics.currency != c) {
                    return Vec::new();
                }
                BarUnit::Money(c)
            }
        };
        let name = self.metric.as_str().to_uppercase();
        vec![BarChart {
            title: format!(
                "{} {} by {name}",
                if self.direction == kiki_analytics::Direction::Top {
                    "Top"
                } else {
                    "Bottom"
                },
                self.level.as_str().replace('_', " ")
            ),
            unit,
            series: vec![(name, REVENUE_COLOUR)],
            rows: self
                .rows
                .iter()
                .take(MAX_BARS)
                .map(|r| {
                    (
                        format!("{}. {}", r.rank, group_label(&r.row)),
                        vec![r.value],
                    )
                })
                .collect(),
        }]
    }
}

/// Lays a bar chart out: labels, a zero line, one bar per series and row
/// with its value at the end, and a legend.
pub(super) fn lay_bars(l: &mut Layout, chart: &BarChart) {
    let per_row = ROW_H * chart.series.len().max(1) as f32 + 6.0;
    let height = 36.0 + per_row * chart.rows.len() as f32;
    l.ensure(height);
    let top = l.y + 12.0;
    l.text(MARGIN, top, 11.0, true, BLACK, chart.title.clone());
    let label_w = chart
        .rows
        .iter()
        .map(|(s, _)| text_width(false, s, 7.5))
        .fold(0.0, f32::max);
    let x0 = MARGIN + label_w + 8.0;
    let x1 = PAGE_W - MARGIN - 170.0;
    let max = chart
        .rows
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max);
    let scale = if max > 0.0 {
        (x1 - x0) as f64 / max
    } else {
        0.0
    };
    let y0 = top + 10.0;
    let mut y = y0;
    for (label, values) in &chart.rows {
        l.text(MARGIN, y + ROW_H * 0.7, 7.5, false, BLACK, label.clone());
        for (k, v) in values.iter().enumerate() {
            let colour = chart.series.get(k).map_or(GREY, |s| s.1);
            let w = ((v.max(0.0) * scale) as f32).max(0.5);
            let by = y + ROW_H * k as f32 + 2.0;
            l.ops().push(Op::Rect {
                x: x0,
                y: by,
                w,
                h: ROW_H - 5.0,
                colour,
            });
            l.text(
                x0 + w + 4.0,
                by + ROW_H - 7.5,
                7.0,
                false,
                GREY,
                chart.unit.text(*v),
            );
        }
        y += per_row;
    }
    l.ops().push(Op::Line {
        points: vec![(x0, y0), (x0, y)],
        width: 0.8,
        colour: RULE,
    });
    for (k, (name, colour)) in chart.series.iter().enumerate() {
        let ly = y0 + 6.0 + 14.0 * k as f32;
        l.ops().push(Op::Rect {
            x: x1 + 90.0,
            y: ly - 4.0,
            w: 14.0,
            h: 7.0,
            colour: *colour,
        });
        l.text(x1 + 108.0, ly + 2.5, 8.0, false, BLACK, name.clone());
    }
    l.y = y + 8.0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(BarUnit::Ratio.text(2.456), "2.46");
        assert_eq!(BarUnit::Percent.text(0.0125), "1.25 %");
        assert!(
            BarUnit::Money(Currency::EUR)
                .text(1_234_500_000.0)
                .contains("1,234.50")
        );
    }
}
