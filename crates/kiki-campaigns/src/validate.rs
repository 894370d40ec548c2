//! Every field of a campaign checked before it is stored, each problem a
//! field error naming its path (`ad_sets[1].budget_share_bps`), so the API
//! answers one 422 with all of them.

use kiki_core::{FieldError, Money};
use time::Date;

use crate::model::{BidStrategy, CampaignDraft};

/// The organisation's limits on what a campaign may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgLimits {
    /// The largest daily budget one campaign may have (`None`: no cap).
    pub max_daily_budget: Option<Money>,
    /// Today in the organisation's calendar: a schedule may not start before it.
    pub today: Date,
}

const INDUSTRIES: &[&str] = &[
    "ecommerce",
    "saas",
    "mobile_apps",
    "professional_services",
    "education",
    "health",
    "finance",
    "general",
];

fn text(errs: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    let n = kiki_core::trim_schema(value).chars().count();
    if n == 0 || value.chars().count() > max {
        errs.push(FieldError::new(field, format!("1 to {max} characters.")));
    }
}

fn positive(errs: &mut Vec<FieldError>, field: &str, m: &Money, currency: kiki_core::Currency) {
    if m.micros <= 0 {
        errs.push(FieldError::new(field, "Must be more than zero."));
    }
    if m.currency != currency {
        errs.push(FieldError::new(
            format!("{field}.currency"),
            format!("Must be the campaign currency {currency}."),
        ));
    }
}

/// A web address a person can land on: `https://` or `http://`, a host with
/// a dot (or `localhost`), no spaces (the white space the contract's
/// pattern means by `\s`: U+0085 is text to it).
fn landing_url_ok(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let name = host.split(':').next().unwrap_or_default();
    !url.contains(kiki_core::is_schema_space)
        && !name.is_empty()
        && (name.contains('.') || name == "localhost")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
}

/// `UTC`, or an IANA-style `Area/Location` name.
fn time_zone_ok(tz: &str) -> bool {
    if tz == "UTC" {
        return true;
    }
    let mut parts = tz.split('/');
    let area = parts.next().unwrap_or_default();
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
    };
    let rest: Vec<&str> = parts.collect();
    ok_part(area) && !rest.is_empty() && rest.iter().all(|p| ok_part(p))
}

/// Every problem of `c` under `limits`; empty when it may be stored.
pub fn validate_campaign(c: &CampaignDraft, limits: &OrgLimits) -> Vec<FieldError> {
    let mut errs = Vec::new();
    text(&mut errs, "name", &c.name, 200);
    text(&mut errs, "objective", &c.objective, 2_000);
    text(&mut errs, "brand_name", &c.brand_name, 100);
    if !landing_url_ok(&c.landing_url) || c.landing_url.len() > 2_048 {
        errs.push(FieldError::new(
            "landing_url",
            "An http or https address with a host, such as https://shop.example/spring.",
        ));
    }
    if !INDUSTRIES.contains(&c.industry.as_str()) {
        errs.push(FieldError::new(
            "industry",
            format!("One of {}.", INDUSTRIES.join(", ")),
        ));
    }
    positive(&mut errs, "daily_budget", &c.daily_budget, c.currency);
    if let Some(cap) = limits.max_daily_budget
        && cap.currency == c.daily_budget.currency
        && c.daily_budget.micros > cap.micros
    {
        errs.push(FieldError::new(
            "daily_budget",
            format!("Above the organisation's cap of {} a day.", cap.text()),
        ));
    }
    if let Some(total) = &c.total_budget {
        positive(&mut errs, "total_budget", total, c.currency);
        if total.currency == c.daily_budget.currency && total.micros < c.daily_budget.micros {
            errs.push(FieldError::new(
                "total_budget",
                "Less than one day of the daily budget.",
            ));
        }
    }
    if let Some(cpa) = &c.max_cpa {
        positive(&mut errs, "max_cpa", cpa, c.currency);
    }
    if let Some(roi) = c.target_roi
        && !(roi.is_finite() && roi > 0.0 && roi <= 100.0)
    {
        errs.push(FieldError::new(
            "target_roi",
            "More than 0 and at most 100.",
        ));
    }
    let s = &c.schedule;
    if s.start < limits.today {
        errs.push(FieldError::new(
            "schedule.start",
            format!("Not before today ({}).", limits.today),
        ));
    }
    if let Some(end) = s.end
        && end < s.start
    {
        errs.push(FieldError::new("schedule.end", "Not before the start."));
    }
    if !time_zone_ok(&s.time_zone) {
        errs.push(FieldError::new(
            "schedule.time_zone",
            "`UTC` or a zone name such as Europe/Paris or America/New_York.",
        ));
    } else if !crate::programmatic::known_time_zone(&s.time_zone) {
        errs.push(FieldError::new(
            "schedule.time_zone",
            format!(
                "{} is not in the time zone database; use a zone name such as Europe/Paris.",
                s.time_zone
            ),
        ));
    }
    if c.ad_sets.is_empty() || c.ad_sets.len() > 50 {
        errs.push(FieldError::new("ad_sets", "1 to 50 ad sets."));
    }
    let mut share: u64 = 0;
    for (i, a) in c.ad_sets.iter().enumerate() {
        let at = |f: &str| format!("ad_sets[{i}].{f}");
        text(&mut errs, &at("name"), &a.name, 200);
        share += u64::from(a.budget_share_bps);
        if a.budget_share_bps == 0 || a.budget_share_bps > 10_000 {
            errs.push(FieldError::new(at("budget_share_bps"), "1 to 10000."));
        }
        match (a.bid_strategy, &a.bid_cap) {
            (BidStrategy::CostCap, None) => {
                errs.push(FieldError::new(at("bid_cap"), "A cost cap needs its cap."))
            }
            (_, Some(cap)) => positive(&mut errs, &at("bid_cap"), cap, c.currency),
            _ => {}
        }
        let t = &a.targeting;
        for (k, code) in t.countries.iter().enumerate() {
            if crate::programmatic::alpha3(code).is_none() {
                errs.push(FieldError::new(
                    format!("ad_sets[{i}].targeting.countries[{k}]"),
                    "An assigned ISO 3166-1 alpha-2 code in capitals, such as US or FR.",
                ));
            }
        }
        let (lo, hi) = (t.age_min.unwrap_or(13), t.age_max.unwrap_or(65));
        if !(13..=65).contains(&lo) || !(13..=65).contains(&hi) || lo > hi {
            errs.push(FieldError::new(
                at("targeting.age_min"),
                "Ages from 13 to 65, the minimum not above the maximum.",
            ));
        }
        for (k, g) in t.genders.iter().enumerate() {
            if !matches!(g.as_str(), "female" | "male") {
                errs.push(FieldError::new(
                    format!("ad_sets[{i}].targeting.genders[{k}]"),
                    "`female` or `male`.",
                ));
            }
        }
    }
    if !c.ad_sets.is_empty() && share != 10_000 {
        errs.push(FieldError::new(
            "ad_sets",
            format!("The budget shares sum to {share} basis points; they must sum to 10000."),
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::landing_url_ok;

    #[test]
    fn a_landing_address_refuses_the_spaces_the_contract_refuses_only() {
        assert!(landing_url_ok("https://shop.example/spring"));
        assert!(!landing_url_ok("https://shop.example/spring sale"));
        // U+0085 is not white space to the contract's pattern.
        assert!(landing_url_ok("https://shop.example/spring\u{85}"));
        assert!(!landing_url_ok("ftp://shop.example/"));
    }
}
