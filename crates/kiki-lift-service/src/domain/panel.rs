//! The KPI panel: a daily outcome (and optionally a cost) per market, from
//! an uploaded CSV file or JSON rows, checked in full (every bad row named
//! by its file line or JSON index and field) before it becomes the engine's
//! [`Panel`]; and a holdout's users (one outcome per user over the test,
//! with the arm the serving system logged). Other sources (commerce orders, platform spend) hand the same
//! [`KpiRow`]s to the service's `store_panel`.

use kiki_core::FieldError;
use kiki_lift::{LongOptions, Panel, PanelData, PanelLoad};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::plan::parse_day;

/// One market's (or holdout arm's) outcome on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"market": "chicago", "date": "2021-01-01", "value": 3300}))]
pub struct KpiRow {
    /// The market or holdout arm.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub market: String,
    /// The day.
    #[schema(value_type = String, format = Date)]
    pub date: String,
    /// The outcome that day (conversions, orders, revenue in major units…).
    pub value: f64,
    /// The cost that day (spend in major units), read by `tbr` and
    /// `trimmed_match` plans that name a `cost_kpi`; every row or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

kiki_core::string_enum! {
    /// A holdout arm, as the serving system logged it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum HoldoutArm {
        Treatment = "treatment",
        Control = "control",
    }
}

/// One user's outcome over a holdout's test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "user_id": "u-1842", "converted": true, "revenue": 42.5,
    "would_have_bid": true, "arm": "treatment"
}))]
pub struct UserRow {
    /// The user's stable id (the salted hash's input).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub user_id: String,
    /// Whether the user converted during the test.
    pub converted: bool,
    /// Revenue from the user over the test, in major units (default 0).
    #[serde(default)]
    pub revenue: f64,
    /// Whether the bidder bid for the user, or logged a ghost bid for a
    /// control user (default false).
    #[serde(default)]
    pub would_have_bid: bool,
    /// The arm the serving system logged, if it logs one; compared with
    /// the salted hash to catch assignment bugs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<HoldoutArm>,
}

impl UserRow {
    /// The engine's record.
    pub fn record(&self) -> kiki_lift::HoldoutRecord {
        kiki_lift::HoldoutRecord {
            user_id: self.user_id.clone(),
            converted: self.converted,
            revenue: self.revenue,
            would_have_bid: self.would_have_bid,
            logged_arm: self.arm.map(|a| match a {
                HoldoutArm::Treatment => kiki_lift::Arm::Treatment,
                HoldoutArm::Control => kiki_lift::Arm::Control,
            }),
        }
    }
}

/// A holdout's users checked (`users[i].field` names a bad one), ids
/// trimmed; at most `max_users`.
pub fn users_from_rows(rows: &[UserRow], max_users: usize) -> Result<Vec<UserRow>, BadRows> {
    if rows.is_empty() {
        return Err(BadRows::one("users", "The upload has no users."));
    }
    if rows.len() > max_users {
        return Err(BadRows::one(
            "users",
            format!(
                "{} users, more than the {max_users} allowed (lift.max_panel_cells).",
                rows.len()
            ),
        ));
    }
    let mut bad = BadRows {
        errors: Vec::new(),
        total: 0,
    };
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let id = kiki_core::trim_schema(&r.user_id);
        if id.is_empty() || id.chars().count() > 200 {
            bad.total += 1;
            if bad.errors.len() < MAX_LISTED_ERRORS {
                bad.errors.push(FieldError::new(
                    format!("users[{i}].user_id"),
                    format!("User {i}: a user id is 1 to 200 characters."),
                ));
            }
            continue;
        }
        out.push(UserRow {
            user_id: id.to_owned(),
            ..r.clone()
        });
    }
    if bad.total > 0 {
        return Err(bad);
    }
    Ok(out)
}

/// An upload made into panels: the outcome, and the cost when the rows
/// carry one.
#[derive(Debug, Clone)]
pub struct Upload {
    pub panel: Panel,
    pub cost: Option<Panel>,
    pub load: PanelLoad,
}

