//! The date range every report page shares, read from and written back to
//! the query string so a view can be shared as a link: a preset (`7d`,
//! `30d`, `90d`, `mtd`, `last_month`, `quarter`) or `custom` with `since`
//! and `until`; the comparison (`previous`, the period of the same length
//! just before; `none`; or `custom` with `compare_since` and
//! `compare_until`); the time zone whose calendar "today" is (`tz`); and
//! the active organisation (`org`). Pure: "today" is given.

use kiki_analytics_service::domain::CompareMode;
use kiki_analytics_service::service::Comparison;
use serde::Deserialize;
use time::{Date, Duration, Month};

/// The query string of a report page, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RangeQuery {
    pub org: Option<String>,
    pub range: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub compare: Option<String>,
    pub compare_since: Option<String>,
    pub compare_until: Option<String>,
    pub tz: Option<String>,
}

/// The presets, in the order the page lists them.
pub const PRESETS: [(&str, &str); 6] = [
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("mtd", "Month to date"),
    ("last_month", "Last month"),
    ("quarter", "Quarter to date"),
];

/// The default preset.
pub const DEFAULT_PRESET: &str = "30d";

/// A checked range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// A preset's key, or `custom`.
    pub preset: String,
    pub since: Date,
    pub until: Date,
    pub compare: Comparison,
    /// The IANA zone (checked by the analytics service).
    pub tz: String,
    /// The `org` parameter as given (checked when the session is read).
    pub org: Option<uuid::Uuid>,
}

/// `YYYY-MM-DD`.
pub fn parse_date(field: &str, s: &str) -> Result<Date, String> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &f).map_err(|_| format!("`{field}` must be a date as YYYY-MM-DD."))
}

fn text(d: Date) -> String {
    kiki_analytics_service::domain::day_text(d)
}

fn first_of_month(d: Date) -> Date {
    d.replace_day(1).unwrap_or(d)
}

/// The first and last day of a preset, ending today.
pub fn preset_days(preset: &str, today: Date) -> Option<(Date, Date)> {
    Some(match preset {
        "7d" => (today - Duration::days(6), today),
        "30d" => (today - Duration::days(29), today),
        "90d" => (today - Duration::days(89), today),
        "mtd" => (first_of_month(today), today),
        "last_month" => {
            let last = first_of_month(today) - Duration::days(1);
            (first_of_month(last), last)
        }
        "quarter" => {
            let q = (u8::from(today.month()) - 1) / 3;
            let month = Month::try_from(q * 3 + 1).ok()?;
            (
                Date::from_calendar_date(today.year(), month, 1).ok()?,
                today,
            )
        }
        _ => return None,
    })
}

impl RangeQuery {
    /// The organisation the query acts in (`org`), if it names one.
    pub fn org_id(&self) -> Result<Option<uuid::Uuid>, String> {
        match self.org.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => uuid::Uuid::parse_str(s)
                .map(Some)
                .map_err(|_| "`org` must be an organisation id.".to_owned()),
        }
    }

    /// Checks the query: today is `today` in `tz` (the caller's choice or
    /// the default the analytics service was configured with).
    pub fn resolve(&self, today: Date, default_tz: &str) -> Result<Range, String> {
        let org = self.org_id()?;
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().filter(|s| !s.trim().is_empty())
        }
        let custom_dates = given(&self.since).is_some() || given(&self.until).is_some();
        let preset = match given(&self.range) {
            Some(p) => p.to_owned(),
            None if custom_dates => "custom".to_owned(),
            None => DEFAULT_PRESET.to_owned(),
        };
        let (since, until) = if preset == "custom" {
            let until = match given(&self.until) {
                Some(u) => parse_date("until", u)?,
                None => today,
            };
            let since = match given(&self.since) {
                Some(s) => parse_date("since", s)?,
                None => until - Duration::days(29),
            };
            if since > until {
                return Err("`since` must not be after `until`.".to_owned());
            }
            (since, until)
        } else {
            preset_days(&preset, today).ok_or_else(|| {
                format!(
                    "`range` must be one of {}, or custom.",
                    PRESETS.map(|(k, _)| k).join(", ")
                )
            })?
        };
        let compare = match given(&self.compare).unwrap_or("previous") {
            "previous" => Comparison {
                mode: CompareMode::Previous,
                since: None,
                until: None,
            },
            "none" => Comparison {
                mode: CompareMode::None,
                since: None,
                until: None,
            },
            "custom" => {
                let s = given(&self.compare_since)
                    .ok_or("`compare_since` is required with a custom comparison.")?;
                let u = given(&self.compare_until)
                    .ok_or("`compare_until` is required with a custom comparison.")?;
                let (s, u) = (
                    parse_date("compare_since", s)?,
                    parse_date("compare_until", u)?,
                );
                if s > u {
                    return Err("`compare_since` must not be after `compare_until`.".to_owned());
                }
                Comparison {
                    mode: CompareMode::Custom,
                    since: Some(s),
                    until: Some(u),
                }
            }
            _ => return Err("`compare` must be previous, none or custom.".to_owned()),
        };
        Ok(Range {
            preset,
            since,
            until,
            compare,
            tz: given(&self.tz).unwrap_or(default_tz).to_owned(),
            org,
        })
    }
}

