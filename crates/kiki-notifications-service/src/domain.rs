//! The notifications' types and pure rules: the kinds and their severity,
//! what a notification looks like on the wire, the organisation's
//! thresholds, and the two checks run when metrics land (spend against a
//! budget, ROAS against the target) with the sentences that state their
//! figures. No IO.

use kiki_core::{FieldError, Money};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

kiki_core::string_enum! {
    /// What a notification is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = NotificationKind)]
    pub enum Kind {
        /// A launch or a budget raise waits for a member with
        /// `budget.approve` (resolved when it is decided).
        ApprovalWaiting = "approval_waiting",
        /// The post-launch mirror found results below the simulated band.
        RollbackRecommended = "rollback_recommended",
        /// An ad platform connection is broken or its performance sync
        /// fails (resolved by the next successful sync or a new connection).
        SyncFailing = "sync_failing",
        /// The kill switch paused the organisation's live campaigns.
        KillSwitchEngaged = "kill_switch_engaged",
        /// A campaign's spend went over its budget (plus the tolerance).
        BudgetExceeded = "budget_exceeded",
        /// A campaign's ROAS fell below the organisation's target.
        PoorRoas = "poor_roas",
    }
}

kiki_core::string_enum! {
    /// How urgent a notification is. `high` ones may be mailed to owners
    /// (`notifications.email_high_severity`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = NotificationSeverity)]
    pub enum Severity {
        Info = "info",
        Warning = "warning",
        High = "high",
    }
}

kiki_core::string_enum! {
    /// What a notification's subject is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = NotificationSubjectType)]
    pub enum SubjectType {
        Campaign = "campaign",
        Approval = "approval",
        /// An ad platform connection, named by the platform (`meta`, …).
        Connection = "connection",
        Simulation = "simulation",
        KillSwitch = "kill_switch",
    }
}

/// A notification's subject: at most one open notification of a kind per
/// subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = NotificationSubject)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: SubjectType,
    /// The campaign's, approval's, simulation's or kill switch's id, or the
    /// connection's platform (`meta`, `google`, …).
    #[schema(example = "0193a0c4-5e1f-7c3a-9b2d-4f6e8a1c2b3d")]
    pub id: String,
}

impl Subject {
    pub fn new(kind: SubjectType, id: impl ToString) -> Subject {
        Subject {
            kind,
            id: id.to_string(),
        }
    }
}

/// A notification as the API and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a0c4-5e1f-7c3a-9b2d-4f6e8a1c2b3d",
    "kind": "budget_exceeded",
    "severity": "high",
    "title": "Spring range is over its daily budget",
    "body": "Spring range spent $130.00 on 2026-11-23 against a daily budget of $100.00 (30.0 % over; the tolerance is 0 %, the default).",
    "subject": {"type": "campaign", "id": "0193a0c4-5e1f-7c3a-9b2d-000000000001"},
    "link": "/app/campaigns/0193a0c4-5e1f-7c3a-9b2d-000000000001",
    "occurrences": 1,
    "created_at": "2026-11-24T10:01:30Z",
    "updated_at": "2026-11-24T10:01:30Z",
    "read_at": null,
    "resolved_at": null
}))]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: Kind,
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// Plain language, with the figures it rests on (money in its
    /// currency).
    pub body: String,
    pub subject: Subject,
    /// Where to act on it: a dashboard page (`/app/…`) or an API resource
    /// (`/v1/…`).
    pub link: String,
    /// How many times the same situation was raised while it was open.
    pub occurrences: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last time it was raised again.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
    /// When its cause went away (an approval decided, a sync that works
    /// again, spend back within budget); `null` while it holds.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

impl NotificationView {
    /// Unread and not resolved: what the header's count counts.
    pub fn is_unread(&self) -> bool {
        self.read_at.is_none() && self.resolved_at.is_none()
    }
}

/// What a raise writes: the open notification of (kind, subject) is
/// created, or updated when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Raise {
    pub kind: Kind,
    pub severity: Severity,
    pub subject: Subject,
    pub title: String,
    pub body: String,
    pub link: String,
}

/// The answer of mark-all-read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarkedRead {
    /// How many notifications were marked read.
    pub marked: u64,
}

/// The unread count (the header's badge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

/// An organisation's thresholds, as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = NotificationSettings, example = json!({
    "roas_target": 1.0,
    "budget_tolerance_pct": 0,
    "enabled_kinds": ["approval_waiting", "rollback_recommended", "sync_failing",
        "kill_switch_engaged", "budget_exceeded", "poor_roas"],
    "defaults": true
}))]
pub struct Settings {
    /// Revenue ÷ spend below which a campaign raises `poor_roas`.
    pub roas_target: f64,
    /// How far over its budget (in %) a campaign's spend may go before
    /// `budget_exceeded`.
    pub budget_tolerance_pct: u32,
    /// The kinds raised for the organisation (the others are not).
    pub enabled_kinds: Vec<Kind>,
    /// True while the organisation has not set its own: these are the
    /// defaults (`notifications.default_roas_target`,
    /// `notifications.default_budget_tolerance_pct`, every kind on).
    pub defaults: bool,
}