/// A panel as stored and hashed: the outcome's [`PanelData`] and, when
/// uploaded, the cost's (absent otherwise, so an outcome-only panel hashes
/// as its `PanelData`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPanel {
    #[serde(flatten)]
    pub panel: PanelData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<PanelData>,
    /// A holdout's users (its `panel` then names the two arms, no days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<UserRow>>,
}

/// Where a panel came from.
pub const SOURCE_UPLOAD: &str = "upload";

/// Columns of a CSV upload; `None` picks the first header that matches a
/// usual name.
#[derive(Debug, Clone, Default)]
pub struct CsvColumnNames {
    pub market: Option<String>,
    pub date: Option<String>,
    pub value: Option<String>,
}

const MARKET_NAMES: [&str; 6] = ["market", "location", "geo", "unit", "arm", "region"];
const DATE_NAMES: [&str; 3] = ["date", "day", "period"];
const VALUE_NAMES: [&str; 5] = ["value", "y", "kpi", "outcome", "conversions"];
const COST_NAMES: [&str; 2] = ["cost", "spend"];

/// At most this many bad rows are listed.
pub const MAX_LISTED_ERRORS: usize = 50;

/// A refused upload: the listed rows (first [`MAX_LISTED_ERRORS`]) and
/// how many are bad in all.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRows {
    pub errors: Vec<FieldError>,
    pub total: usize,
}

impl BadRows {
    fn one(field: &str, message: impl Into<String>) -> BadRows {
        BadRows {
            errors: vec![FieldError::new(field, message)],
            total: 1,
        }
    }
}

struct Collector {
    rows: Vec<(String, String, f64)>,
    costs: Vec<(String, String, f64)>,
    errors: Vec<FieldError>,
    total: usize,
}

impl Collector {
    fn bad(&mut self, field: String, message: String) {
        self.total += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(FieldError::new(field, message));
        }
    }

    /// Checks one row; `at` names it (`line 3` or `rows[2]`), `field`
    /// builds a field name.
    fn push(
        &mut self,
        market: &str,
        date: &str,
        value: Result<f64, String>,
        cost: Option<Result<f64, String>>,
        name: &dyn Fn(&str) -> String,
        at: &str,
    ) {
        let market = kiki_core::trim_schema(market);
        let mut ok = true;
        if market.is_empty() || market.chars().count() > 200 {
            self.bad(
                name("market"),
                format!("{at}: a market name is 1 to 200 characters."),
            );
            ok = false;
        }
        let day = parse_day(date);
        if day.is_none() {
            self.bad(
                name("date"),
                format!("{at}: `{}` is not a date written YYYY-MM-DD.", date.trim()),
            );
            ok = false;
        }
        let value = match value {
            Ok(v) if v.is_finite() => Some(v),
            Ok(_) => {
                self.bad(
                    name("value"),
                    format!("{at}: the value is not a finite number."),
                );
                None
            }
            Err(text) => {
                self.bad(name("value"), format!("{at}: `{text}` is not a number."));
                None
            }
        };
        let cost = match cost {
            None => None,
            Some(Ok(v)) if v.is_finite() => Some(v),
            Some(Ok(_)) => {
                self.bad(
                    name("cost"),
                    format!("{at}: the cost is not a finite number."),
                );
                ok = false;
                None
            }
            Some(Err(text)) => {
                self.bad(name("cost"), format!("{at}: `{text}` is not a number."));
                ok = false;
                None
            }
        };
        if let (true, Some(day), Some(value)) = (ok, day, value) {
            if let Some(c) = cost {
                self.costs.push((market.to_owned(), day.to_string(), c));
            }
            self.rows.push((market.to_owned(), day.to_string(), value));
        }
    }

    fn finish(self, max_cells: usize) -> Result<Upload, BadRows> {
        if self.total > 0 {
            return Err(BadRows {
                errors: self.errors,
                total: self.total,
            });
        }
        let with_cost = !self.costs.is_empty();
        let (panel, load) = build(self.rows, max_cells)?;
        let cost = if with_cost {
            Some(build(self.costs, max_cells)?.0)
        } else {
            None
        };
        Ok(Upload { panel, cost, load })
    }
}

