//! The connector's settings: where the Graph API is, which version to speak,
//! the Meta app KIKI acts as (its id and secret), the scopes it asks for, and
//! the Facebook Page and Meta Pixel each ad account advertises with (the port's
//! account reference does not carry them). The app secret is never printed:
//! `Debug` and serialisation show `***` in its place.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The Graph API version the connector speaks unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "v21.0";

/// How to reach Meta and as which app.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaConfig {
    /// The Graph API root, without a version (`https://graph.facebook.com`).
    pub graph_base_url: String,
    /// The Graph API version in every path (`v21.0`).
    pub api_version: String,
    /// The Meta app's id (the OAuth `client_id`).
    pub app_id: String,
    /// The Meta app's secret: the OAuth `client_secret`, and the key of the
    /// `appsecret_proof` sent with every call when set. Empty: unset.
    #[serde(serialize_with = "serialize_secret")]
    pub app_secret: SecretString,
    /// The login dialog; `{version}` is replaced by `api_version`.
    pub oauth_dialog_url: String,
    /// The permissions asked for, comma-separated as Meta's dialog takes them.
    pub scopes: String,
    /// The Facebook Page ads are published as, for every account without its
    /// own in `accounts`.
    pub page_id: Option<String>,
    /// The Meta Pixel purchases and leads are optimised for, for every account
    /// without its own in `accounts`.
    pub pixel_id: Option<String>,
    /// Per ad account (the id without `act_`): its own Page and Pixel.
    pub accounts: BTreeMap<String, MetaAccountSettings>,
}

/// One ad account's Page and Pixel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaAccountSettings {
    pub page_id: Option<String>,
    pub pixel_id: Option<String>,
}

impl Default for MetaConfig {
    fn default() -> Self {
        MetaConfig {
            graph_base_url: "https://graph.facebook.com".to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            app_id: String::new(),
            app_secret: SecretString::from(""),
            oauth_dialog_url: "https://www.facebook.com/{version}/dialog/oauth".to_owned(),
            scopes: "ads_management,ads_read".to_owned(),
            page_id: None,
            pixel_id: None,
            accounts: BTreeMap::new(),
        }
    }
}

impl std::fmt::Debug for MetaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaConfig")
            .field("graph_base_url", &self.graph_base_url)
            .field("api_version", &self.api_version)
            .field("app_id", &self.app_id)
            .field("app_secret", &"***")
            .field("oauth_dialog_url", &self.oauth_dialog_url)
            .field("scopes", &self.scopes)
            .field("page_id", &self.page_id)
            .field("pixel_id", &self.pixel_id)
            .field("accounts", &self.accounts)
            .finish()
    }
}

fn serialize_secret<S: serde::Serializer>(v: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if v.expose_secret().is_empty() {
        ""
    } else {
        "***"
    })
}

impl MetaConfig {
    /// The app secret, when one is set.
    pub(crate) fn secret(&self) -> Option<&str> {
        Some(self.app_secret.expose_secret()).filter(|s| !s.is_empty())
    }

    /// `{graph_base_url}/{api_version}/{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.graph_base_url.trim_end_matches('/'),
            self.api_version.trim_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// The Page ads of `account_id` are published as.
    pub(crate) fn page_for(&self, account_id: &str) -> Option<&str> {
        self.accounts
            .get(account_id)
            .and_then(|a| a.page_id.as_deref())
            .or(self.page_id.as_deref())
            .filter(|p| !p.is_empty())
    }

    /// The Pixel conversions of `account_id` are optimised for.
    pub(crate) fn pixel_for(&self, account_id: &str) -> Option<&str> {
        self.accounts
            .get(account_id)
            .and_then(|a| a.pixel_id.as_deref())
            .or(self.pixel_id.as_deref())
            .filter(|p| !p.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_never_printed() {
        let c = MetaConfig {
            app_secret: SecretString::from("f00dfeedsecret"),
            ..MetaConfig::default()
        };
        assert!(!format!("{c:?}").contains("f00dfeed"));
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("f00dfeed"), "{json}");
        assert!(json.contains("\"app_secret\":\"***\""));
    }

    #[test]
    fn unknown_keys_are_refused_and_defaults_fill_the_rest() {
        let c: MetaConfig =
            serde_json::from_str(r#"{"app_id":"42","accounts":{"7":{"page_id":"p7"}}}"#).unwrap();
        assert_eq!(c.api_version, DEFAULT_API_VERSION);
        assert_eq!(c.scopes, "ads_management,ads_read");
        assert_eq!(c.page_for("7"), Some("p7"));
        assert_eq!(c.page_for("8"), None);
        assert!(serde_json::from_str::<MetaConfig>(r#"{"app_idd":"42"}"#).is_err());
        assert_eq!(
            MetaConfig::default().url("/act_1/campaigns"),
            "https://graph.facebook.com/v21.0/act_1/campaigns"
        );
    }
}
