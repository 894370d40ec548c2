//! The KPI panel: one outcome per unit (a market, or a holdout arm) per
//! period (a day, usually), complete and finite. Built from long rows
//! (`unit, period, value`) or from CSV text; serialises to JSON and is
//! validated again when read back.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{LiftError, Result};

/// A complete unit × period matrix of outcomes.
///
/// Units keep the order they were given in ([`Panel::from_long`] sorts them
/// by name); periods are in time order. Values are stored unit-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PanelData", into = "PanelData")]
pub struct Panel {
    units: Vec<String>,
    periods: Vec<String>,
    values: Vec<f64>,
    /// Cells no row mentioned, counted as zero: `(unit, period)` indexes,
    /// sorted.
    filled: Vec<(usize, usize)>,
}

/// The JSON shape of a [`Panel`]: unit names, period labels and one row of
/// values per unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelData {
    /// Unit names, one per row of `values`.
    pub units: Vec<String>,
    /// Period labels in time order, one per column of `values`.
    pub periods: Vec<String>,
    /// `values[u][t]`: the outcome of unit `u` in period `t`.
    pub values: Vec<Vec<f64>>,
    /// `[u, t]` of cells no source row mentioned, counted as zero (absent
    /// when every cell was observed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filled: Vec<[usize; 2]>,
}

impl TryFrom<PanelData> for Panel {
    type Error = LiftError;
    fn try_from(data: PanelData) -> Result<Self> {
        let filled = data.filled.iter().map(|c| (c[0], c[1])).collect();
        Panel::new(data.units, data.periods, data.values)?.with_filled(filled)
    }
}

impl From<Panel> for PanelData {
    fn from(p: Panel) -> Self {
        let values = (0..p.n_units()).map(|u| p.series(u).to_vec()).collect();
        PanelData {
            units: p.units,
            periods: p.periods,
            values,
            filled: p.filled.iter().map(|&(u, t)| [u, t]).collect(),
        }
    }
}

/// What [`Panel::from_long`] did with the rows it was given.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PanelLoad {
    /// Rows read.
    pub rows: usize,
    /// Rows whose (unit, period) had already been seen; their values were
    /// added to the earlier ones (several rows per market-day, e.g. one per
    /// product, sum to the market-day outcome).
    pub merged_rows: usize,
    /// Units dropped because some of their periods were missing (with
    /// [`MissingCells::DropUnit`]).
    pub dropped_units: Vec<String>,
    /// Cells filled with zero (with [`MissingCells::Zero`]).
    pub zero_filled_cells: usize,
    /// Share of unit-period cells the rows covered, before any filling or
    /// dropping.
    pub coverage: f64,
}

/// What to do with a unit-period cell no row mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingCells {
    /// Refuse the data, naming the first hole (the default).
    #[default]
    Refuse,
    /// Drop units that miss some periods (GeoLift does this); the dropped
    /// units are reported.
    DropUnit,
    /// Count a missing cell as zero: for sources that emit no row for a
    /// market-day without sales (matched_markets' example data does this).
    Zero,
}

/// Options for building a panel from long rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LongOptions {
    /// What to do with missing cells.
    #[serde(default)]
    pub missing: MissingCells,
}

/// Column names for [`Panel::parse_long_csv`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvColumns {
    /// The unit (market) column.
    pub unit: String,
    /// The period (date) column.
    pub period: String,
    /// The outcome column.
    pub value: String,
}

impl Default for CsvColumns {
    fn default() -> Self {
        CsvColumns {
            unit: "location".into(),
            period: "date".into(),
            value: "Y".into(),
        }
    }
}