fn build(
    rows: Vec<(String, String, f64)>,
    max_cells: usize,
) -> Result<(Panel, PanelLoad), BadRows> {
    if rows.is_empty() {
        return Err(BadRows::one("rows", "The upload has no rows."));
    }
    let (panel, load) = Panel::from_long(rows, LongOptions::default())
        .map_err(|e| BadRows::one("rows", e.to_string()))?;
    if panel.n_units() * panel.n_periods() > max_cells {
        return Err(BadRows::one(
            "rows",
            format!(
                "The panel has {} markets × {} days, more than the {max_cells} cells allowed (lift.max_panel_cells).",
                panel.n_units(),
                panel.n_periods()
            ),
        ));
    }
    if panel.n_units() < 2 {
        return Err(BadRows::one(
            "rows",
            "A panel needs at least two markets: treated ones and donors.",
        ));
    }
    Ok((panel, load))
}

/// A panel from JSON rows (`rows[i].field` names a bad one).
pub fn panel_from_rows(rows: &[KpiRow], max_cells: usize) -> Result<(Panel, PanelLoad), BadRows> {
    upload_from_rows(rows, max_cells).map(|u| (u.panel, u.load))
}

/// The outcome and cost panels from JSON rows (`rows[i].field` names a bad
/// one; a cost on some rows only is refused).
pub fn upload_from_rows(rows: &[KpiRow], max_cells: usize) -> Result<Upload, BadRows> {
    let mut c = Collector {
        rows: Vec::with_capacity(rows.len()),
        costs: Vec::new(),
        errors: Vec::new(),
        total: 0,
    };
    let with_cost = rows.iter().any(|r| r.cost.is_some());
    for (i, r) in rows.iter().enumerate() {
        let name = |f: &str| format!("rows[{i}].{f}");
        let cost = match (with_cost, r.cost) {
            (false, _) => None,
            (true, Some(v)) => Some(Ok(v)),
            (true, None) => Some(Err("(missing; other rows have a cost)".to_owned())),
        };
        c.push(
            &r.market,
            &r.date,
            Ok(r.value),
            cost,
            &name,
            &format!("Row {i}"),
        );
    }
    c.finish(max_cells)
}

/// A panel from CSV text with a header row (one row per market and day).
/// Bad values are named by column and file line.
pub fn panel_from_csv(
    text: &[u8],
    columns: &CsvColumnNames,
    max_cells: usize,
) -> Result<(Panel, PanelLoad), BadRows> {
    upload_from_csv(text, columns, None, max_cells).map(|u| (u.panel, u.load))
}

/// The outcome panel and, when the file has a cost column (`cost_col`, or
/// a header named cost or spend), the cost panel, from CSV text.
pub fn upload_from_csv(
    text: &[u8],
    columns: &CsvColumnNames,
    cost_col: Option<&str>,
    max_cells: usize,
) -> Result<Upload, BadRows> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| BadRows::one("file", format!("The header cannot be read: {e}.")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let find = |given: &Option<String>, usual: &[&str], param: &str| -> Result<usize, BadRows> {
        let found = match given {
            Some(name) => header.iter().position(|h| h.eq_ignore_ascii_case(name)),
            None => usual
                .iter()
                .find_map(|u| header.iter().position(|h| h.eq_ignore_ascii_case(u))),
        };
        found.ok_or_else(|| {
            BadRows::one(
                param,
                match given {
                    Some(name) => format!(
                        "The file has no column `{name}`; its header has: {}.",
                        header.join(", ")
                    ),
                    None => format!(
                        "The file's header ({}) has none of {}; name the column with `{param}`.",
                        header.join(", "),
                        usual.join(", ")
                    ),
                },
            )
        })
    };
    let cm = find(&columns.market, &MARKET_NAMES, "market_col")?;
    let cd = find(&columns.date, &DATE_NAMES, "date_col")?;
    let cv = find(&columns.value, &VALUE_NAMES, "value_col")?;
    let cc = match cost_col {
        Some(name) => Some(find(&Some(name.to_owned()), &COST_NAMES, "cost_col")?),
        None => COST_NAMES
            .iter()
            .find_map(|u| header.iter().position(|h| h.eq_ignore_ascii_case(u)))
            .filter(|k| ![cm, cd, cv].contains(k)),
    };
    let names = [
        header[cm].clone(),
        header[cd].clone(),
        header[cv].clone(),
        cc.map(|k| header[k].clone()).unwrap_or_default(),
    ];
    let mut c = Collector {
        rows: Vec::new(),
        costs: Vec::new(),
        errors: Vec::new(),
        total: 0,
    };
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                c.bad("file".into(), format!("Line {line} cannot be read: {e}."));
                continue;
            }
        };
        let get = |k: usize| record.get(k).unwrap_or("");
        let number = |raw: &str| raw.parse::<f64>().map_err(|_| raw.to_owned());
        let value = number(get(cv));
        let cost = cc.map(|k| number(get(k)));
        let name = |f: &str| match f {
            "market" => names[0].clone(),
            "date" => names[1].clone(),
            "cost" => names[3].clone(),
            _ => names[2].clone(),
        };
        c.push(
            get(cm),
            get(cd),
            value,
            cost,
            &name,
            &format!("Line {line}"),
        );
    }
    c.finish(max_cells)
}

