//! Exports: every analytics answer as tables ([`Table`]: typed columns and
//! cells), written as CSV (one table; amounts exact, from micros) or as an
//! Excel workbook (one sheet per table; numbers, dates and percentages as
//! typed cells with their number formats, a bold header row that stays
//! frozen, an autofilter). Pure: the writers fill a buffer.

use kiki_core::Money;
use rust_xlsxwriter::{Color, ExcelDateTime, Format, FormatBorder, Workbook, XlsxError};
use time::Date;

use super::{
    AmountChange, Breakdown, DayPoint, DrillDown, GroupRow, MetricSet, NumberChange, Performers,
    Summary, SummaryChange, SummaryFigures, TimeSeries,
};

/// The media type of an Excel workbook.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// How a column's cells are typed and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Date,
    Integer,
    /// A number shown with two decimals (conversions, ROAS).
    Decimal,
    /// A share shown as a percentage (CTR, CVR).
    Percent,
    /// An amount in the row's currency (its own column), shown with two
    /// decimals; exact to the micro in CSV.
    Amount,
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Date(Date),
    Integer(i64),
    Number(f64),
    /// Micros of an amount.
    Micros(i64),
    /// An undefined metric (a zero denominator) or a missing value.
    Empty,
}

/// One table: a sheet of a workbook, or a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The sheet's name (at most 31 characters).
    pub name: String,
    pub columns: Vec<(String, Kind)>,
    pub rows: Vec<Vec<Cell>>,
}

/// Micros as an exact decimal: `72727273` → `72.727273`, `5000000` → `5`.
pub fn micros_text(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let (units, frac) = (abs / 1_000_000, abs % 1_000_000);
    if frac == 0 {
        return format!("{sign}{units}");
    }
    let frac = format!("{frac:06}");
    format!("{sign}{units}.{}", frac.trim_end_matches('0'))
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Date(d) => super::day_text(*d),
            Cell::Integer(i) => i.to_string(),
            Cell::Number(f) => f.to_string(),
            Cell::Micros(m) => micros_text(*m),
            Cell::Empty => String::new(),
        }
    }
}

const METRIC_COLUMNS: [(&str, Kind); 12] = [
    ("currency", Kind::Text),
    ("spend", Kind::Amount),
    ("revenue", Kind::Amount),
    ("conversions", Kind::Decimal),
    ("impressions", Kind::Integer),
    ("clicks", Kind::Integer),
    ("roas", Kind::Decimal),
    ("cpa", Kind::Amount),
    ("ctr", Kind::Percent),
    ("cpc", Kind::Amount),
    ("cpm", Kind::Amount),
    ("cvr", Kind::Percent),
];

pub(crate) fn metric_cells(m: &MetricSet) -> Vec<Cell> {
    let num = |v: Option<f64>| v.map_or(Cell::Empty, Cell::Number);
    let money = |v: Option<Money>| v.map_or(Cell::Empty, |m| Cell::Micros(m.micros));
    vec![
        Cell::Text(m.currency.as_str().to_owned()),
        Cell::Micros(m.spend.micros),
        Cell::Micros(m.revenue.micros),
        Cell::Number(m.conversions),
        Cell::Integer(m.impressions),
        Cell::Integer(m.clicks),
        num(m.roas),
        money(m.cpa),
        num(m.ctr),
        money(m.cpc),
        money(m.cpm),
        num(m.cvr),
    ]
}

pub(crate) fn columns(first: &[(&str, Kind)]) -> Vec<(String, Kind)> {
    first
        .iter()
        .chain(METRIC_COLUMNS.iter())
        .map(|(n, k)| ((*n).to_owned(), *k))
        .collect()
}

fn opt(v: &Option<String>) -> Cell {
    v.as_ref().map_or(Cell::Empty, |s| Cell::Text(s.clone()))
}

