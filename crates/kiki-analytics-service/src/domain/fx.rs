//! The exchange-rate API's request and answer types, the `fx` object a
//! converted answer carries, and the reader of the European Central Bank's
//! reference-rate files (pure: the XML text in, dated EUR → X rates out).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kiki_analytics::fx::{Rate, SourceUse, rate_text};
use kiki_core::{Currency, FieldError};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use super::{day_text, parse_day};

/// Most rates one `PUT` writes.
pub const MAX_BATCH: usize = 5_000;

/// One rate to write: units of `quote` per unit of `base` on `day`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AnalyticsFxRateInput)]
pub struct FxRateInput {
    /// The calendar day (`YYYY-MM-DD`).
    #[schema(example = "2026-03-02", format = Date)]
    pub day: String,
    /// ISO 4217.
    #[schema(example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub base: String,
    /// ISO 4217, not the base.
    #[schema(example = "USD", pattern = "^[A-Za-z]{3}$")]
    pub quote: String,
    /// A decimal greater than 0 with up to 9 decimal places.
    #[schema(example = "1.0812", pattern = r"^[0-9]{1,9}(\.[0-9]{1,9})?$")]
    pub rate: String,
}

/// `PUT /v1/analytics/fx-rates`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AnalyticsFxRatesWrite, example = json!({
    "rates": [
        {"day": "2026-03-02", "base": "EUR", "quote": "USD", "rate": "1.0812"},
        {"day": "2026-03-02", "base": "GBP", "quote": "USD", "rate": "1.2655"}
    ]
}))]
pub struct PutFxRates {
    /// 1 to 5000 rates; a rate of the same pair and day is replaced. All
    /// are written, or none.
    #[schema(min_items = 1, max_items = 5000)]
    pub rates: Vec<FxRateInput>,
}

/// A rate checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedRate {
    pub day: Date,
    pub base: Currency,
    pub quote: Currency,
    pub rate: Rate,
}