impl Settings {
    pub fn enabled(&self, kind: Kind) -> bool {
        self.enabled_kinds.contains(&kind)
    }

    /// "(the default)" after a threshold that is one, so a body says where
    /// its number comes from.
    pub fn source_note(&self) -> &'static str {
        if self.defaults { ", the default" } else { "" }
    }
}

/// `PUT /v1/notifications/settings`: every field is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NotificationSettingsRequest, example = json!({
    "roas_target": 2.5,
    "budget_tolerance_pct": 10,
    "enabled_kinds": ["approval_waiting", "rollback_recommended", "sync_failing",
        "kill_switch_engaged", "budget_exceeded", "poor_roas"]
}))]
pub struct SettingsRequest {
    /// From 0.01 to 100.
    #[schema(minimum = 0.01, maximum = 100.0)]
    pub roas_target: f64,
    /// From 0 to 100.
    #[schema(minimum = 0, maximum = 100)]
    pub budget_tolerance_pct: u32,
    /// Each kind at most once; an empty list turns every kind off.
    pub enabled_kinds: Vec<Kind>,
}

impl SettingsRequest {
    /// Every invalid field, named.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        if !(self.roas_target.is_finite() && (0.01..=100.0).contains(&self.roas_target)) {
            out.push(FieldError::new("roas_target", "Must be from 0.01 to 100."));
        }
        if self.budget_tolerance_pct > 100 {
            out.push(FieldError::new(
                "budget_tolerance_pct",
                "Must be from 0 to 100.",
            ));
        }
        for (i, k) in self.enabled_kinds.iter().enumerate() {
            if self.enabled_kinds[..i].contains(k) {
                out.push(FieldError::new(
                    format!("enabled_kinds[{i}]"),
                    format!("`{}` is listed twice.", k.as_str()),
                ));
            }
        }
        out
    }
}

/// Which budget a campaign's spend is checked against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetCheck {
    /// The total budget, against spend from the schedule's start to `until`.
    Total {
        spend: Money,
        budget: Money,
        until: Date,
    },
    /// The daily budget, against one day's spend.
    Daily {
        spend: Money,
        budget: Money,
        day: Date,
    },
}

impl BudgetCheck {
    fn parts(&self) -> (Money, Money) {
        match *self {
            BudgetCheck::Total { spend, budget, .. } | BudgetCheck::Daily { spend, budget, .. } => {
                (spend, budget)
            }
        }
    }

    /// How far over the budget the spend is, as a fraction (0.3 = 30 %
    /// over), when it is over by more than the tolerance; `None` otherwise
    /// (within the tolerance, no budget, or amounts in two currencies).
    pub fn overrun(&self, tolerance_pct: u32) -> Option<f64> {
        let (spend, budget) = self.parts();
        if spend.currency != budget.currency || budget.micros <= 0 {
            return None;
        }
        // Integer comparison: spend × 100 > budget × (100 + tolerance).
        let lhs = i128::from(spend.micros) * 100;
        let rhs = i128::from(budget.micros) * (100 + i128::from(tolerance_pct));
        (lhs > rhs).then(|| (spend.micros - budget.micros) as f64 / budget.micros as f64)
    }

    /// The notification's title and body for a campaign named `name`.
    pub fn texts(&self, name: &str, over: f64, settings: &Settings) -> (String, String) {
        let (spend, budget) = self.parts();
        let tolerance = format!(
            "the tolerance is {} %{}",
            settings.budget_tolerance_pct,
            settings.source_note()
        );
        match *self {
            BudgetCheck::Total { until, .. } => (
                format!("{name} is over its total budget"),
                format!(
                    "{name} has spent {} from its start to {until} against a total budget of {} ({:.1} % over; {tolerance}).",
                    spend.text(),
                    budget.text(),
                    over * 100.0
                ),
            ),
            BudgetCheck::Daily { day, .. } => (
                format!("{name} is over its daily budget"),
                format!(
                    "{name} spent {} on {day} against a daily budget of {} ({:.1} % over; {tolerance}).",
                    spend.text(),
                    budget.text(),
                    over * 100.0
                ),
            ),
        }
    }
}

/// A campaign's ROAS over a range of days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoasCheck {
    pub spend: Money,
    pub revenue: Money,
    pub since: Date,
    pub until: Date,
}