const GROUP_COLUMNS: [(&str, Kind); 6] = [
    ("organisation_id", Kind::Text),
    ("platform", Kind::Text),
    ("external_id", Kind::Text),
    ("campaign_id", Kind::Text),
    ("ad_set_id", Kind::Text),
    ("ad_id", Kind::Text),
];

fn group_cells(r: &GroupRow) -> Vec<Cell> {
    let mut cells = vec![
        r.organisation_id
            .map_or(Cell::Empty, |o| Cell::Text(o.to_string())),
        opt(&r.platform),
        opt(&r.external_id),
        opt(&r.campaign_id),
        opt(&r.ad_set_id),
        opt(&r.ad_id),
    ];
    cells.extend(metric_cells(&r.metrics));
    cells
}

fn day_table(name: &str, points: &[DayPoint]) -> Table {
    Table {
        name: name.into(),
        columns: columns(&[("day", Kind::Date)]),
        rows: points
            .iter()
            .map(|p| {
                let mut cells = vec![Cell::Date(p.day)];
                cells.extend(metric_cells(&p.metrics));
                cells
            })
            .collect(),
    }
}

impl TimeSeries {
    pub fn tables(&self) -> Vec<Table> {
        vec![Table {
            name: "Time series".into(),
            columns: columns(&[
                ("start", Kind::Date),
                ("first_day", Kind::Date),
                ("last_day", Kind::Date),
            ]),
            rows: self
                .points
                .iter()
                .map(|p| {
                    let mut cells = vec![
                        Cell::Date(p.start),
                        Cell::Date(p.first_day),
                        Cell::Date(p.last_day),
                    ];
                    cells.extend(metric_cells(&p.metrics));
                    cells
                })
                .collect(),
        }]
    }
}

impl Summary {
    /// Three tables: "Summary" (one row per currency and figure: this
    /// period, the comparison's, the change and the relative change; the
    /// CSV export is this table), "Basis" (what the new-customer and uplift
    /// figures rest on, per currency and period) and "Margins" (the margin
    /// each organisation's profit figures use).
    pub fn tables(&self) -> Vec<Table> {
        let mut rows = Vec::new();
        let mut basis = Vec::new();
        for c in &self.currencies {
            let currency = c.currency.as_str();
            let now = summary_cells(&c.current);
            let before = c.previous.as_ref().map(summary_cells);
            let change = c.change.as_ref().map(change_cells);
            for (i, (figure, value)) in now.into_iter().enumerate() {
                let previous = before
                    .as_ref()
                    .and_then(|b| b.get(i))
                    .map_or(Cell::Empty, |(_, v)| v.clone());
                let (absolute, relative) = change
                    .as_ref()
                    .and_then(|ch| ch.iter().find(|(n, _, _)| *n == figure))
                    .map_or((Cell::Empty, Cell::Empty), |(_, a, r)| {
                        (a.clone(), r.clone())
                    });
                rows.push(vec![
                    Cell::Text(currency.to_owned()),
                    Cell::Text(figure.to_owned()),
                    value,
                    previous,
                    absolute,
                    relative,
                ]);
            }
            for (period, f) in std::iter::once(("current", &c.current))
                .chain(c.previous.iter().map(|p| ("previous", p)))
            {
                for (figure, sentence) in [
                    ("customers", &f.basis.customers),
                    ("uplift", &f.basis.uplift),
                ] {
                    if !sentence.is_empty() {
                        basis.push(vec![
                            Cell::Text(currency.to_owned()),
                            Cell::Text(period.to_owned()),
                            Cell::Text(figure.to_owned()),
                            Cell::Text(sentence.clone()),
                        ]);
                    }
                }
            }
        }
        let text = |n: &str| (n.to_owned(), Kind::Text);
        vec![
            Table {
                name: "Summary".into(),
                columns: vec![
                    text("currency"),
                    text("figure"),
                    ("current".into(), Kind::Decimal),
                    ("previous".into(), Kind::Decimal),
                    ("change".into(), Kind::Decimal),
                    ("relative_change".into(), Kind::Percent),
                ],
                rows,
            },
            Table {
                name: "Basis".into(),
                columns: vec![
                    text("currency"),
                    text("period"),
                    text("figure"),
                    text("basis"),
                ],
                rows: basis,
            },
            Table {
                name: "Margins".into(),
                columns: vec![
                    text("organisation_id"),
                    ("margin".into(), Kind::Percent),
                    text("assumed"),
                ],
                rows: self
                    .margins
                    .iter()
                    .map(|m| {
                        vec![
                            Cell::Text(m.organisation_id.to_string()),
                            Cell::Number(f64::from(m.margin_bps) / 10_000.0),
                            Cell::Text(if m.assumed { "yes" } else { "no" }.into()),
                        ]
                    })
                    .collect(),
            },
        ]
    }
}

