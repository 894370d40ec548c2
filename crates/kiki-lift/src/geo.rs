//! A geo test analysed end to end: the synthetic-control fit, its conformal
//! inference and a sentence a person can read; and multi-cell tests, where
//! several treatment groups run at once and every cell's markets are kept
//! out of every other cell's donor pool.

use serde::{Deserialize, Serialize};

use crate::conformal::{Alternative, ConformalInference, ConformalOptions, conformal_inference};
use crate::control::RunControl;
use crate::error::{LiftError, Result};
use crate::panel::Panel;
use crate::synth::{
    Augmentation, SyntheticControlFit, SyntheticControlSpec, fit_synthetic_control,
};

/// A geo test's estimate with its inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoAnalysis {
    /// Weights, counterfactual, point estimates, diagnostics, sufficiency.
    pub fit: SyntheticControlFit,
    /// p-value and intervals from the same conformal test.
    pub inference: ConformalInference,
    /// The result in one paragraph.
    pub summary: String,
}

/// Fits the synthetic control and runs its conformal inference.
pub fn analyze_geo(
    panel: &Panel,
    spec: &SyntheticControlSpec,
    options: &ConformalOptions,
    control: &mut RunControl<'_>,
) -> Result<GeoAnalysis> {
    let fit = fit_synthetic_control(panel, spec)?;
    control.report(0.1);
    let inference = conformal_inference(panel, &fit, options, control)?;
    control.report(1.0);
    let summary = summarise(panel, &fit, &inference);
    Ok(GeoAnalysis {
        fit,
        inference,
        summary,
    })
}

/// One treatment group of a multi-cell test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSpec {
    /// The cell's name (e.g. the strategy it tests).
    pub name: String,
    /// Its treated units.
    pub treated: Vec<String>,
}

/// Several treatment groups tested over the same window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiCellSpec {
    /// The cells; their units must not overlap.
    pub cells: Vec<CellSpec>,
    /// First treated period (0-based).
    pub treatment_start: usize,
    /// One past the last treated period.
    pub treatment_end: usize,
    /// First pre-period (default 0).
    #[serde(default)]
    pub pre_start: usize,
    /// Unit fixed effects (default true).
    #[serde(default = "default_true")]
    pub fixed_effects: bool,
    /// Augmentation (default none).
    #[serde(default)]
    pub augmentation: Augmentation,
    /// Further units kept out of every donor pool.
    #[serde(default)]
    pub excluded_donors: Vec<String>,
}

fn default_true() -> bool {
    true
}

/// One cell's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellAnalysis {
    /// The cell's name.
    pub cell: String,
    /// Its analysis against the units in no cell.
    pub analysis: GeoAnalysis,
}

impl MultiCellSpec {
    /// The single-group spec of cell `i`: its units treated, the other
    /// cells' units excluded from the donors.
    pub fn cell_spec(&self, i: usize) -> SyntheticControlSpec {
        let mut excluded = self.excluded_donors.clone();
        for (j, c) in self.cells.iter().enumerate() {
            if j != i {
                excluded.extend(c.treated.iter().cloned());
            }
        }
        SyntheticControlSpec {
            treated: self.cells[i].treated.clone(),
            treatment_start: self.treatment_start,
            treatment_end: self.treatment_end,
            pre_start: self.pre_start,
            fixed_effects: self.fixed_effects,
            augmentation: self.augmentation,
            excluded_donors: excluded,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.cells.is_empty() {
            return Err(LiftError::invalid(
                "A multi-cell test needs at least one cell.",
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for c in &self.cells {
            for u in &c.treated {
                if seen.contains(&u.as_str()) {
                    return Err(LiftError::invalid(format!(
                        "The unit `{u}` is in more than one cell; cells must not overlap."
                    )));
                }
                seen.push(u);
            }
        }
        Ok(())
    }
}

/// Analyses every cell of a multi-cell test against the units in no cell.
pub fn analyze_multi_cell(
    panel: &Panel,
    spec: &MultiCellSpec,
    options: &ConformalOptions,
    control: &mut RunControl<'_>,
) -> Result<Vec<CellAnalysis>> {
    spec.validate()?;
    let n = spec.cells.len();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        control.check()?;
        let cell_spec = spec.cell_spec(i);
        let analysis = analyze_geo(panel, &cell_spec, options, &mut RunControl::none())?;
        out.push(CellAnalysis {
            cell: spec.cells[i].name.clone(),
            analysis,
        });
        control.report((i + 1) as f64 / n as f64);
    }
    Ok(out)
}

/// Formats a number with thousands separators and `decimals` digits.
pub(crate) fn fmt_num(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(a, b)| (a, b));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

fn fmt_bound(b: Option<f64>, decimals: usize, unbounded: &str) -> String {
    b.map_or_else(|| unbounded.to_string(), |v| fmt_num(v, decimals))
}

fn summarise(panel: &Panel, fit: &SyntheticControlFit, inf: &ConformalInference) -> String {
    let spec = &fit.spec;
    let first = &panel.periods()[spec.treatment_start];
    let last = &panel.periods()[spec.treatment_end - 1];
    let level = ((1.0 - inf.options.alpha) * 100.0).round();
    let verdict = if inf.p_value <= inf.options.alpha {
        format!(
            "significant at the {}% level",
            fmt_num(inf.options.alpha * 100.0, 0)
        )
    } else {
        format!(
            "not significant at the {}% level",
            fmt_num(inf.options.alpha * 100.0, 0)
        )
    };
    let side = match inf.options.alternative {
        Alternative::TwoSided => "two-sided",
        Alternative::Greater => "one-sided, effect > 0",
        Alternative::Less => "one-sided, effect < 0",
        Alternative::AnyPeriod => "any-period",
    };
    format!(
        "{} over {} periods ({} to {}): lift {}{}% ({} incremental; ATT {} per unit per period), \
         {}% interval for the incremental outcome [{}, {}], p = {:.4} ({side}, conformal test with {} cyclic-shift permutations), {}. \
         Pre-period fit over {} periods: scaled L2 imbalance {:.3}, {} donors with weight.",
        spec.treated.join(", "),
        spec.treatment_end - spec.treatment_start,
        first,
        last,
        if fit.lift >= 0.0 { "+" } else { "" },
        fmt_num(fit.lift * 100.0, 1),
        fmt_num(fit.incremental, 0),
        fmt_num(fit.att, 3),
        level,
        fmt_bound(inf.incremental.lower, 0, "−∞"),
        fmt_bound(inf.incremental.upper, 0, "+∞"),
        inf.p_value,
        inf.permutations,
        verdict,
        fit.sufficiency.pre_periods,
        fit.diagnostics.scaled_l2_imbalance,
        fit.diagnostics.donors_used,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(fmt_num(4666.67, 0), "4,667");
        assert_eq!(fmt_num(-1234567.891, 2), "-1,234,567.89");
        assert_eq!(fmt_num(0.4, 0), "0");
        assert_eq!(fmt_num(999.0, 1), "999.0");
    }
}