impl Panel {
    /// A panel from unit names, period labels and one row of values per unit.
    pub fn new(units: Vec<String>, periods: Vec<String>, values: Vec<Vec<f64>>) -> Result<Self> {
        if units.is_empty() || periods.is_empty() {
            return Err(LiftError::insufficient(
                "The panel needs at least one unit and one period.",
            ));
        }
        if values.len() != units.len() {
            return Err(LiftError::invalid(format!(
                "The panel has {} unit names but {} rows of values.",
                units.len(),
                values.len()
            )));
        }
        let mut seen = HashMap::new();
        for (i, u) in units.iter().enumerate() {
            if let Some(j) = seen.insert(u.as_str(), i) {
                return Err(LiftError::invalid(format!(
                    "The unit `{u}` appears twice (rows {j} and {i})."
                )));
            }
        }
        let t = periods.len();
        let mut flat = Vec::with_capacity(units.len() * t);
        for (u, row) in values.iter().enumerate() {
            if row.len() != t {
                return Err(LiftError::invalid(format!(
                    "The row of unit `{}` has {} values but the panel has {} periods.",
                    units[u],
                    row.len(),
                    t
                )));
            }
            for (p, v) in row.iter().enumerate() {
                if !v.is_finite() {
                    return Err(LiftError::NonFinite {
                        unit: units[u].clone(),
                        period: p,
                    });
                }
            }
            flat.extend_from_slice(row);
        }
        Ok(Panel {
            units,
            periods,
            values: flat,
            filled: Vec::new(),
        })
    }

    /// Marks cells as filled in rather than observed (for the coverage the
    /// estimates report).
    fn with_filled(mut self, mut filled: Vec<(usize, usize)>) -> Result<Self> {
        filled.sort_unstable();
        filled.dedup();
        if filled
            .iter()
            .any(|&(u, t)| u >= self.n_units() || t >= self.n_periods())
        {
            return Err(LiftError::invalid("A filled cell lies outside the panel."));
        }
        self.filled = filled;
        Ok(self)
    }

    /// A panel from long rows `(unit, period, value)`.
    ///
    /// Units are sorted by name. Periods are sorted numerically when every
    /// label is an integer, otherwise as text (ISO 8601 dates sort in time
    /// order). Rows with the same unit and period are added together.
    pub fn from_long<U, P, I>(rows: I, options: LongOptions) -> Result<(Self, PanelLoad)>
    where
        U: AsRef<str>,
        P: AsRef<str>,
        I: IntoIterator<Item = (U, P, f64)>,
    {
        let mut cells: BTreeMap<String, HashMap<String, f64>> = BTreeMap::new();
        let mut period_set: Vec<String> = Vec::new();
        let mut period_seen: HashMap<String, ()> = HashMap::new();
        let mut load = PanelLoad::default();
        for (i, (unit, period, value)) in rows.into_iter().enumerate() {
            load.rows += 1;
            let (unit, period) = (unit.as_ref(), period.as_ref());
            if !value.is_finite() {
                return Err(LiftError::invalid(format!(
                    "Row {i} (unit `{unit}`, period `{period}`) has a value that is not a finite number."
                )));
            }
            if period_seen.insert(period.to_string(), ()).is_none() {
                period_set.push(period.to_string());
            }
            let per_unit = cells.entry(unit.to_string()).or_default();
            match per_unit.get_mut(period) {
                Some(v) => {
                    *v += value;
                    load.merged_rows += 1;
                }
                None => {
                    per_unit.insert(period.to_string(), value);
                }
            }
        }
        if cells.is_empty() {
            return Err(LiftError::insufficient(
                "There are no rows to build a panel from.",
            ));
        }
        sort_periods(&mut period_set);
        let mut units = Vec::new();
        let mut values = Vec::new();
        let mut filled = Vec::new();
        let mut missing = 0usize;
        let mut first_missing: Option<(String, String)> = None;
        let n_cells = cells.len() * period_set.len();
        for (unit, per_unit) in cells {
            let mut row = Vec::with_capacity(period_set.len());
            let mut complete = true;
            let mut holes = Vec::new();
            for (t, p) in period_set.iter().enumerate() {
                match per_unit.get(p) {
                    Some(v) => row.push(*v),
                    None => {
                        complete = false;
                        holes.push(t);
                        missing += 1;
                        if first_missing.is_none() {
                            first_missing = Some((unit.clone(), p.clone()));
                        }
                        row.push(0.0);
                    }
                }
            }
            match (complete, options.missing) {
                (true, _) => {
                    units.push(unit);
                    values.push(row);
                }
                (false, MissingCells::Zero) => {
                    filled.extend(holes.into_iter().map(|t| (units.len(), t)));
                    units.push(unit);
                    values.push(row);
                }
                (false, _) => load.dropped_units.push(unit),
            }
        }
        load.coverage = 1.0 - missing as f64 / n_cells as f64;
        if options.missing == MissingCells::Zero {
            load.zero_filled_cells = missing;
        }
        if missing > 0 && options.missing == MissingCells::Refuse {
            let (first_unit, first_period) = first_missing.unwrap_or_default();
            return Err(LiftError::Incomplete {
                missing,
                first_unit,
                first_period,
            });
        }
        Ok((
            Panel::new(units, period_set, values)?.with_filled(filled)?,
            load,
        ))
    }