/// A stored panel as the API shows it (without its values).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PanelSummary {
    pub id: uuid::Uuid,
    /// `upload` (commerce orders and platform spend later).
    pub source: String,
    /// The markets (or a holdout's arms), sorted.
    pub markets: Vec<String>,
    /// A holdout's users uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<usize>,
    /// Days in the panel.
    pub days: i64,
    #[schema(value_type = String, format = Date)]
    pub first_day: String,
    #[schema(value_type = String, format = Date)]
    pub last_day: String,
    /// SHA-256 of the panel's canonical JSON (`kiki_lift::PanelData`).
    pub panel_hash: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_a_panel_and_bad_lines_are_named() {
        let ok =
            b"location,date,Y\nb,2021-01-02,2\na,2021-01-01,1\na,2021-01-02,3\nb,2021-01-01,4\n";
        let (panel, load) = panel_from_csv(ok, &CsvColumnNames::default(), 1000).unwrap();
        assert_eq!(panel.units(), ["a", "b"]);
        assert_eq!(panel.periods(), ["2021-01-01", "2021-01-02"]);
        assert_eq!(load.rows, 4);
        let bad = b"location,date,Y\na,2021-01-01,x\nb,01/02/2021,2\n";
        let e = panel_from_csv(bad, &CsvColumnNames::default(), 1000).unwrap_err();
        assert_eq!(e.total, 2);
        assert_eq!(e.errors[0].field, "Y");
        assert!(e.errors[0].message.starts_with("Line 2"), "{:?}", e.errors);
        assert_eq!(e.errors[1].field, "date");
        let cols = CsvColumnNames {
            value: Some("sales".into()),
            ..Default::default()
        };
        let e = panel_from_csv(ok, &cols, 1000).unwrap_err();
        assert_eq!(e.errors[0].field, "value_col");
    }

    #[test]
    fn json_rows_name_their_index_and_holes_are_refused() {
        let rows = vec![
            KpiRow {
                market: "a".into(),
                date: "2021-01-01".into(),
                value: 1.0,
                cost: None,
            },
            KpiRow {
                market: "b".into(),
                date: "2021-13-01".into(),
                value: 1.0,
                cost: None,
            },
        ];
        let e = panel_from_rows(&rows, 1000).unwrap_err();
        assert_eq!(e.errors[0].field, "rows[1].date");
        let rows = vec![
            KpiRow {
                market: "a".into(),
                date: "2021-01-01".into(),
                value: 1.0,
                cost: None,
            },
            KpiRow {
                market: "b".into(),
                date: "2021-01-02".into(),
                value: 1.0,
                cost: None,
            },
        ];
        let e = panel_from_rows(&rows, 1000).unwrap_err();
        assert_eq!(e.errors[0].field, "rows");
        assert!(e.errors[0].message.contains("incomplete"), "{:?}", e.errors);
    }
}