/// A period's figures by name, in the order a summary lists them: amounts
/// as micros, counts as integers, ratios as numbers, a missing figure
/// empty.
fn summary_cells(f: &SummaryFigures) -> Vec<(&'static str, Cell)> {
    let m = &f.metrics;
    let money = |v: Option<kiki_core::Money>| v.map_or(Cell::Empty, |m| Cell::Micros(m.micros));
    let num = |v: Option<f64>| v.map_or(Cell::Empty, Cell::Number);
    let int = |v: Option<i64>| v.map_or(Cell::Empty, Cell::Integer);
    vec![
        ("spend", Cell::Micros(m.spend.micros)),
        ("revenue", Cell::Micros(m.revenue.micros)),
        ("conversions", Cell::Number(m.conversions)),
        ("impressions", Cell::Integer(m.impressions)),
        ("clicks", Cell::Integer(m.clicks)),
        ("roas", num(m.roas)),
        ("cpa", money(m.cpa)),
        ("ctr", num(m.ctr)),
        ("cpc", money(m.cpc)),
        ("cpm", money(m.cpm)),
        ("cvr", num(m.cvr)),
        ("gross_profit", Cell::Micros(f.gross_profit.micros)),
        (
            "profit_after_ad_spend",
            Cell::Micros(f.profit_after_ad_spend.micros),
        ),
        ("active_campaigns", Cell::Integer(f.active_campaigns)),
        ("new_customers", int(f.new_customers)),
        ("new_customers_valued", int(f.new_customers_valued)),
        ("mean_predicted_ltv", money(f.mean_predicted_ltv)),
        ("cac", money(f.cac)),
        ("ltv_to_cac", num(f.ltv_to_cac)),
        ("net_profit_uplift", money(f.net_profit_uplift)),
        ("fee", money(f.fee)),
        (
            "uplift_covered_spend",
            money(f.uplift_coverage.as_ref().map(|u| u.covered_spend)),
        ),
        (
            "uplift_coverage",
            num(f.uplift_coverage.as_ref().and_then(|u| u.share)),
        ),
    ]
}

/// The change of each figure that has one: (figure, absolute, relative).
fn change_cells(c: &SummaryChange) -> Vec<(&'static str, Cell, Cell)> {
    let rel = |v: Option<f64>| v.map_or(Cell::Empty, Cell::Number);
    let amount =
        |n: &'static str, a: &AmountChange| (n, Cell::Micros(a.absolute.micros), rel(a.relative));
    let amount_opt = |n: &'static str, a: &Option<AmountChange>| match a {
        Some(a) => amount(n, a),
        None => (n, Cell::Empty, Cell::Empty),
    };
    let number = |n: &'static str, x: &NumberChange| {
        (
            n,
            x.absolute.map_or(Cell::Empty, Cell::Number),
            rel(x.relative),
        )
    };
    vec![
        amount("spend", &c.spend),
        amount("revenue", &c.revenue),
        number("conversions", &c.conversions),
        number("impressions", &c.impressions),
        number("clicks", &c.clicks),
        number("roas", &c.roas),
        amount_opt("cpa", &c.cpa),
        number("ctr", &c.ctr),
        amount_opt("cpc", &c.cpc),
        amount_opt("cpm", &c.cpm),
        number("cvr", &c.cvr),
        amount("gross_profit", &c.gross_profit),
        amount("profit_after_ad_spend", &c.profit_after_ad_spend),
        number("active_campaigns", &c.active_campaigns),
        number("new_customers", &c.new_customers),
        amount_opt("mean_predicted_ltv", &c.mean_predicted_ltv),
        amount_opt("cac", &c.cac),
        number("ltv_to_cac", &c.ltv_to_cac),
        amount_opt("net_profit_uplift", &c.net_profit_uplift),
        amount_opt("fee", &c.fee),
    ]
}

