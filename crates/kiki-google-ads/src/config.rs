//! Where the Google Ads API lives and how KIKI authenticates to it: the API
//! root and version, the developer token, the OAuth client and Google's
//! OAuth endpoints, and the daily operations the developer token's access
//! level allows. The developer token and the client secret are secrets:
//! `Debug` and serialisation print `***` in their place.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// The OAuth scope the Google Ads API requires
/// (<https://developers.google.com/google-ads/api/docs/oauth/overview>).
pub const ADWORDS_SCOPE: &str = "https://www.googleapis.com/auth/adwords";

/// How to reach the Google Ads API.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GoogleAdsConfig {
    /// The API root, `https://googleads.googleapis.com`.
    pub base_url: String,
    /// The API version in paths (`v23`). Versions up to v22 take a campaign's
    /// days as `startDate`/`endDate`; from v23 as `startDateTime`/`endDateTime`
    /// (Google's v23 release notes); the connector sends whichever the
    /// configured version has.
    pub api_version: String,
    /// The developer token from the manager account's API Center, sent as the
    /// `developer-token` header on every call.
    #[serde(serialize_with = "redacted")]
    pub developer_token: SecretString,
    /// The OAuth 2.0 client (Google Cloud console, type "Web application").
    pub client_id: String,
    #[serde(serialize_with = "redacted")]
    pub client_secret: SecretString,
    /// Google's authorisation endpoint.
    pub oauth_authorize_url: String,
    /// Google's token endpoint (code exchange and refresh).
    pub oauth_token_url: String,
    /// Google's revocation endpoint.
    pub oauth_revoke_url: String,
    /// The developer token's daily API operations. 15,000 is the Basic access
    /// level's limit ("Operations with Basic access level: 15,000 API
    /// operations per day", Google Ads API, "Quotas and limits",
    /// <https://developers.google.com/google-ads/api/docs/best-practices/quotas>);
    /// Explorer access has 2,880 against production accounts; Standard access
    /// has no daily limit (set it high).
    pub daily_operations_limit: u64,
}

impl Default for GoogleAdsConfig {
    fn default() -> Self {
        GoogleAdsConfig {
            base_url: "https://googleads.googleapis.com".to_owned(),
            api_version: "v23".to_owned(),
            developer_token: SecretString::from(""),
            client_id: String::new(),
            client_secret: SecretString::from(""),
            oauth_authorize_url: "https://accounts.google.com/o/oauth2/v2/auth".to_owned(),
            oauth_token_url: "https://oauth2.googleapis.com/token".to_owned(),
            oauth_revoke_url: "https://oauth2.googleapis.com/revoke".to_owned(),
            daily_operations_limit: 15_000,
        }
    }
}

impl GoogleAdsConfig {
    /// The API's major version as a number (`v23` → 23), when it has one.
    pub(crate) fn version_number(&self) -> Option<u32> {
        self.api_version
            .trim()
            .trim_start_matches('v')
            .split(['.', '_'])
            .next()?
            .parse()
            .ok()
    }

    /// Whether this version takes campaign days as `startDateTime` /
    /// `endDateTime` (v23 and later).
    pub(crate) fn uses_date_times(&self) -> bool {
        self.version_number().is_some_and(|v| v >= 23)
    }

    /// The root every REST path hangs from: `{base_url}/{api_version}`.
    pub(crate) fn api_root(&self) -> String {
        format!(
            "{}/{}",
            self.base_url.trim_end_matches('/'),
            self.api_version.trim()
        )
    }

    pub(crate) fn developer_token(&self) -> &str {
        self.developer_token.expose_secret()
    }
}

fn redacted<S: Serializer>(v: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    if v.expose_secret().is_empty() {
        s.serialize_str("")
    } else {
        s.serialize_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_googles_endpoints_and_basic_access() {
        let c = GoogleAdsConfig::default();
        assert_eq!(c.api_root(), "https://googleads.googleapis.com/v23");
        assert_eq!(c.daily_operations_limit, 15_000);
        assert!(c.uses_date_times());
        let old = GoogleAdsConfig {
            api_version: "v18".into(),
            ..GoogleAdsConfig::default()
        };
        assert_eq!(old.version_number(), Some(18));
        assert!(!old.uses_date_times());
    }

    #[test]
    fn secrets_are_not_printed_and_unknown_keys_are_refused() {
        let c: GoogleAdsConfig = serde_json::from_value(serde_json::json!({
            "developer_token": "dev-tok-XYZZY",
            "client_id": "cid.apps.googleusercontent.com",
            "client_secret": "GOCSPX-PLUGH",
            "api_version": "v21"
        }))
        .unwrap();
        assert_eq!(c.api_version, "v21");
        assert_eq!(c.base_url, "https://googleads.googleapis.com");
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("XYZZY") && !printed.contains("PLUGH"),
            "{printed}"
        );
        let out = serde_json::to_string(&c).unwrap();
        assert!(!out.contains("XYZZY") && !out.contains("PLUGH"), "{out}");
        assert!(out.contains("***"));
        let bad =
            serde_json::from_value::<GoogleAdsConfig>(serde_json::json!({"developer_tokn": "x"}));
        assert!(bad.is_err());
    }
}
