//! The PDF export: an analytics answer as an A4 landscape report — a
//! heading (report, organisation, period, time zone, filters, generation
//! time), revenue-vs-spend line charts and the bars of breakdowns and
//! rankings drawn as vector paths (`bars`), and the
//! answer's tables paginated with their header row repeated on every page,
//! "Page n of N" in every footer. Pure: the writer fills a buffer.
//!
//! Written with krilla (docs/analytics.md says why, with the measurements).
//! Text is set in DejaVu Sans Condensed, embedded in the binary
//! (`fonts/`, Bitstream Vera licence) and subset into each file with a
//! ToUnicode map, so the text can be searched and extracted and nothing is
//! read from disk or the network at run time. Layout happens first (every
//! page as a list of drawing operations), so the page count is known when
//! the footers are written.

pub mod bars;

use std::collections::BTreeMap;

use kiki_core::{Currency, Money};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, LineJoin, Stroke};
use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};
use time::{Date, OffsetDateTime};

use super::export::{Cell, Kind, Table};
use super::{DayPoint, DrillDown, PeriodView, SeriesPoint, TimeSeries, day_text};

/// The media type of a PDF.
pub const PDF_MEDIA_TYPE: &str = "application/pdf";

static REGULAR: &[u8] = include_bytes!("../../../fonts/DejaVuSansCondensed.ttf");
static BOLD: &[u8] = include_bytes!("../../../fonts/DejaVuSansCondensed-Bold.ttf");

/// A4 landscape, in points.
const PAGE_W: f32 = 841.89;
const PAGE_H: f32 = 595.28;
const MARGIN: f32 = 36.0;
/// Where content stops: the footer lives below.
const CONTENT_BOTTOM: f32 = PAGE_H - MARGIN - 18.0;
const TABLE_FONT: f32 = 8.0;
const MIN_TABLE_FONT: f32 = 5.5;
const CELL_PAD: f32 = 4.0;
const CHART_H: f32 = 170.0;

/// What a report prints besides its tables and charts.
#[derive(Debug, Clone)]
pub struct Heading {
    /// The report, e.g. "Time series".
    pub title: String,
    pub organisation: String,
    pub period: PeriodView,
    pub time_zone: Option<String>,
    /// The query's filters and options as (name, value), in print order.
    pub filters: Vec<(String, String)>,
    pub generated_at: OffsetDateTime,
}

/// A chart of a report: lines over dated buckets, or bars per group.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    Line(LineChart),
    Bars(bars::BarChart),
}

/// A line chart of amounts in one currency over dated buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub currency: Currency,
    pub labels: Vec<Date>,
    /// (name, colour, micros per label).
    pub series: Vec<(String, [u8; 3], Vec<i64>)>,
}

const SPEND_COLOUR: [u8; 3] = [0xC0, 0x39, 0x2B];
const REVENUE_COLOUR: [u8; 3] = [0x1F, 0x5F, 0xA8];

/// A label's day, spend and revenue (micros).
type DayAmounts = (Date, i64, i64);

/// Revenue and spend per label, one chart per currency (at most four).
fn revenue_vs_spend<'a>(
    what: &str,
    points: impl Iterator<Item = (Date, &'a super::MetricSet)>,
) -> Vec<LineChart> {
    let mut by_currency: BTreeMap<String, (Currency, Vec<DayAmounts>)> = BTreeMap::new();
    for (d, m) in points {
        by_currency
            .entry(m.currency.as_str().to_owned())
            .or_insert_with(|| (m.currency, Vec::new()))
            .1
            .push((d, m.spend.micros, m.revenue.micros));
    }
    by_currency
        .into_values()
        .take(4)
        .map(|(currency, pts)| LineChart {
            title: format!("Revenue vs spend {what} ({currency})"),
            currency,
            labels: pts.iter().map(|p| p.0).collect(),
            series: vec![
                (
                    "Revenue".into(),
                    REVENUE_COLOUR,
                    pts.iter().map(|p| p.2).collect(),
                ),
                (
                    "Spend".into(),
                    SPEND_COLOUR,
                    pts.iter().map(|p| p.1).collect(),
                ),
            ],
        })
        .collect()
}