impl Breakdown {
    pub fn tables(&self) -> Vec<Table> {
        if let Some(t) = self.value_table() {
            return vec![t];
        }
        let t = Table {
            name: format!("By {}", self.by.as_str().replace('_', " ")),
            columns: columns(&GROUP_COLUMNS),
            rows: self.rows.iter().map(group_cells).collect(),
        };
        if self.by == super::Dimension::Variant {
            return vec![super::variants::breakdown_table(self, t)];
        }
        vec![t]
    }
}

impl Performers {
    pub fn tables(&self) -> Vec<Table> {
        let mut first = vec![("rank", Kind::Integer), ("value", Kind::Decimal)];
        first.extend(GROUP_COLUMNS);
        vec![Table {
            name: format!("{} by {}", self.direction.as_str(), self.metric.as_str()),
            columns: columns(&first),
            rows: self
                .rows
                .iter()
                .map(|r| {
                    let mut cells = vec![
                        Cell::Integer(i64::try_from(r.rank).unwrap_or(i64::MAX)),
                        Cell::Number(r.value),
                    ];
                    cells.extend(group_cells(&r.row));
                    cells
                })
                .collect(),
        }]
    }
}

impl DrillDown {
    /// The daily rows first (the CSV export is that table), then the
    /// totals and the next level down.
    pub fn tables(&self) -> Vec<Table> {
        vec![
            day_table("Daily", &self.daily),
            Table {
                name: "Totals".into(),
                columns: columns(&[]),
                rows: self.totals.iter().map(metric_cells).collect(),
            },
            Table {
                name: match self.level {
                    super::DrillLevel::Organisation => "Campaigns".into(),
                    super::DrillLevel::Campaign => "Ad sets".into(),
                    super::DrillLevel::AdSet | super::DrillLevel::Ad => "Ads".into(),
                },
                columns: columns(&GROUP_COLUMNS),
                rows: self.children.iter().map(group_cells).collect(),
            },
        ]
    }
}

/// The CSV of a table, in chunks of at most `rows_per_chunk` rows (the
/// first chunk starts with the header): what a streamed download sends.
pub fn csv_chunks(table: &Table, rows_per_chunk: usize) -> Vec<Vec<u8>> {
    let write = |records: &mut dyn Iterator<Item = Vec<String>>| {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        for r in records {
            // Writing into memory cannot fail.
            let _ = w.write_record(&r);
        }
        w.into_inner().unwrap_or_default()
    };
    let header: Vec<String> = table.columns.iter().map(|(n, _)| n.clone()).collect();
    let mut out = vec![write(&mut std::iter::once(header))];
    for chunk in table.rows.chunks(rows_per_chunk.max(1)) {
        out.push(write(
            &mut chunk.iter().map(|r| r.iter().map(Cell::text).collect()),
        ));
    }
    out
}

