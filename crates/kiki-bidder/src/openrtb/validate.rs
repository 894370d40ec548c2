//! Parsing a request body and checking the OpenRTB rules serde cannot express:
//! required `id` and `imp`, a format on every impression, `mimes` on video and
//! audio, sane floors. Every failure is one line for the HTTP layer's 400.

use std::collections::HashSet;

use kiki_core::Currency;

use super::reader::read_bid_request;
use super::request::BidRequest;
use crate::error::BidderError;

/// Prebid Server's default limit; bodies above it are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Parses and validates a bid request body of at most `max_bytes` bytes.
pub fn parse_bid_request(body: &[u8], max_bytes: usize) -> Result<BidRequest<'_>, BidderError> {
    if body.len() > max_bytes {
        return Err(BidderError::BodyTooLarge {
            len: body.len(),
            max: max_bytes,
        });
    }
    let req = read_bid_request(body).map_err(|e| BidderError::MalformedJson(e.to_string()))?;
    validate(&req)?;
    Ok(req)
}

/// Checks the rules of OpenRTB 2.6 §3.2 that the types leave open.
pub fn validate(req: &BidRequest<'_>) -> Result<(), BidderError> {
    let invalid = |s: String| Err(BidderError::InvalidRequest(s));
    if req.id.as_deref().is_none_or(str::is_empty) {
        return invalid("the request `id` is missing or empty".into());
    }
    if req.imp.is_empty() {
        return invalid("`imp` is missing or empty; at least one impression is required".into());
    }
    if req.site.is_some() && req.app.is_some() {
        return invalid("the request has both `site` and `app`, which the spec forbids".into());
    }
    if let Some(t) = req.tmax
        && t <= 0
    {
        return invalid(format!(
            "`tmax` is {t}; it must be a positive number of milliseconds"
        ));
    }
    // Repeated impression ids: a linear look-back for the usual handful of
    // impressions, a set beyond that.
    const LINEAR: usize = 16;
    let mut seen: HashSet<&str> = if req.imp.len() > LINEAR {
        HashSet::with_capacity(req.imp.len())
    } else {
        HashSet::new()
    };
    for (i, imp) in req.imp.iter().enumerate() {
        let Some(id) = imp.id.as_deref().filter(|s| !s.is_empty()) else {
            return invalid(format!("imp[{i}] has no `id`"));
        };
        let repeated = if req.imp.len() > LINEAR {
            !seen.insert(id)
        } else {
            req.imp[..i].iter().any(|o| o.id.as_deref() == Some(id))
        };
        if repeated {
            return invalid(format!(
                "imp[{i}] repeats the id `{}` of an earlier impression",
                clip(id)
            ));
        }
        if imp.banner.is_none()
            && imp.video.is_none()
            && imp.audio.is_none()
            && imp.native.is_none()
        {
            return invalid(format!(
                "imp[{i}] offers none of banner, video, audio or native"
            ));
        }
        if let Some(v) = &imp.video
            && v.mimes.as_ref().is_none_or(Vec::is_empty)
        {
            return invalid(format!("imp[{i}].video has no `mimes`"));
        }
        if let Some(a) = &imp.audio
            && a.mimes.as_ref().is_none_or(Vec::is_empty)
        {
            return invalid(format!("imp[{i}].audio has no `mimes`"));
        }
        if let Some(n) = &imp.native
            && n.request.as_deref().is_none_or(str::is_empty)
        {
            return invalid(format!("imp[{i}].native has no `request`"));
        }
        if !(imp.bidfloor.is_finite() && imp.bidfloor >= 0.0) {
            return invalid(format!("imp[{i}].bidfloor must be a non-negative number"));
        }
        if let Some(cur) = &imp.bidfloorcur
            && Currency::parse(cur).is_err()
        {
            return invalid(format!(
                "imp[{i}].bidfloorcur `{}` is not a three-letter currency code",
                clip(cur)
            ));
        }
        if let Some(pmp) = &imp.pmp {
            for (j, deal) in pmp.deals.iter().enumerate() {
                if deal.id.as_deref().is_none_or(str::is_empty) {
                    return invalid(format!("imp[{i}].pmp.deals[{j}] has no `id`"));
                }
                if !(deal.bidfloor.is_finite() && deal.bidfloor >= 0.0) {
                    return invalid(format!(
                        "imp[{i}].pmp.deals[{j}].bidfloor must be a non-negative number"
                    ));
                }
                if let Some(cur) = &deal.bidfloorcur
                    && Currency::parse(cur).is_err()
                {
                    return invalid(format!(
                        "imp[{i}].pmp.deals[{j}].bidfloorcur `{}` is not a three-letter currency code",
                        clip(cur)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Keeps reasons one short line even when a hostile request sends long values.
fn clip(s: &str) -> String {
    const MAX: usize = 40;
    let cleaned: String = s.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if s.chars().count() > MAX {
        format!("{cleaned}…")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(body: &str) -> String {
        match parse_bid_request(body.as_bytes(), MAX_BODY_BYTES) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn each_broken_rule_gives_its_own_one_line_reason() {
        let cases: &[(&str, &str)] = &[
            (r#"{"imp":[{"id":"1","banner":{}}]}"#, "`id` is missing"),
            (
                r#"{"id":"","imp":[{"id":"1","banner":{}}]}"#,
                "`id` is missing",
            ),
            (r#"{"id":"a"}"#, "`imp` is missing or empty"),
            (r#"{"id":"a","imp":[]}"#, "`imp` is missing or empty"),
            (r#"{"id":"a","imp":[{"banner":{}}]}"#, "imp[0] has no `id`"),
            (
                r#"{"id":"a","imp":[{"id":"1"}]}"#,
                "imp[0] offers none of banner",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","video":{}}]}"#,
                "imp[0].video has no `mimes`",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","video":{"mimes":[]}}]}"#,
                "imp[0].video has no `mimes`",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","audio":{"mimes":null}}]}"#,
                "imp[0].audio has no `mimes`",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","native":{}}]}"#,
                "imp[0].native has no `request`",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","banner":{}},{"id":"1","banner":{}}]}"#,
                "imp[1] repeats the id `1`",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","banner":{},"bidfloor":-1}]}"#,
                "bidfloor must be a non-negative",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","banner":{},"bidfloorcur":"DOLLARS"}]}"#,
                "bidfloorcur `DOLLARS`",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","banner":{}}],"site":{},"app":{}}"#,
                "both `site` and `app`",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","banner":{}}],"tmax":0}"#,
                "`tmax` is 0",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","banner":{},"pmp":{"deals":[{}]}}]}"#,
                "deals[0] has no `id`",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","banner":{"w":"300"}}]}"#,
                "not valid OpenRTB JSON: invalid type",
            ),
            (
                r#"{"id":"a","imp":[{"id":"1","banner":{}}"#,
                "not valid OpenRTB JSON: EOF",
            ),
            ("", "not valid OpenRTB JSON"),
            ("[]", "not valid OpenRTB JSON: invalid type: sequence"),
            ("42", "not valid OpenRTB JSON"),
            (r#"{"id":"a","imp":[{"id":"1","banner":{}}]}"#, "ok"),
            (
                r#"{"id":"a","imp":[{"id":"1","video":{"mimes":["video/mp4"]}}]}"#,
                "ok",
            ),
        ];
        for (body, want) in cases {
            let got = reason(body);
            assert!(got.contains(want), "{body}\n  got: {got}\n want: {want}");
            assert!(!got.contains('\n'));
        }
    }

    #[test]
    fn bodies_over_the_limit_are_refused_before_parsing() {
        let body = vec![b' '; 11];
        let err = parse_bid_request(&body, 10).unwrap_err();
        assert_eq!(err, BidderError::BodyTooLarge { len: 11, max: 10 });
        assert_eq!(err.http_status(), 413);
    }

    #[test]
    fn long_hostile_values_are_clipped_in_reasons() {
        let long = "x".repeat(5000);
        let body =
            format!(r#"{{"id":"a","imp":[{{"id":"1","banner":{{}},"bidfloorcur":"{long}"}}]}}"#);
        assert!(reason(&body).len() < 200);
    }
}
