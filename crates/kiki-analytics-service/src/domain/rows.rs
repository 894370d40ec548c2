//! The daily rows report: the stored rows themselves (one object of a level
//! on one day, as its platform reported it), a page at a time in JSON with a
//! cursor to the next page, or every row of a selection as one streamed CSV
//! file. Pure: the cursor's text form and the CSV lines.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kiki_core::{Currency, Money};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

use super::export::micros_text;
use super::{Level, PeriodView, day_text};

/// One object's numbers on one day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DailyRowView {
    #[schema(value_type = String, format = Date)]
    #[serde(with = "super::iso_date")]
    pub day: Date,
    pub organisation_id: Uuid,
    #[schema(example = "meta")]
    pub platform: String,
    /// The platform's id of the object.
    pub external_id: String,
    /// KIKI's ids where KIKI launched the object.
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub spend: Money,
    /// The platform's attributed conversion value.
    pub revenue: Money,
    /// Possibly fractional (data-driven attribution).
    pub conversions: f64,
    #[serde(skip)]
    pub conversions_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// A page of daily rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowsPage {
    pub period: PeriodView,
    pub level: Level,
    /// Organisation, then platform, object and day.
    pub rows: Vec<DailyRowView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Where the next page starts: after this organisation's (platform,
/// object, day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsCursor {
    pub org: Uuid,
    pub platform: String,
    pub external_id: String,
    pub day: String,
}

impl RowsCursor {
    /// The cursor as an opaque URL-safe text.
    pub fn text(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// A cursor read back; `None` when the text is not one.
    pub fn parse(text: &str) -> Option<RowsCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let c: RowsCursor = serde_json::from_slice(&bytes).ok()?;
        super::parse_day(&c.day)?;
        Some(c)
    }
}

/// The CSV header line of the rows report.
pub const CSV_HEADER: &str = "day,organisation_id,platform,level,external_id,campaign_id,ad_set_id,ad_id,currency,spend,revenue,conversions,impressions,clicks\n";

/// A text cell as CSV: quoted when it holds a separator, a quote or a line
/// break, and a leading `=`, `+`, `-`, `@` (a spreadsheet formula) made
/// inert with a leading apostrophe.
fn cell(out: &mut String, text: &str) {
    let inert = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let needs_quotes = inert || text.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
        if inert {
            out.push('\'');
        }
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// Appends one row as a CSV line (amounts exact, from micros).
pub fn csv_line(out: &mut String, level: Level, r: &DailyRowView) {
    out.push_str(&day_text(r.day));
    out.push(',');
    out.push_str(&r.organisation_id.to_string());
    out.push(',');
    cell(out, &r.platform);
    out.push(',');
    out.push_str(level.as_str());
    out.push(',');
    cell(out, &r.external_id);
    for id in [&r.campaign_id, &r.ad_set_id, &r.ad_id] {
        out.push(',');
        cell(out, id.as_deref().unwrap_or(""));
    }
    out.push(',');
    out.push_str(r.currency.as_str());
    out.push(',');
    out.push_str(&micros_text(r.spend.micros));
    out.push(',');
    out.push_str(&micros_text(r.revenue.micros));
    out.push(',');
    out.push_str(&micros_text(r.conversions_micros));
    out.push(',');
    out.push_str(&r.impressions.to_string());
    out.push(',');
    out.push_str(&r.clicks.to_string());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(external_id: &str) -> DailyRowView {
        DailyRowView {
            day: time::macros::date!(2026 - 03 - 01),
            organisation_id: Uuid::nil(),
            platform: "meta".into(),
            external_id: external_id.into(),
            campaign_id: Some("c-1".into()),
            ad_set_id: None,
            ad_id: None,
            currency: Currency::USD,
            spend: Money::from_micros(12_345_678, Currency::USD),
            revenue: Money::from_micros(40_000_000, Currency::USD),
            conversions: 1.5,
            conversions_micros: 1_500_000,
            impressions: 1000,
            clicks: 17,
        }
    }

    #[test]
    fn a_line_is_exact_and_its_text_cells_are_quoted_and_inert() {
        let mut s = String::new();
        csv_line(&mut s, Level::Campaign, &row("=HYPERLINK(\"x\")"));
        assert_eq!(
            s,
            "2026-03-01,00000000-0000-0000-0000-000000000000,meta,campaign,\"'=HYPERLINK(\"\"x\"\")\",c-1,,,USD,12.345678,40,1.5,1000,17\n"
        );
        let fields = CSV_HEADER.trim_end().split(',').count();
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(s.as_bytes());
        let rec = rd.records().next().expect("a record").expect("parses");
        assert_eq!(rec.len(), fields);
    }

    #[test]
    fn a_cursor_reads_back_and_garbage_is_no_cursor() {
        let c = RowsCursor {
            org: Uuid::from_u128(7),
            platform: "google".into(),
            external_id: "123,4".into(),
            day: "2026-01-31".into(),
        };
        assert_eq!(RowsCursor::parse(&c.text()), Some(c));
        assert_eq!(RowsCursor::parse("not a cursor"), None);
        assert_eq!(RowsCursor::parse(""), None);
        let bad_day = RowsCursor {
            day: "2026-02-30".into(),
            ..RowsCursor::parse(
                &RowsCursor {
                    org: Uuid::nil(),
                    platform: "meta".into(),
                    external_id: "1".into(),
                    day: "2026-01-01".into(),
                }
                .text(),
            )
            .expect("a cursor")
        };
        assert_eq!(RowsCursor::parse(&bad_day.text()), None);
    }
}