impl TimeSeries {
    /// Revenue vs spend per bucket, a chart per currency.
    pub fn charts(&self) -> Vec<LineChart> {
        let per = match self.granularity {
            kiki_analytics::Granularity::Day => "by day",
            kiki_analytics::Granularity::Week => "by week",
            kiki_analytics::Granularity::Month => "by month",
        };
        revenue_vs_spend(
            per,
            self.points
                .iter()
                .map(|p: &SeriesPoint| (p.start, &p.metrics)),
        )
    }
}

impl DrillDown {
    /// Revenue vs spend per day, a chart per currency.
    pub fn charts(&self) -> Vec<LineChart> {
        revenue_vs_spend(
            "by day",
            self.daily.iter().map(|p: &DayPoint| (p.day, &p.metrics)),
        )
    }
}

/// One drawing operation, in points from the page's top left corner.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        colour: [u8; 3],
        text: String,
    },
    Line {
        points: Vec<(f32, f32)>,
        width: f32,
        colour: [u8; 3],
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: [u8; 3],
    },
}

/// The advance width of `text` in a font at `size`.
fn text_width(bold: bool, text: &str, size: f32) -> f32 {
    let Ok(font) = skrifa::FontRef::new(if bold { BOLD } else { REGULAR }) else {
        return text.chars().count() as f32 * size * 0.55;
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    text.chars()
        .map(|c| {
            charmap
                .map(c)
                .and_then(|g| metrics.advance_width(g))
                .unwrap_or(size * 0.55)
        })
        .sum()
}

const BLACK: [u8; 3] = [0x1A, 0x1A, 0x1A];
const GREY: [u8; 3] = [0x6B, 0x6B, 0x6B];
const RULE: [u8; 3] = [0xC8, 0xC8, 0xC8];
const HEADER_BG: [u8; 3] = [0xDD, 0xEB, 0xF7];
const STRIPE: [u8; 3] = [0xF4, 0xF6, 0xF8];

/// Pages being laid out.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
    running_title: String,
}

impl Layout {
    fn new(running_title: String) -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: MARGIN,
            running_title,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: [u8; 3], text: String) {
        self.ops().push(Op::Text {
            x,
            y,
            size,
            bold,
            colour,
            text,
        });
    }

    /// A new page, with the report's name at its top.
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        let title = self.running_title.clone();
        self.text(MARGIN, MARGIN + 8.0, 8.0, false, GREY, title);
        self.y = MARGIN + 20.0;
    }

    /// Starts a new page unless `height` still fits on this one.
    fn ensure(&mut self, height: f32) {
        if self.y + height > CONTENT_BOTTOM {
            self.new_page();
        }
    }
}

/// A cell as printed: amounts in the row's currency, ratios rounded,
/// counts grouped, ids shortened (the CSV and workbook keep them whole).
fn cell_text(cell: &Cell, kind: Kind, column: &str, currency: Option<Currency>) -> String {
    match cell {
        Cell::Text(s) if column.ends_with("_id") && s.len() == 36 => {
            format!("{}…", &s[..8])
        }
        Cell::Text(s) => s.clone(),
        Cell::Date(d) => day_text(*d),
        Cell::Integer(i) => grouped(*i),
        Cell::Number(f) if kind == Kind::Percent => format!("{:.2}%", f * 100.0),
        Cell::Number(f) => format!("{f:.2}"),
        Cell::Micros(m) => match currency {
            Some(c) => Money::from_micros(*m, c).text().to_string(),
            None => super::export::micros_text(*m),
        },
        Cell::Empty => "–".into(),
    }
}