impl RoasCheck {
    /// Revenue ÷ spend; `None` without spend or in two currencies.
    pub fn roas(&self) -> Option<f64> {
        (self.spend.micros > 0 && self.spend.currency == self.revenue.currency)
            .then(|| self.revenue.micros as f64 / self.spend.micros as f64)
    }

    /// The ROAS when it is below `target`.
    pub fn below(&self, target: f64) -> Option<f64> {
        self.roas().filter(|r| *r < target)
    }

    /// The notification's title and body for a campaign named `name`.
    pub fn texts(&self, name: &str, roas: f64, settings: &Settings) -> (String, String) {
        (
            format!("{name} is below the ROAS target"),
            format!(
                "{name} brought in {} of revenue for {} of spend from {} to {}: a ROAS of {roas:.2}, below the organisation's target of {:.2}{}. Revenue is what the ad platforms attribute to the campaign.",
                self.revenue.text(),
                self.spend.text(),
                self.since,
                self.until,
                settings.roas_target,
                settings.source_note(),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::Currency;
    use time::macros::date;

    fn usd(units: i64) -> Money {
        Money::from_micros(units * 1_000_000, Currency::parse("USD").unwrap())
    }

    fn settings(tolerance: u32, defaults: bool) -> Settings {
        Settings {
            roas_target: 1.5,
            budget_tolerance_pct: tolerance,
            enabled_kinds: Kind::ALL.to_vec(),
            defaults,
        }
    }

    #[test]
    fn spend_over_the_budget_by_more_than_the_tolerance_is_an_overrun() {
        let day = date!(2026 - 11 - 23);
        let check = |spend, budget, tol| {
            BudgetCheck::Daily {
                spend: usd(spend),
                budget: usd(budget),
                day,
            }
            .overrun(tol)
        };
        assert_eq!(check(130, 100, 0), Some(0.3));
        assert_eq!(check(100, 100, 0), None, "at the budget is not over it");
        assert_eq!(check(110, 100, 10), None, "within the tolerance");
        assert!(check(111, 100, 10).is_some());
        assert_eq!(check(5, 0, 0), None, "no budget, no overrun");
        let eur = Money::from_micros(500_000_000, Currency::parse("EUR").unwrap());
        let mixed = BudgetCheck::Total {
            spend: eur,
            budget: usd(100),
            until: day,
        };
        assert_eq!(mixed.overrun(0), None, "two currencies are not compared");
    }

    #[test]
    fn a_budget_body_states_its_figures_in_the_currency_and_the_default() {
        let c = BudgetCheck::Daily {
            spend: usd(130),
            budget: usd(100),
            day: date!(2026 - 11 - 23),
        };
        let (title, body) = c.texts("Spring", 0.3, &settings(0, true));
        assert_eq!(title, "Spring is over its daily budget");
        assert_eq!(
            body,
            "Spring spent $130.00 on 2026-11-23 against a daily budget of $100.00 (30.0 % over; the tolerance is 0 %, the default)."
        );
        let (_, body) = c.texts("Spring", 0.3, &settings(5, false));
        assert!(body.ends_with("the tolerance is 5 %)."), "{body}");
    }

    #[test]
    fn roas_below_the_target_is_found_and_stated() {
        let c = RoasCheck {
            spend: usd(300),
            revenue: usd(120),
            since: date!(2026 - 11 - 20),
            until: date!(2026 - 11 - 24),
        };
        assert_eq!(c.roas(), Some(0.4));
        assert_eq!(c.below(1.5), Some(0.4));
        assert_eq!(c.below(0.4), None, "at the target is not below it");
        let (_, body) = c.texts("Spring", 0.4, &settings(0, false));
        assert!(
            body.starts_with("Spring brought in $120.00 of revenue for $300.00 of spend from 2026-11-20 to 2026-11-24: a ROAS of 0.40, below the organisation's target of 1.50."),
            "{body}"
        );
        let none = RoasCheck { spend: usd(0), ..c };
        assert_eq!(none.below(1.0), None, "no spend, no ROAS");
    }

    #[test]
    fn a_settings_request_names_each_bad_field() {
        let bad = SettingsRequest {
            roas_target: 0.0,
            budget_tolerance_pct: 101,
            enabled_kinds: vec![Kind::PoorRoas, Kind::PoorRoas],
        };
        let fields: Vec<String> = bad.problems().into_iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            ["roas_target", "budget_tolerance_pct", "enabled_kinds[1]"]
        );
        let good = SettingsRequest {
            roas_target: 2.5,
            budget_tolerance_pct: 10,
            enabled_kinds: vec![],
        };
        assert!(good.problems().is_empty());
    }
}