impl PutFxRates {
    /// Every rate checked, or every problem named (`rates[3].rate`).
    pub fn check(&self) -> Result<Vec<CheckedRate>, Vec<FieldError>> {
        let mut problems = Vec::new();
        if self.rates.is_empty() || self.rates.len() > MAX_BATCH {
            problems.push(FieldError::new(
                "rates",
                format!("Must hold from 1 to {MAX_BATCH} rates."),
            ));
            return Err(problems);
        }
        let mut out = Vec::with_capacity(self.rates.len());
        for (i, r) in self.rates.iter().enumerate() {
            let day = parse_day(&r.day);
            if day.is_none() {
                problems.push(FieldError::new(
                    format!("rates[{i}].day"),
                    "Must be a calendar day, YYYY-MM-DD.",
                ));
            }
            let currency = |name: &str, v: &str, problems: &mut Vec<FieldError>| {
                let c = Currency::parse_exact(v).ok();
                if c.is_none() {
                    problems.push(FieldError::new(
                        format!("rates[{i}].{name}"),
                        "Must be a three-letter ISO 4217 code.",
                    ));
                }
                c
            };
            let base = currency("base", &r.base, &mut problems);
            let quote = currency("quote", &r.quote, &mut problems);
            if base.is_some() && base == quote {
                problems.push(FieldError::new(
                    format!("rates[{i}].quote"),
                    "Must differ from the base.",
                ));
            }
            let rate = match Rate::parse(&r.rate) {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(FieldError::new(format!("rates[{i}].rate"), e.sentence()));
                    None
                }
            };
            if let (Some(day), Some(base), Some(quote), Some(rate)) = (day, base, quote, rate) {
                out.push(CheckedRate {
                    day,
                    base,
                    quote,
                    rate,
                });
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }
}

/// The answer to a write or an import.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsFxRatesWritten)]
pub struct FxRatesWritten {
    /// Rates written (new or replaced).
    #[schema(example = 2)]
    pub written: usize,
    /// `manual` or `ecb`.
    #[schema(example = "manual")]
    pub source: String,
    /// The first and last day written; `null` when nothing was.
    #[schema(value_type = Option<String>, format = Date, example = "2026-03-02")]
    pub first_day: Option<String>,
    #[schema(value_type = Option<String>, format = Date, example = "2026-03-02")]
    pub last_day: Option<String>,
}

/// One stored rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsFxRate)]
pub struct FxRateView {
    #[schema(example = "2026-03-02", format = Date)]
    pub day: String,
    #[schema(example = "EUR")]
    pub base: String,
    #[schema(example = "USD")]
    pub quote: String,
    /// Units of the quote per unit of the base, exact.
    #[schema(example = "1.0812")]
    pub rate: String,
    /// `manual` or `ecb`.
    #[schema(example = "ecb")]
    pub source: String,
}

/// `GET /v1/analytics/fx-rates`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsFxRateList)]
pub struct FxRateList {
    /// In order of base, quote and day.
    pub items: Vec<FxRateView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Where the next page of rates starts: after this (base, quote, day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FxCursor {
    pub base: String,
    pub quote: String,
    pub day: String,
}

impl FxCursor {
    /// The cursor as an opaque URL-safe text.
    pub fn text(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// A cursor read back; `None` when the text is not one.
    pub fn parse(text: &str) -> Option<FxCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let c: FxCursor = serde_json::from_slice(&bytes).ok()?;
        parse_day(&c.day)?;
        Some(c)
    }
}

/// What one source currency's conversion used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsFxSource)]
pub struct FxSourceView {
    /// The converted currency.
    #[schema(example = "USD")]
    pub currency: String,
    /// Days whose amounts were converted.
    #[schema(example = 90)]
    pub days_converted: usize,
    /// The oldest and newest stored rate day used (a day without its own
    /// rate uses the latest one before it).
    #[schema(example = "2026-09-01", format = Date)]
    pub first_rate_day: String,
    #[schema(example = "2026-11-30", format = Date)]
    pub last_rate_day: String,
    /// The lowest and highest rate used (target units per unit of the
    /// currency, up to 9 decimals; an inverse or cross rate as computed).
    #[schema(example = "0.9187")]
    pub min_rate: String,
    #[schema(example = "0.9412")]
    pub max_rate: String,
    /// The pairs or crosses used: `USD→EUR`, `USD→EUR (inverse of
    /// EUR→USD)`, `USD→EUR→GBP`.
    pub routes: Vec<String>,
    /// `manual`, `ecb`.
    pub sources: Vec<String>,
}

/// How a converted answer was converted (`convert_to`); `null` without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsFx)]
pub struct FxView {
    /// The currency every amount is in.
    #[schema(example = "EUR")]
    pub target: String,
    /// One entry per converted currency.
    pub converted: Vec<FxSourceView>,
    /// The same in a sentence.
    #[schema(
        example = "Converted to EUR from USD (90 days, ECB reference rates 2026-09-01 – 2026-11-30, USD→EUR (inverse of EUR→USD)), each day at that day's rate."
    )]
    pub basis: String,
}

impl FxView {
    pub fn of(target: &str, used: &BTreeMap<String, SourceUse>) -> FxView {
        FxView {
            target: target.to_owned(),
            converted: used
                .iter()
                .map(|(c, u)| FxSourceView {
                    currency: c.clone(),
                    days_converted: u.days.len(),
                    first_rate_day: day_text(u.first_rate_day),
                    last_rate_day: day_text(u.last_rate_day),
                    min_rate: rate_text(u.min_rate_nanos),
                    max_rate: rate_text(u.max_rate_nanos),
                    routes: u.routes.iter().cloned().collect(),
                    sources: u.sources.iter().map(|s| s.as_str().to_owned()).collect(),
                })
                .collect(),
            basis: kiki_analytics::fx::sentence(target, used),
        }
    }
}

/// One EUR → X reference rate read from an ECB file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcbRate {
    pub day: Date,
    pub currency: Currency,
    pub rate: Rate,
}