/// Query-string pairs, URL-encoded.
fn encode(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

impl Range {
    /// The parameters that keep the organisation and zone (for navigation
    /// that picks its own range).
    fn base_pairs(&self, default_tz: &str) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(o) = self.org {
            out.push(("org", o.to_string()));
        }
        if self.tz != default_tz {
            out.push(("tz", self.tz.clone()));
        }
        out
    }

    fn compare_pairs(&self) -> Vec<(&'static str, String)> {
        match self.compare.mode {
            CompareMode::Previous => Vec::new(),
            CompareMode::None => vec![("compare", "none".into())],
            CompareMode::Custom => vec![
                ("compare", "custom".into()),
                (
                    "compare_since",
                    self.compare.since.map(text).unwrap_or_default(),
                ),
                (
                    "compare_until",
                    self.compare.until.map(text).unwrap_or_default(),
                ),
            ],
        }
    }

    /// This view's whole query string (no `?`).
    pub fn query(&self, default_tz: &str) -> String {
        let mut p = self.base_pairs(default_tz);
        p.push(("range", self.preset.clone()));
        if self.preset == "custom" {
            p.push(("since", text(self.since)));
            p.push(("until", text(self.until)));
        }
        p.extend(self.compare_pairs());
        encode(&p)
    }

    /// This view with another preset.
    pub fn with_preset(&self, preset: &str, default_tz: &str) -> String {
        let mut p = self.base_pairs(default_tz);
        p.push(("range", preset.to_owned()));
        p.extend(self.compare_pairs());
        encode(&p)
    }

    /// This view in another organisation.
    pub fn with_org(&self, org: uuid::Uuid, default_tz: &str) -> String {
        let mut r = self.clone();
        r.org = Some(org);
        r.query(default_tz)
    }

    pub fn since_text(&self) -> String {
        text(self.since)
    }

    pub fn until_text(&self) -> String {
        text(self.until)
    }

    pub fn compare_since_text(&self) -> String {
        self.compare.since.map(text).unwrap_or_default()
    }

    pub fn compare_until_text(&self) -> String {
        self.compare.until.map(text).unwrap_or_default()
    }

    pub fn compare_mode(&self) -> &'static str {
        self.compare.mode.as_str()
    }

    /// The preset's label, or "Custom range".
    pub fn label(&self) -> &'static str {
        PRESETS
            .iter()
            .find(|(k, _)| *k == self.preset)
            .map(|(_, l)| *l)
            .unwrap_or("Custom range")
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 03 - 01);

    fn q(pairs: &str) -> RangeQuery {
        serde_urlencoded::from_str(pairs).unwrap()
    }

    fn check(query: &str, since: Date, until: Date) {
        let r = q(query).resolve(TODAY, "UTC").unwrap();
        assert_eq!((r.since, r.until), (since, until), "{query}");
    }

    #[test]
    fn presets_end_today_in_the_zone() {
        check("", date!(2026 - 01 - 31), TODAY);
        check("range=7d", date!(2026 - 02 - 23), TODAY);
        check("range=30d", date!(2026 - 01 - 31), TODAY);
        check("range=90d", date!(2025 - 12 - 02), TODAY);
        check("range=mtd", date!(2026 - 03 - 01), TODAY);
        check(
            "range=last_month",
            date!(2026 - 02 - 01),
            date!(2026 - 02 - 28),
        );
        check("range=quarter", date!(2026 - 01 - 01), TODAY);
        check(
            "since=2026-02-27&until=2026-03-01",
            date!(2026 - 02 - 27),
            TODAY,
        );
        check(
            "range=custom&since=2026-02-01&until=2026-02-10",
            date!(2026 - 02 - 01),
            date!(2026 - 02 - 10),
        );
    }

    #[test]
    fn last_month_in_january_is_december() {
        assert_eq!(
            preset_days("last_month", date!(2026 - 01 - 15)),
            Some((date!(2025 - 12 - 01), date!(2025 - 12 - 31)))
        );
        assert_eq!(
            preset_days("quarter", date!(2026 - 11 - 15)),
            Some((date!(2026 - 10 - 01), date!(2026 - 11 - 15)))
        );
    }

    #[test]
    fn bad_ranges_name_their_field() {
        for (query, field) in [
            ("range=yesterday", "range"),
            ("since=2026-13-01", "since"),
            ("since=2026-03-02&until=2026-03-01", "since"),
            ("compare=custom&compare_since=2026-01-01", "compare_until"),
            ("compare=sometimes", "compare"),
            ("org=acme", "org"),
        ] {
            let e = q(query).resolve(TODAY, "UTC").unwrap_err();
            assert!(e.contains(&format!("`{field}`")), "{query}: {e}");
        }
    }

    #[test]
    fn the_query_string_round_trips() {
        let org = uuid::Uuid::now_v7();
        let query = format!(
            "org={org}&tz=Europe%2FParis&range=custom&since=2026-02-01&until=2026-02-10&compare=custom&compare_since=2026-01-01&compare_until=2026-01-10"
        );
        let r = q(&query).resolve(TODAY, "UTC").unwrap();
        assert_eq!(r.query("UTC"), query);
        assert_eq!(q(&r.query("UTC")).resolve(TODAY, "UTC").unwrap(), r);
        assert_eq!(
            r.with_preset("7d", "UTC"),
            format!(
                "org={org}&tz=Europe%2FParis&range=7d&compare=custom&compare_since=2026-01-01&compare_until=2026-01-10"
            )
        );
        let plain = q("").resolve(TODAY, "UTC").unwrap();
        assert_eq!(plain.query("UTC"), "range=30d");
        assert_eq!(plain.compare_mode(), "previous");
    }
}