    /// A panel from CSV text with a header row, in long format (one row per
    /// unit and period). Quoted fields are fine.
    pub fn parse_long_csv(
        text: &str,
        columns: &CsvColumns,
        options: LongOptions,
    ) -> Result<(Self, PanelLoad)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| LiftError::invalid(format!("The CSV header cannot be read: {e}.")))?
            .clone();
        let find = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| LiftError::invalid(format!("The CSV has no column named `{name}`.")))
        };
        let (cu, cp, cv) = (
            find(&columns.unit)?,
            find(&columns.period)?,
            find(&columns.value)?,
        );
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| {
                LiftError::invalid(format!("CSV row {} cannot be read: {e}.", i + 1))
            })?;
            let field = |c: usize| record.get(c).unwrap_or("");
            let value: f64 = field(cv).parse().map_err(|_| {
                LiftError::invalid(format!(
                    "CSV row {}: `{}` in column `{}` is not a number.",
                    i + 1,
                    field(cv),
                    columns.value
                ))
            })?;
            rows.push((field(cu).to_string(), field(cp).to_string(), value));
        }
        Panel::from_long(rows, options)
    }

    /// Unit names, in row order.
    pub fn units(&self) -> &[String] {
        &self.units
    }

    /// Period labels, in time order.
    pub fn periods(&self) -> &[String] {
        &self.periods
    }

    /// How many units.
    pub fn n_units(&self) -> usize {
        self.units.len()
    }

    /// How many periods.
    pub fn n_periods(&self) -> usize {
        self.periods.len()
    }

    /// The outcome series of unit `u` (row index).
    pub fn series(&self, u: usize) -> &[f64] {
        let t = self.periods.len();
        &self.values[u * t..(u + 1) * t]
    }

    /// The row index of a unit.
    pub fn unit_index(&self, name: &str) -> Option<usize> {
        self.units.iter().position(|u| u == name)
    }

    /// Row indexes of named units, or [`LiftError::UnknownUnit`].
    pub fn unit_indexes<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                self.unit_index(n.as_ref())
                    .ok_or_else(|| LiftError::UnknownUnit(n.as_ref().to_string()))
            })
            .collect()
    }

    /// The index of a period label.
    pub fn period_index(&self, label: &str) -> Option<usize> {
        self.periods.iter().position(|p| p == label)
    }

    /// The sum of the outcome over units `units` and periods `start..end`.
    pub fn total(&self, units: &[usize], start: usize, end: usize) -> f64 {
        units
            .iter()
            .map(|&u| self.series(u)[start..end].iter().sum::<f64>())
            .sum()
    }

    /// Share of the cells of `units` over periods `start..end` that were
    /// observed rather than filled in (1 when nothing was filled).
    pub fn coverage(&self, units: &[usize], start: usize, end: usize) -> f64 {
        let cells = units.len() * end.saturating_sub(start);
        if cells == 0 {
            return 1.0;
        }
        let filled = self
            .filled
            .iter()
            .filter(|(u, t)| units.contains(u) && (start..end).contains(t))
            .count();
        1.0 - filled as f64 / cells as f64
    }

    /// The same units over periods `start..end` only.
    pub fn window(&self, start: usize, end: usize) -> Result<Panel> {
        if start >= end || end > self.n_periods() {
            return Err(LiftError::invalid(format!(
                "The period window {start}..{end} is not inside the panel's {} periods.",
                self.n_periods()
            )));
        }
        let values = (0..self.n_units())
            .map(|u| self.series(u)[start..end].to_vec())
            .collect();
        let filled = self
            .filled
            .iter()
            .filter(|(_, t)| (start..end).contains(t))
            .map(|&(u, t)| (u, t - start))
            .collect();
        Panel::new(
            self.units.clone(),
            self.periods[start..end].to_vec(),
            values,
        )?
        .with_filled(filled)
    }
}