/// Reads the ECB's euro foreign exchange reference rates
/// (`eurofxref-daily.xml`, `eurofxref-hist-90d.xml`, `eurofxref-hist.xml`):
/// a `gesmes:Envelope` whose `Cube time="YYYY-MM-DD"` elements hold
/// `Cube currency="USD" rate="1.0812"` elements, each the units of the
/// currency per euro. A file without a single rate, or with a day, currency
/// or rate it cannot read, is refused with a sentence saying what.
pub fn parse_ecb(xml: &str) -> Result<Vec<EcbRate>, String> {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut day: Option<Date> = None;
    let mut envelope = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("the file is not well-formed XML ({e})"))?;
        let el = match &ev {
            Event::Start(e) | Event::Empty(e) => e.clone(),
            Event::Eof => break,
            _ => continue,
        };
        let name = el.name();
        let local = name.local_name();
        if local.as_ref() == "Envelope" {
            envelope = true;
        }
        if local.as_ref() != "Cube" {
            continue;
        }
        let mut time_attr = None;
        let mut currency = None;
        let mut rate = None;
        for a in el.attributes() {
            let a = a.map_err(|e| format!("an attribute cannot be read ({e})"))?;
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| format!("an attribute cannot be read ({e})"))?
                .into_owned();
            match a.key.local_name().as_ref() {
                "time" => time_attr = Some(value),
                "currency" => currency = Some(value),
                "rate" => rate = Some(value),
                _ => {}
            }
        }
        if let Some(t) = time_attr {
            day = Some(parse_day(&t).ok_or_else(|| format!("`{t}` is not a day (YYYY-MM-DD)"))?);
        }
        if let (Some(c), Some(r)) = (currency, rate) {
            let d = day.ok_or_else(|| format!("the rate of {c} is outside a dated Cube"))?;
            let currency = Currency::parse_exact(&c)
                .map_err(|_| format!("`{c}` is not an ISO 4217 currency"))?;
            let rate = Rate::parse(&r)
                .map_err(|e| format!("the rate `{r}` of {c} on {d}: {}", e.sentence()))?;
            out.push(EcbRate {
                day: d,
                currency,
                rate,
            });
        }
    }
    if !envelope {
        return Err("the file is not the ECB's reference-rate envelope (gesmes:Envelope)".into());
    }
    if out.is_empty() {
        return Err("the file holds no rate".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const DAILY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
    <Cube time="2026-03-03">
      <Cube currency="USD" rate="1.0812"/>
      <Cube currency="JPY" rate="157.12"/>
    </Cube>
    <Cube time="2026-03-02">
      <Cube currency="USD" rate="1.08"/>
    </Cube>
  </Cube>
</gesmes:Envelope>"#;

    #[test]
    fn the_ecb_file_gives_dated_euro_rates() {
        let got = parse_ecb(DAILY).unwrap();
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            EcbRate {
                day: date!(2026 - 03 - 03),
                currency: usd,
                rate: Rate::parse("1.0812").unwrap()
            }
        );
        assert_eq!(got[1].rate.nanos(), 157_120_000_000);
        assert_eq!(got[2].day, date!(2026 - 03 - 02));
    }

    #[test]
    fn a_broken_or_foreign_file_is_refused_with_a_reason() {
        let check = |xml: &str, part: &str| {
            let e = parse_ecb(xml).unwrap_err();
            assert!(e.contains(part), "{e}");
        };
        check(
            "<gesmes:Envelope><Cube><Cube time=\"2026-03-03\"></Cube></Cube></gesmes:Envelope>",
            "no rate",
        );
        check("<a></b>", "not well-formed");
        check("<html><body>Maintenance</body></html>", "envelope");
        check(
            "<gesmes:Envelope><Cube time=\"2026-13-03\"><Cube currency=\"USD\" rate=\"1\"/></Cube></gesmes:Envelope>",
            "not a day",
        );
        check(
            "<gesmes:Envelope><Cube time=\"2026-03-03\"><Cube currency=\"USD\" rate=\"-1\"/></Cube></gesmes:Envelope>",
            "the rate `-1` of USD",
        );
    }

    #[test]
    fn a_batch_names_each_bad_field() {
        let input = |day: &str, base: &str, quote: &str, rate: &str| FxRateInput {
            day: day.into(),
            base: base.into(),
            quote: quote.into(),
            rate: rate.into(),
        };
        let body = PutFxRates {
            rates: vec![
                input("2026-03-02", "EUR", "USD", "1.0812"),
                input("2026-02-30", "EUR", "USD", "1"),
                input("2026-03-02", "eur", "EUR", "1"),
                input("2026-03-02", "EUR", "USD", "0.0000000001"),
            ],
        };
        let fields: Vec<String> = body
            .check()
            .unwrap_err()
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["rates[1].day", "rates[2].quote", "rates[3].rate"]);
        assert!(PutFxRates { rates: vec![] }.check().is_err());
        let c = FxCursor {
            base: "EUR".into(),
            quote: "USD".into(),
            day: "2026-03-02".into(),
        };
        assert_eq!(FxCursor::parse(&c.text()), Some(c));
        assert_eq!(FxCursor::parse("garbage"), None);
    }
}