fn grouped(i: i64) -> String {
    let digits = i.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if i < 0 {
        out.push('-');
    }
    for (n, c) in digits.chars().enumerate() {
        if n > 0 && (digits.len() - n).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A column name as a header: `first_day` → "First day", `roas` → "ROAS".
fn header_text(name: &str) -> String {
    match name {
        "roas" | "cpa" | "ctr" | "cpc" | "cpm" | "cvr" => name.to_uppercase(),
        _ => {
            let spaced = name.replace('_', " ");
            let spaced = spaced.strip_suffix(" id").map_or(spaced.clone(), |s| {
                if s == "external" {
                    "external id".to_owned()
                } else {
                    s.to_owned()
                }
            });
            let mut c = spaced.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        }
    }
}

fn numeric(kind: Kind) -> bool {
    !matches!(kind, Kind::Text | Kind::Date)
}

/// Lays one table out: its title, then rows page by page, the header row
/// again at the top of every page the table continues on.
fn lay_table(l: &mut Layout, table: &Table) {
    let currency_col = table.columns.iter().position(|(n, _)| n == "currency");
    // Columns with no value in any row are left out (e.g. ad ids in a
    // campaign breakdown); the CSV and workbook keep them.
    let shown: Vec<usize> = (0..table.columns.len())
        .filter(|&c| {
            table.rows.is_empty()
                || table
                    .rows
                    .iter()
                    .any(|r| !matches!(r.get(c), Some(Cell::Empty) | None))
        })
        .collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            let currency = currency_col.and_then(|c| match r.get(c) {
                Some(Cell::Text(s)) => Currency::parse_exact(s).ok(),
                _ => None,
            });
            shown
                .iter()
                .map(|&c| {
                    let (name, kind) = &table.columns[c];
                    r.get(c)
                        .map_or_else(String::new, |cell| cell_text(cell, *kind, name, currency))
                })
                .collect()
        })
        .collect();
    let headers: Vec<String> = shown
        .iter()
        .map(|&c| header_text(&table.columns[c].0))
        .collect();
    let kinds: Vec<Kind> = shown.iter().map(|&c| table.columns[c].1).collect();

    // Widths at the base size, then one scale so the table fits the page.
    let mut widths: Vec<f32> = headers
        .iter()
        .map(|h| text_width(true, h, TABLE_FONT))
        .collect();
    for r in &rows {
        for (i, s) in r.iter().enumerate() {
            widths[i] = widths[i].max(text_width(false, s, TABLE_FONT));
        }
    }
    let avail = PAGE_W - 2.0 * MARGIN;
    let natural: f32 = widths.iter().map(|w| w + 2.0 * CELL_PAD).sum();
    let size = if natural > avail {
        (TABLE_FONT * avail / natural).max(MIN_TABLE_FONT)
    } else {
        TABLE_FONT
    };
    let scale = size / TABLE_FONT;
    let widths: Vec<f32> = widths.iter().map(|w| w * scale + 2.0 * CELL_PAD).collect();
    let row_h = size * 1.7;

    let title_h = 18.0;
    l.ensure(title_h + 2.0 * row_h);
    let y = l.y + 12.0;
    l.text(MARGIN, y, 11.0, true, BLACK, table.name.clone());
    l.y += title_h;

    let header = |l: &mut Layout| {
        let y = l.y;
        let total: f32 = widths.iter().sum();
        l.ops().push(Op::Rect {
            x: MARGIN,
            y,
            w: total,
            h: row_h,
            colour: HEADER_BG,
        });
        let mut x = MARGIN;
        for (i, h) in headers.iter().enumerate() {
            let tx = if numeric(kinds[i]) {
                x + widths[i] - CELL_PAD - text_width(true, h, size)
            } else {
                x + CELL_PAD
            };
            l.text(tx, y + row_h * 0.68, size, true, BLACK, h.clone());
            x += widths[i];
        }
        l.ops().push(Op::Line {
            points: vec![(MARGIN, y + row_h), (MARGIN + total, y + row_h)],
            width: 0.6,
            colour: GREY,
        });
        l.y += row_h;
    };
    header(l);
    if rows.is_empty() {
        l.text(
            MARGIN + CELL_PAD,
            l.y + row_h * 0.68,
            size,
            false,
            GREY,
            "No rows for this period and these filters.".into(),
        );
        l.y += row_h;
    }
    for (n, r) in rows.iter().enumerate() {
        if l.y + row_h > CONTENT_BOTTOM {
            l.new_page();
            header(l);
        }
        let y = l.y;
        if n % 2 == 1 {
            l.ops().push(Op::Rect {
                x: MARGIN,
                y,
                w: widths.iter().sum(),
                h: row_h,
                colour: STRIPE,
            });
        }
        let mut x = MARGIN;
        for (i, s) in r.iter().enumerate() {
            let tx = if numeric(kinds[i]) {
                x + widths[i] - CELL_PAD - text_width(false, s, size)
            } else {
                x + CELL_PAD
            };
            l.text(tx, y + row_h * 0.68, size, false, BLACK, s.clone());
            x += widths[i];
        }
        l.y += row_h;
    }
    l.y += 14.0;
}