/// An Excel workbook with one sheet per table.
pub fn xlsx(tables: &[Table]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x00DD_EBF7))
        .set_border_bottom(FormatBorder::Thin);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let integer = Format::new().set_num_format("#,##0");
    let decimal = Format::new().set_num_format("#,##0.00");
    let percent = Format::new().set_num_format("0.00%");
    let amount = Format::new().set_num_format("#,##0.00");
    for t in tables {
        let ws = wb.add_worksheet();
        let name: String = t
            .name
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
            .take(31)
            .collect();
        ws.set_name(name)?;
        for (c, (n, k)) in t.columns.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string_with_format(0, col, n, &header)?;
            let width = match k {
                Kind::Text if n.ends_with("_id") => 38.0,
                Kind::Text => 14.0,
                Kind::Date => 12.0,
                _ => 14.0,
            };
            ws.set_column_width(col, width)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let rr = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (c, cell) in row.iter().enumerate() {
                let col = u16::try_from(c).unwrap_or(u16::MAX);
                let kind = t.columns.get(c).map_or(Kind::Text, |(_, k)| *k);
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(rr, col, s)?;
                    }
                    Cell::Date(d) => {
                        let x = ExcelDateTime::from_ymd(
                            u16::try_from(d.year()).unwrap_or(1900),
                            u8::from(d.month()),
                            d.day(),
                        )?;
                        ws.write_datetime_with_format(rr, col, &x, &date)?;
                    }
                    Cell::Integer(i) => {
                        ws.write_number_with_format(rr, col, *i as f64, &integer)?;
                    }
                    Cell::Number(f) => {
                        let fmt = if kind == Kind::Percent {
                            &percent
                        } else {
                            &decimal
                        };
                        ws.write_number_with_format(rr, col, *f, fmt)?;
                    }
                    Cell::Micros(m) => {
                        ws.write_number_with_format(rr, col, *m as f64 / 1e6, &amount)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
        if !t.columns.is_empty() {
            let last_row = u32::try_from(t.rows.len()).unwrap_or(u32::MAX);
            let last_col = u16::try_from(t.columns.len() - 1).unwrap_or(u16::MAX);
            ws.autofilter(0, 0, last_row, last_col)?;
        }
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_are_written_exactly() {
        assert_eq!(micros_text(72_727_273), "72.727273");
        assert_eq!(micros_text(5_000_000), "5");
        assert_eq!(micros_text(1_500_000), "1.5");
        assert_eq!(micros_text(-250_000), "-0.25");
        assert_eq!(micros_text(0), "0");
    }

    fn table() -> Table {
        Table {
            name: "Daily".into(),
            columns: vec![
                ("day".into(), Kind::Date),
                ("name".into(), Kind::Text),
                ("spend".into(), Kind::Amount),
                ("ctr".into(), Kind::Percent),
            ],
            rows: vec![
                vec![
                    Cell::Date(time::macros::date!(2026 - 03 - 01)),
                    Cell::Text("a, \"quoted\"".into()),
                    Cell::Micros(12_340_000),
                    Cell::Number(0.015),
                ],
                vec![
                    Cell::Date(time::macros::date!(2026 - 03 - 02)),
                    Cell::Text("b".into()),
                    Cell::Micros(0),
                    Cell::Empty,
                ],
            ],
        }
    }

    #[test]
    fn csv_has_a_header_and_quoted_cells_in_chunks() {
        let chunks = csv_chunks(&table(), 1);
        assert_eq!(chunks.len(), 3);
        let all: Vec<u8> = chunks.concat();
        let text = String::from_utf8(all).unwrap();
        assert_eq!(
            text,
            "day,name,spend,ctr\n2026-03-01,\"a, \"\"quoted\"\"\",12.34,0.015\n2026-03-02,b,0,\n"
        );
    }

    #[test]
    fn a_workbook_is_a_zip_with_one_sheet_per_table() {
        let mut second = table();
        second.name = "Totals: all/any".into();
        let bytes = xlsx(&[table(), second]).unwrap();
        assert_eq!(&bytes[..2], b"PK", "an .xlsx is a zip archive");
    }
}
