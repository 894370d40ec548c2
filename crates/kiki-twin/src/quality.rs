//! How much of a simulation rests on the organisation's own history: a
//! data-quality grade per plan line (priors only, thin, measured, supplied)
//! with the number of days behind it, and the label of the confidence that
//! follows from them. Figures that rest on industry priors say so in words.

use serde::{Deserialize, Serialize};

use crate::model::{MarketModel, ParameterSource, PlatformModel};
use crate::plan::ValidPlan;
use crate::platform::Platform;

/// Days of history from which a platform's rates count as measured rather
/// than thin (the same span the estimator needs to fit a response curve).
pub const MEASURED_MIN_DAYS: u32 = 28;

/// How well a plan line's market model is backed by data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataGrade {
    /// No performance history: industry priors, planning assumptions.
    PriorsOnly,
    /// Some history, fewer than 28 days: the priors still weigh.
    Thin,
    /// At least 28 days of history.
    Measured,
    /// A model written by hand or supplied by the caller.
    Supplied,
}

/// What a simulation's confidence rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConfidenceBasis {
    /// At least one platform has no history: the confidence is prior-based.
    #[default]
    PriorBased,
    /// Every platform has history, some of it thin.
    ThinHistory,
    /// Every platform has at least 28 days of history.
    Measured,
    /// Rests on a model supplied by the caller.
    Supplied,
}

/// The data-quality grade of one plan line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineDataQuality {
    pub platform: Platform,
    #[serde(default)]
    pub ad_set_id: Option<String>,
    pub grade: DataGrade,
    /// Days with performance data behind the line's rates (0 under priors).
    pub days: u32,
    /// The grade in words, e.g. "no performance history for Meta: planning
    /// assumptions, not measurements".
    pub note: String,
}

fn grade_of(m: &PlatformModel) -> (DataGrade, u32) {
    let days = m.window.map_or(0, |w| w.days);
    match m.source {
        ParameterSource::Supplied => (DataGrade::Supplied, days),
        _ if days == 0 => (DataGrade::PriorsOnly, 0),
        ParameterSource::Prior => (DataGrade::PriorsOnly, 0),
        ParameterSource::Blended if days < MEASURED_MIN_DAYS => (DataGrade::Thin, days),
        ParameterSource::Blended => (DataGrade::Measured, days),
    }
}

fn note_of(platform: Platform, grade: DataGrade, days: u32) -> String {
    let name = platform.display_name();
    let day_word = if days == 1 { "day" } else { "days" };
    match grade {
        DataGrade::PriorsOnly => {
            format!("no performance history for {name}: planning assumptions, not measurements")
        }
        DataGrade::Thin => format!(
            "thin history for {name} ({days} {day_word}): industry priors still weigh on its rates"
        ),
        DataGrade::Measured => format!("{name} measured from {days} {day_word} of history"),
        DataGrade::Supplied => format!("{name}'s market model was supplied, not estimated"),
    }
}

/// The grade of every plan line against the model it is simulated with
/// (lines without a model are left out; the simulation refuses them).
pub fn assess(plan: &ValidPlan, model: &MarketModel) -> Vec<LineDataQuality> {
    plan.allocations
        .iter()
        .filter_map(|a| {
            let m = model.find(a.platform, a.ad_set_id.as_deref())?;
            let (grade, days) = grade_of(m);
            Some(LineDataQuality {
                platform: a.platform,
                ad_set_id: a.ad_set_id.clone(),
                grade,
                days,
                note: note_of(a.platform, grade, days),
            })
        })
        .collect()
}

/// The label of the confidence: prior-based as soon as one line rests on
/// priors only.
pub fn confidence_basis(lines: &[LineDataQuality]) -> ConfidenceBasis {
    let any = |g| lines.iter().any(|l| l.grade == g);
    if lines.is_empty() || any(DataGrade::PriorsOnly) {
        ConfidenceBasis::PriorBased
    } else if any(DataGrade::Supplied) {
        ConfidenceBasis::Supplied
    } else if any(DataGrade::Thin) {
        ConfidenceBasis::ThinHistory
    } else {
        ConfidenceBasis::Measured
    }
}

/// The lines that are not measured, in words, as one sentence ending in a
/// full stop (empty when all are measured): the platforms without history
/// together ("No performance history for Meta and Google: planning
/// assumptions, not measurements"), then each other note once.
pub fn caveats(lines: &[LineDataQuality]) -> String {
    let mut priors: Vec<&str> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for l in lines {
        match l.grade {
            DataGrade::Measured => {}
            DataGrade::PriorsOnly => {
                let name = l.platform.display_name();
                if !priors.contains(&name) {
                    priors.push(name);
                }
            }
            _ => {
                if !notes.contains(&l.note) {
                    notes.push(l.note.clone());
                }
            }
        }
    }
    if !priors.is_empty() {
        let names = match priors.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => priors.join(""),
        };
        notes.insert(
            0,
            format!("no performance history for {names}: planning assumptions, not measurements"),
        );
    }
    if notes.is_empty() {
        return String::new();
    }
    let mut s = notes.join("; ");
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + &s[1..];
    }
    s.push('.');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(platform: Platform, grade: DataGrade, days: u32) -> LineDataQuality {
        LineDataQuality {
            platform,
            ad_set_id: None,
            grade,
            days,
            note: note_of(platform, grade, days),
        }
    }

    #[test]
    fn caveats_group_the_platforms_without_history_and_leave_out_measured_ones() {
        let lines = [
            line(Platform::Meta, DataGrade::PriorsOnly, 0),
            line(Platform::Google, DataGrade::Thin, 12),
            line(Platform::Tiktok, DataGrade::PriorsOnly, 0),
            line(Platform::Amazon, DataGrade::PriorsOnly, 0),
            line(Platform::Linkedin, DataGrade::Measured, 60),
        ];
        assert_eq!(
            caveats(&lines),
            "No performance history for Meta, TikTok and Amazon: planning assumptions, not measurements; thin history for Google (12 days): industry priors still weigh on its rates."
        );
        assert_eq!(caveats(&lines[4..]), "");
        assert_eq!(confidence_basis(&lines), ConfidenceBasis::PriorBased);
        assert_eq!(confidence_basis(&lines[1..2]), ConfidenceBasis::ThinHistory);
        assert_eq!(confidence_basis(&lines[4..]), ConfidenceBasis::Measured);
    }
}