/// A round step for about four intervals up to `max` (1, 2 or 5 × 10ⁿ
/// micros of a whole unit, at least one minor unit).
/// A table whose last column is this one holds sentences (the summary's
/// basis): printed as wrapped paragraphs, each under its other cells as a
/// bold label, not as a table row a page could not hold.
const NOTE_COLUMN: &str = "basis";

/// Words of `text` in lines no wider than `width` at `size` (a word longer
/// than a line gets a line of its own).
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(false, &candidate, size) > width {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn lay_notes(l: &mut Layout, table: &Table) {
    const SIZE: f32 = 8.5;
    let line_h = SIZE * 1.45;
    let width = PAGE_W - 2.0 * MARGIN;
    l.ensure(18.0 + 3.0 * line_h);
    let y = l.y + 12.0;
    l.text(MARGIN, y, 11.0, true, BLACK, table.name.clone());
    l.y += 18.0;
    for row in &table.rows {
        let Some((Cell::Text(sentence), labels)) = row.split_last() else {
            continue;
        };
        let label = labels
            .iter()
            .map(|c| cell_text(c, Kind::Text, "", None))
            .collect::<Vec<_>>()
            .join(" · ");
        let lines = wrap(sentence, SIZE, width);
        l.ensure(line_h * (lines.len() + 1) as f32);
        let y = l.y + SIZE;
        l.text(MARGIN, y, SIZE, true, BLACK, label);
        l.y += line_h;
        for line in lines {
            l.ensure(line_h);
            let y = l.y + SIZE;
            l.text(MARGIN, y, SIZE, false, BLACK, line);
            l.y += line_h;
        }
        l.y += line_h * 0.5;
    }
    l.y += 8.0;
}

fn nice_step(max: i64) -> i64 {
    let raw = (max.max(1) as f64 / 4.0).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (step as i64).max(10_000)
}

/// Lays a line chart out: axes, amount ticks in the currency, first,
/// middle and last labels, one polyline (with point markers for short
/// series) per series, and a legend.
fn lay_chart(l: &mut Layout, chart: &LineChart) {
    l.ensure(CHART_H + 24.0);
    let top = l.y + 12.0;
    l.text(MARGIN, top, 11.0, true, BLACK, chart.title.clone());
    let max = chart
        .series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .max()
        .unwrap_or(0)
        .max(0);
    let step = nice_step(max);
    let ticks = (max + step - 1) / step;
    let ticks = ticks.max(1);
    let y_max = step * ticks;
    let tick_labels: Vec<String> = (0..=ticks)
        .map(|t| {
            Money::from_micros(t * step, chart.currency)
                .text()
                .to_string()
        })
        .collect();
    let label_w = tick_labels
        .iter()
        .map(|s| text_width(false, s, 7.0))
        .fold(0.0, f32::max);
    let (x0, x1) = (MARGIN + label_w + 8.0, PAGE_W - MARGIN - 90.0);
    let (y0, y1) = (top + 12.0, top + CHART_H - 24.0);
    let y_of = |v: i64| y1 - (v as f64 / y_max as f64) as f32 * (y1 - y0);
    let n = chart.labels.len();
    let x_of = |i: usize| {
        if n <= 1 {
            (x0 + x1) / 2.0
        } else {
            x0 + (x1 - x0) * i as f32 / (n - 1) as f32
        }
    };
    for (t, label) in tick_labels.iter().enumerate() {
        let y = y_of(t as i64 * step);
        l.ops().push(Op::Line {
            points: vec![(x0, y), (x1, y)],
            width: if t == 0 { 0.8 } else { 0.3 },
            colour: if t == 0 { GREY } else { RULE },
        });
        let w = text_width(false, label, 7.0);
        l.text(x0 - 4.0 - w, y + 2.5, 7.0, false, GREY, label.clone());
    }
    l.ops().push(Op::Line {
        points: vec![(x0, y0), (x0, y1)],
        width: 0.8,
        colour: GREY,
    });
    let mut shown: Vec<usize> = vec![0, n / 2, n.saturating_sub(1)];
    shown.dedup();
    for i in shown.into_iter().filter(|i| *i < n) {
        let s = day_text(chart.labels[i]);
        let w = text_width(false, &s, 7.0);
        let x = (x_of(i) - w / 2.0).clamp(x0 - w / 2.0, x1 - w / 2.0);
        l.text(x, y1 + 11.0, 7.0, false, GREY, s);
    }
    for (k, (name, colour, values)) in chart.series.iter().enumerate() {
        let points: Vec<(f32, f32)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (x_of(i), y_of(*v)))
            .collect();
        if points.len() > 1 {
            l.ops().push(Op::Line {
                points: points.clone(),
                width: 1.4,
                colour: *colour,
            });
        }
        if points.len() <= 62 {
            for (x, y) in &points {
                l.ops().push(Op::Rect {
                    x: x - 1.6,
                    y: y - 1.6,
                    w: 3.2,
                    h: 3.2,
                    colour: *colour,
                });
            }
        }
        let ly = y0 + 6.0 + 14.0 * k as f32;
        l.ops().push(Op::Line {
            points: vec![(x1 + 12.0, ly), (x1 + 30.0, ly)],
            width: 2.0,
            colour: *colour,
        });
        l.text(x1 + 34.0, ly + 2.5, 8.0, false, BLACK, name.clone());
    }
    l.y = top + CHART_H;
}

