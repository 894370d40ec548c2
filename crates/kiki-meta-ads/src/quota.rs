//! Meta's usage headers and the per-account quota they add up to. Every
//! Marketing API answer may carry `X-Business-Use-Case-Usage` (JSON keyed by
//! business id, each a list of `{type, call_count, total_cputime, total_time,
//! estimated_time_to_regain_access}`, percentages and minutes) and
//! `X-Ad-Account-Usage` (`{acc_id_util_pct, reset_time_duration}`, a
//! percentage and seconds), per Meta's "Rate Limiting" page. The connector
//! keeps, per ad account, the highest percentage seen in the last answer and
//! how long Meta asked it to wait, and refuses calls itself while it must wait
//! (so a sync backs off before Meta throttles).
//!
//! A reading near the limit (≥ [`QuotaState::BACK_OFF_AT_PCT`]) with no wait
//! from Meta holds the account for [`NEAR_LIMIT_HOLD_SECS`] (or the ad
//! account's `reset_time_duration` when shorter and given). Once a hold is
//! over, a high reading is stale (Meta's windows roll) and is no longer
//! reported, so the next call goes through and brings a fresh one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kiki_platforms::QuotaState;
use parking_lot::Mutex;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// How long a near-limit reading without a wait from Meta holds an account.
pub(crate) const NEAR_LIMIT_HOLD_SECS: u64 = 60;

/// What the usage headers of one answer said.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Usage {
    /// The highest percentage of any quota, 0–100 (or above, when over).
    pub used_pct: f64,
    /// Seconds Meta asked to wait; 0 when none.
    pub wait_secs: u64,
    /// The ad account's usage resets within this many seconds, when said.
    pub reset_secs: Option<u64>,
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The usage the headers report, when they report any.
pub(crate) fn parse_usage(headers: &HeaderMap) -> Option<Usage> {
    let mut usage: Option<Usage> = None;
    if let Some(buc) = headers
        .get("x-business-use-case-usage")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_str::<Value>(v).ok())
    {
        let entries = buc
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .flat_map(|v| v.as_array().into_iter().flatten());
        for e in entries {
            let u = usage.get_or_insert_with(Usage::default);
            for key in ["call_count", "total_cputime", "total_time"] {
                if let Some(p) = number(e.get(key)) {
                    u.used_pct = u.used_pct.max(p);
                }
            }
            if let Some(minutes) = number(e.get("estimated_time_to_regain_access")) {
                let secs = (minutes.max(0.0) * 60.0).ceil() as u64;
                u.wait_secs = u.wait_secs.max(secs);
            }
        }
    }
    if let Some(acc) = headers
        .get("x-ad-account-usage")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_str::<Value>(v).ok())
    {
        let u = usage.get_or_insert_with(Usage::default);
        if let Some(p) = number(acc.get("acc_id_util_pct")) {
            u.used_pct = u.used_pct.max(p);
        }
        if let Some(r) = number(acc.get("reset_time_duration")) {
            u.reset_secs = Some(r.max(0.0).ceil() as u64);
        }
    }
    usage
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    used_pct: f64,
    hold_until: Option<Instant>,
}

/// Per ad account, the quota as last seen.
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    accounts: Mutex<HashMap<String, Entry>>,
}

impl Quotas {
    /// Records what an answer for `account` said. Returns the wait it
    /// implies, if any.
    pub(crate) fn record(&self, account: &str, usage: Usage, now: Instant) -> u64 {
        let hold = if usage.wait_secs > 0 {
            usage.wait_secs
        } else if usage.used_pct >= QuotaState::BACK_OFF_AT_PCT {
            match usage.reset_secs {
                Some(r) if r > 0 => r.min(NEAR_LIMIT_HOLD_SECS),
                _ => NEAR_LIMIT_HOLD_SECS,
            }
        } else {
            0
        };
        let entry = Entry {
            used_pct: usage.used_pct,
            hold_until: (hold > 0).then(|| now + Duration::from_secs(hold)),
        };
        self.accounts.lock().insert(account.to_owned(), entry);
        hold
    }

