//! Country and device breakdowns: the rows the dimension roll-up
//! (`analytics_daily_dims`) is fed with, whether a platform reported the
//! dimension on a day, and how a `country` / `device` breakdown is written
//! to a file (the value first, then the metrics).

use kiki_core::Money;
use time::Date;

use super::export::{Cell, Kind, Table, columns, metric_cells};
use super::{Breakdown, Dimension};

/// Whether a dimension is one the platforms report beside the objects
/// (country, device) rather than one of KIKI's own groupings.
pub fn is_reported_dimension(d: Dimension) -> bool {
    matches!(d, Dimension::Country | Dimension::Device)
}

/// One campaign's numbers on one day for one country or device, as its
/// platform reported them: what the dimension roll-up is fed with.
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionRow {
    /// The platform's wire name.
    pub platform: String,
    /// The platform's id of the campaign.
    pub external_id: String,
    pub day: Date,
    /// An ISO 3166-1 alpha-2 code or a device (`mobile`, …).
    pub value: String,
    /// KIKI's campaign, when KIKI launched it.
    pub campaign_id: Option<String>,
    pub spend: Money,
    /// The platform's attributed conversion value (same currency as spend).
    pub revenue: Money,
    /// Conversions × 1,000,000.
    pub conversions_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// Whether a platform reported the dimension on a day; `reason` when not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionCoverage {
    pub day: Date,
    pub reported: bool,
    pub reason: Option<String>,
}

impl Breakdown {
    /// The table of a `country` / `device` breakdown: the value, then the
    /// metrics; `None` for the other dimensions.
    pub(crate) fn value_table(&self) -> Option<Table> {
        if !is_reported_dimension(self.by) {
            return None;
        }
        let name = self.by.as_str();
        Some(Table {
            name: format!("By {name}"),
            columns: columns(&[(name, Kind::Text)]),
            rows: self
                .rows
                .iter()
                .map(|r| {
                    let value = match self.by {
                        Dimension::Country => &r.country,
                        _ => &r.device,
                    };
                    let mut cells = vec![
                        value
                            .as_ref()
                            .map_or(Cell::Empty, |v| Cell::Text(v.clone())),
                    ];
                    cells.extend(metric_cells(&r.metrics));
                    cells
                })
                .collect(),
        })
    }
}