/// The whole report as PDF bytes.
pub fn pdf(heading: &Heading, charts: &[Chart], tables: &[Table]) -> Result<Vec<u8>, String> {
    let period = format!(
        "{} to {} ({} day{})",
        day_text(heading.period.since),
        day_text(heading.period.until),
        heading.period.days,
        if heading.period.days == 1 { "" } else { "s" }
    );
    let mut l = Layout::new(format!(
        "{} · {} · {}",
        heading.title, heading.organisation, period
    ));
    l.text(
        MARGIN,
        MARGIN + 14.0,
        16.0,
        true,
        BLACK,
        format!("KIKI analytics: {}", heading.title),
    );
    l.y = MARGIN + 34.0;
    let generated = heading
        .generated_at
        .to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default();
    let mut lines = vec![
        ("Organisation", heading.organisation.clone()),
        ("Period", period.clone()),
    ];
    if let Some(tz) = &heading.time_zone {
        lines.push(("Time zone", tz.clone()));
    }
    let filters = if heading.filters.is_empty() {
        "none".to_owned()
    } else {
        heading
            .filters
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    lines.push(("Filters", filters));
    lines.push(("Generated", generated.clone()));
    for (k, v) in lines {
        let y = l.y;
        l.text(MARGIN, y, 9.0, true, BLACK, format!("{k}:"));
        l.text(MARGIN + 70.0, y, 9.0, false, BLACK, v);
        l.y += 13.0;
    }
    l.y += 8.0;
    for c in charts {
        match c {
            Chart::Line(c) => lay_chart(&mut l, c),
            Chart::Bars(c) => bars::lay_bars(&mut l, c),
        }
    }
    for t in tables {
        if t.columns.last().is_some_and(|(n, _)| n == NOTE_COLUMN) {
            lay_notes(&mut l, t);
        } else {
            lay_table(&mut l, t);
        }
    }

    let total = l.pages.len();
    let regular = Font::new(REGULAR.into(), 0).ok_or("the regular font cannot be read")?;
    let bold = Font::new(BOLD.into(), 0).ok_or("the bold font cannot be read")?;
    let mut doc = Document::new();
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("KIKI analytics: {}", heading.title))
            .creator("KIKI".into()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("the page size is invalid")?;
    for (i, ops) in l.pages.iter_mut().enumerate() {
        let footer_y = PAGE_H - MARGIN + 4.0;
        ops.push(Op::Text {
            x: MARGIN,
            y: footer_y,
            size: 7.5,
            bold: false,
            colour: GREY,
            text: format!("Generated {generated} for {}", heading.organisation),
        });
        let page = format!("Page {} of {total}", i + 1);
        let w = text_width(false, &page, 7.5);
        ops.push(Op::Text {
            x: PAGE_W - MARGIN - w,
            y: footer_y,
            size: 7.5,
            bold: false,
            colour: GREY,
            text: page,
        });
        let mut page = doc.start_page_with(settings.clone());
        let mut s = page.surface();
        for op in ops.iter() {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold: b,
                    colour,
                    text,
                } => {
                    s.set_fill(Some(fill(*colour)));
                    s.draw_text(
                        Point::from_xy(*x, *y),
                        if *b { bold.clone() } else { regular.clone() },
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Line {
                    points,
                    width,
                    colour,
                } => {
                    let mut pb = PathBuilder::new();
                    for (k, (x, y)) in points.iter().enumerate() {
                        if k == 0 {
                            pb.move_to(*x, *y);
                        } else {
                            pb.line_to(*x, *y);
                        }
                    }
                    if let Some(path) = pb.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(colour[0], colour[1], colour[2]).into(),
                            width: *width,
                            line_cap: LineCap::Round,
                            line_join: LineJoin::Round,
                            ..Stroke::default()
                        }));
                        s.draw_path(&path);
                        s.set_stroke(None);
                    }
                }
                Op::Rect { x, y, w, h, colour } => {
                    if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                        let mut pb = PathBuilder::new();
                        pb.push_rect(rect);
                        if let Some(path) = pb.finish() {
                            s.set_stroke(None);
                            s.set_fill(Some(fill(*colour)));
                            s.draw_path(&path);
                        }
                    }
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| format!("{e:?}"))
}