    /// Holds `account` for `secs` (Meta throttled it without saying for how
    /// long in a header), keeping its last percentage.
    pub(crate) fn hold(&self, account: &str, secs: u64, now: Instant) {
        let mut map = self.accounts.lock();
        let e = map.entry(account.to_owned()).or_insert(Entry {
            used_pct: 100.0,
            hold_until: None,
        });
        let until = now + Duration::from_secs(secs);
        e.hold_until = Some(e.hold_until.map_or(until, |u| u.max(until)));
    }

    /// The account's quota at `now`, as [`QuotaState`].
    pub(crate) fn state(&self, account: &str, now: Instant) -> Option<QuotaState> {
        let e = *self.accounts.lock().get(account)?;
        match e.hold_until {
            Some(until) if until > now => {
                let left = until - now;
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                Some(QuotaState {
                    used_pct: e.used_pct,
                    wait_secs: secs,
                })
            }
            _ if e.used_pct >= QuotaState::BACK_OFF_AT_PCT => None,
            _ => Some(QuotaState {
                used_pct: e.used_pct,
                wait_secs: 0,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn both_headers_are_read_and_the_highest_share_wins() {
        let h = headers(&[
            (
                "x-business-use-case-usage",
                r#"{"1234":[{"type":"ads_management","call_count":28,"total_cputime":41,"total_time":12,"estimated_time_to_regain_access":0}],"5678":[{"type":"ads_insights","call_count":3,"total_cputime":2,"total_time":"55","estimated_time_to_regain_access":2}]}"#,
            ),
            (
                "x-ad-account-usage",
                r#"{"acc_id_util_pct":9.5,"reset_time_duration":120,"ads_api_access_tier":"standard_access"}"#,
            ),
        ]);
        let u = parse_usage(&h).unwrap();
        assert_eq!(u.used_pct, 55.0);
        assert_eq!(u.wait_secs, 120);
        assert_eq!(u.reset_secs, Some(120));
        assert_eq!(parse_usage(&HeaderMap::new()), None);
        assert_eq!(
            parse_usage(&headers(&[("x-ad-account-usage", "garbage")])),
            None
        );
    }

    #[test]
    fn a_wait_holds_the_account_until_it_passes() {
        let q = Quotas::default();
        let t0 = Instant::now();
        assert_eq!(q.state("1", t0), None);
        q.record(
            "1",
            Usage {
                used_pct: 40.0,
                wait_secs: 0,
                reset_secs: None,
            },
            t0,
        );
        let s = q.state("1", t0).unwrap();
        assert!(!s.should_back_off());
        assert_eq!(s.used_pct, 40.0);
        q.record(
            "1",
            Usage {
                used_pct: 100.0,
                wait_secs: 300,
                reset_secs: None,
            },
            t0,
        );
        let s = q.state("1", t0 + Duration::from_secs(100)).unwrap();
        assert!(s.should_back_off());
        assert_eq!(s.wait_secs, 200);
        // Over: the high reading is stale and no longer reported.
        assert_eq!(q.state("1", t0 + Duration::from_secs(301)), None);
        assert_eq!(q.state("2", t0), None);
    }

    #[test]
    fn a_near_limit_reading_holds_briefly() {
        let q = Quotas::default();
        let t0 = Instant::now();
        let hold = q.record(
            "1",
            Usage {
                used_pct: 93.0,
                wait_secs: 0,
                reset_secs: Some(20),
            },
            t0,
        );
        assert_eq!(hold, 20);
        assert!(q.state("1", t0).unwrap().should_back_off());
        assert_eq!(q.state("1", t0 + Duration::from_secs(21)), None);
        q.hold("1", 60, t0);
        assert_eq!(q.state("1", t0).unwrap().wait_secs, 60);
    }
}