fn sort_periods(periods: &mut [String]) {
    let numeric: Option<Vec<i64>> = periods.iter().map(|p| p.parse::<i64>().ok()).collect();
    if numeric.is_some() {
        periods.sort_by_key(|p| p.parse::<i64>().unwrap_or(i64::MAX));
    } else {
        periods.sort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_rows_become_a_sorted_complete_panel() {
        let rows = vec![
            ("b", "2", 4.0),
            ("a", "10", 3.0),
            ("a", "2", 1.0),
            ("b", "10", 5.0),
            ("a", "2", 1.5),
        ];
        let (p, load) = Panel::from_long(rows, LongOptions::default()).unwrap();
        assert_eq!(p.units(), ["a", "b"]);
        assert_eq!(p.periods(), ["2", "10"], "integer labels sort as numbers");
        assert_eq!(p.series(0), [2.5, 3.0]);
        assert_eq!(p.series(1), [4.0, 5.0]);
        assert_eq!(load.merged_rows, 1);
        assert_eq!(p.total(&[0, 1], 0, 2), 14.5);
    }

    #[test]
    fn holes_are_refused_or_dropped_and_reported() {
        let rows = vec![("a", "d1", 1.0), ("a", "d2", 1.0), ("b", "d1", 2.0)];
        let err = Panel::from_long(rows.clone(), LongOptions::default()).unwrap_err();
        assert!(
            matches!(err, LiftError::Incomplete { missing: 1, .. }),
            "{err}"
        );
        let (p, load) = Panel::from_long(
            rows.clone(),
            LongOptions {
                missing: MissingCells::DropUnit,
            },
        )
        .unwrap();
        assert_eq!(p.units(), ["a"]);
        assert_eq!(load.dropped_units, ["b"]);
        assert!((load.coverage - 0.75).abs() < 1e-12);
        let (p, load) = Panel::from_long(
            rows,
            LongOptions {
                missing: MissingCells::Zero,
            },
        )
        .unwrap();
        assert_eq!(p.series(1), [2.0, 0.0]);
        assert_eq!(load.zero_filled_cells, 1);
        assert!((p.coverage(&[0, 1], 0, 2) - 0.75).abs() < 1e-12);
        assert_eq!(p.coverage(&[0], 0, 2), 1.0);
        assert_eq!(p.window(0, 1).unwrap().coverage(&[0, 1], 0, 1), 1.0);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"filled\":[[1,1]]"), "{json}");
        assert_eq!(serde_json::from_str::<Panel>(&json).unwrap(), p);
    }

    #[test]
    fn json_round_trip_validates() {
        let p = Panel::new(
            vec!["x".into(), "y".into()],
            vec!["1".into(), "2".into()],
            vec![vec![1.0, 2.0], vec![3.0, 4.0]],
        )
        .unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let back: Panel = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        let bad = r#"{"units":["x","x"],"periods":["1"],"values":[[1.0],[2.0]]}"#;
        assert!(serde_json::from_str::<Panel>(bad).is_err());
        let ragged = r#"{"units":["x"],"periods":["1","2"],"values":[[1.0]]}"#;
        assert!(serde_json::from_str::<Panel>(ragged).is_err());
    }

    #[test]
    fn csv_with_quotes_parses() {
        let text = "\"date\",\"geo\",\"sales\"\n2015-01-02,\"1\",3.5\n2015-01-01,\"1\",2\n";
        let cols = CsvColumns {
            unit: "geo".into(),
            period: "date".into(),
            value: "sales".into(),
        };
        let (p, _) = Panel::parse_long_csv(text, &cols, LongOptions::default()).unwrap();
        assert_eq!(p.periods(), ["2015-01-01", "2015-01-02"]);
        assert_eq!(p.series(0), [2.0, 3.5]);
        let err = Panel::parse_long_csv("a,b\n1,2\n", &cols, LongOptions::default()).unwrap_err();
        assert!(err.to_string().contains("no column named `geo`"));
    }
}