fn fill(colour: [u8; 3]) -> Fill {
    Fill {
        paint: rgb::Color::new(colour[0], colour[1], colour[2]).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_read_as_words() {
        assert_eq!(header_text("first_day"), "First day");
        assert_eq!(header_text("roas"), "ROAS");
        assert_eq!(header_text("campaign_id"), "Campaign");
        assert_eq!(header_text("external_id"), "External id");
    }

    #[test]
    fn cells_print_money_in_its_currency_and_ratios_rounded() {
        let usd = Some(Currency::USD);
        assert_eq!(
            cell_text(&Cell::Micros(1_234_567_890), Kind::Amount, "spend", usd),
            "$1,234.57"
        );
        assert_eq!(
            cell_text(&Cell::Number(0.0153), Kind::Percent, "ctr", usd),
            "1.53%"
        );
        assert_eq!(
            cell_text(&Cell::Integer(1_234_567), Kind::Integer, "clicks", usd),
            "1,234,567"
        );
        assert_eq!(cell_text(&Cell::Empty, Kind::Amount, "cpa", usd), "–");
    }

    #[test]
    fn sentences_wrap_at_word_boundaries_within_the_width() {
        let text = "Against the twin's no-new-spend baseline of 3 launched plans; spend outside them is not credited.";
        let lines = wrap(text, 8.5, 120.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert_eq!(lines.join(" "), text, "no word lost or split");
        for line in &lines {
            assert!(
                text_width(false, line, 8.5) <= 120.0 || !line.contains(' '),
                "{line}"
            );
        }
        assert!(wrap("", 8.5, 120.0).is_empty());
    }

    #[test]
    fn chart_steps_are_round() {
        assert_eq!(nice_step(400_000_000), 100_000_000);
        assert_eq!(nice_step(570_000_000), 200_000_000);
        assert_eq!(nice_step(0), 10_000);
    }
}
