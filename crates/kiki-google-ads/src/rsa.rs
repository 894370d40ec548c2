//! Responsive search ad copy: Google Ads has no creative object apart from
//! the ad, so the connector checks the copy against Google's documented
//! limits when KIKI hands it over and keeps it until the ad is placed.
//! A responsive search ad takes three to 15 headlines of at most 30
//! characters and two to four descriptions of at most 90
//! (<https://developers.google.com/google-ads/api/docs/responsive-search-ads/overview>,
//! <https://support.google.com/google-ads/answer/7684791>); Google counts a
//! double-width character (Chinese, Japanese, Korean) as two, and so does
//! the check. The landing page must be an `http(s)` URL.

use kiki_platforms::{CreativeSpec, PlatformError};

pub(crate) const HEADLINES: (usize, usize) = (3, 15);
pub(crate) const HEADLINE_MAX: usize = 30;
pub(crate) const DESCRIPTIONS: (usize, usize) = (2, 4);
pub(crate) const DESCRIPTION_MAX: usize = 90;

/// Copy ready to become a responsive search ad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RsaCopy {
    pub headlines: Vec<String>,
    pub descriptions: Vec<String>,
    pub final_url: String,
}

/// The width Google counts for a character: two for East Asian wide
/// characters, one otherwise.
fn width(c: char) -> usize {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x2FFFD
        | 0x30000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// The length Google counts for a text.
pub(crate) fn google_length(s: &str) -> usize {
    s.chars().map(width).sum()
}

fn invalid(field: String, message: String) -> PlatformError {
    PlatformError::InvalidRequest {
        field: Some(field),
        message,
    }
}

fn texts(
    items: &[String],
    field: &str,
    (min, max): (usize, usize),
    max_len: usize,
) -> Result<Vec<String>, PlatformError> {
    let items: Vec<String> = items.iter().map(|s| s.trim().to_owned()).collect();
    if items.len() < min || items.len() > max {
        return Err(invalid(
            field.to_owned(),
            format!(
                "a Google responsive search ad takes {min} to {max} {field}; {} given",
                items.len()
            ),
        ));
    }
    for (i, text) in items.iter().enumerate() {
        let len = google_length(text);
        if text.is_empty() {
            return Err(invalid(format!("{field}[{i}]"), "is empty".to_owned()));
        }
        if len > max_len {
            return Err(invalid(
                format!("{field}[{i}]"),
                format!("is {len} characters as Google counts them; Google allows {max_len}"),
            ));
        }
    }
    for (i, text) in items.iter().enumerate() {
        if items[..i].iter().any(|t| t.eq_ignore_ascii_case(text)) {
            return Err(invalid(
                format!("{field}[{i}]"),
                "repeats an earlier one; Google refuses duplicate assets in one ad".to_owned(),
            ));
        }
    }
    Ok(items)
}

/// Checks the copy against Google's limits.
pub(crate) fn validate(spec: &CreativeSpec) -> Result<RsaCopy, PlatformError> {
    let headlines = texts(&spec.headlines, "headlines", HEADLINES, HEADLINE_MAX)?;
    let descriptions = texts(
        &spec.descriptions,
        "descriptions",
        DESCRIPTIONS,
        DESCRIPTION_MAX,
    )?;
    let url = spec.link_url.trim();
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
        _ => {
            return Err(invalid(
                "link_url".to_owned(),
                format!("`{url}` is not an http(s) URL; Google needs the landing page's address"),
            ));
        }
    }
    Ok(RsaCopy {
        headlines,
        descriptions,
        final_url: url.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(headlines: &[&str], descriptions: &[&str], url: &str) -> CreativeSpec {
        CreativeSpec {
            kiki_id: "c1".into(),
            name: "n".into(),
            headlines: headlines.iter().map(|s| s.to_string()).collect(),
            descriptions: descriptions.iter().map(|s| s.to_string()).collect(),
            primary_text: None,
            call_to_action: None,
            link_url: url.into(),
            approved: true,
        }
    }

    fn field(e: PlatformError) -> Option<String> {
        match e {
            PlatformError::InvalidRequest { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn copy_within_the_limits_passes() {
        let c = validate(&spec(
            &["A", "B", "C"],
            &["d1", "d2"],
            "https://shop.example/x",
        ))
        .unwrap();
        assert_eq!(c.headlines.len(), 3);
        assert_eq!(c.final_url, "https://shop.example/x");
        let thirty = "x".repeat(30);
        validate(&spec(
            &[&thirty, "B", "C"],
            &[&"y".repeat(90), "d2"],
            "http://a.b",
        ))
        .unwrap();
    }

    #[test]
    fn copy_beyond_the_limits_is_refused_naming_the_field() {
        let long = "x".repeat(31);
        assert_eq!(
            field(validate(&spec(&["A", "B"], &["d", "e"], "https://a.b")).unwrap_err()).as_deref(),
            Some("headlines")
        );
        let sixteen: Vec<String> = (0..16).map(|i| format!("h{i}")).collect();
        let sixteen: Vec<&str> = sixteen.iter().map(String::as_str).collect();
        assert_eq!(
            field(validate(&spec(&sixteen, &["d", "e"], "https://a.b")).unwrap_err()).as_deref(),
            Some("headlines")
        );
        assert_eq!(
            field(validate(&spec(&["A", &long, "C"], &["d", "e"], "https://a.b")).unwrap_err())
                .as_deref(),
            Some("headlines[1]")
        );
        assert_eq!(
            field(validate(&spec(&["A", "B", "C"], &["d"], "https://a.b")).unwrap_err()).as_deref(),
            Some("descriptions")
        );
        assert_eq!(
            field(
                validate(&spec(
                    &["A", "B", "C"],
                    &["d", &"y".repeat(91)],
                    "https://a.b"
                ))
                .unwrap_err()
            )
            .as_deref(),
            Some("descriptions[1]")
        );
        assert_eq!(
            field(validate(&spec(&["A", "B", "A"], &["d", "e"], "https://a.b")).unwrap_err())
                .as_deref(),
            Some("headlines[2]")
        );
        assert_eq!(
            field(validate(&spec(&["A", " ", "C"], &["d", "e"], "https://a.b")).unwrap_err())
                .as_deref(),
            Some("headlines[1]")
        );
        assert_eq!(
            field(validate(&spec(&["A", "B", "C"], &["d", "e"], "shop")).unwrap_err()).as_deref(),
            Some("link_url")
        );
    }

    #[test]
    fn wide_characters_count_twice() {
        // 16 kanji are 32 as Google counts them: over the 30 of a headline.
        let wide = "日".repeat(16);
        assert_eq!(google_length(&wide), 32);
        assert_eq!(
            field(validate(&spec(&[&wide, "B", "C"], &["d", "e"], "https://a.b")).unwrap_err())
                .as_deref(),
            Some("headlines[0]")
        );
        assert_eq!(google_length(&"日".repeat(15)), 30);
    }
}
