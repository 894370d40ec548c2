//! The `[platforms]` configuration section: the performance sync's windows
//! (its schedule is the job `platforms.sync_all` in `[jobs.schedules]`), the
//! sandbox market's seed and clock (real or accelerated time), and where
//! OAuth callbacks return.

use serde::{Deserialize, Serialize};

/// `[platforms]` in `kiki.toml` (or `KIKI__PLATFORMS__*`). Every key has a
/// default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformsConfig {
    /// Days re-read before the last synced day on every sync, for
    /// conversions the platforms attribute late.
    pub sync_overlap_days: u32,
    /// Days read on a connection's first sync.
    pub first_sync_days: u32,
    /// Seed of the sandbox market: the same seed gives the same market.
    pub sandbox_seed: u64,
    /// Accelerated time for demos and tests: the sandbox market simulates a
    /// day every this many real seconds (1 to 86,400), and the worker syncs
    /// sandbox connections every quarter of a simulated day (at least every
    /// 2 s). Unset (the default): the market runs on the calendar.
    pub sandbox_seconds_per_day: Option<u32>,
    /// The public address of this server's API, which OAuth callbacks
    /// return to (`<public_url>/v1/platforms/oauth/callback`).
    pub public_url: String,
    /// How long a connection being made waits for its callback, seconds.
    pub oauth_state_ttl_secs: u64,
    /// The Meta app KIKI acts as (`[platforms.meta]`); without it Meta runs
    /// on the sandbox only.
    pub meta: Option<kiki_meta_ads::MetaConfig>,
    /// The Google Ads developer token and OAuth client KIKI uses
    /// (`[platforms.google]`); without it Google runs on the sandbox only.
    pub google: Option<kiki_google_ads::GoogleAdsConfig>,
}

impl Default for PlatformsConfig {
    fn default() -> Self {
        PlatformsConfig {
            sync_overlap_days: 3,
            first_sync_days: 90,
            sandbox_seed: 20_261_207,
            sandbox_seconds_per_day: None,
            public_url: "http://127.0.0.1:8080".into(),
            oauth_state_ttl_secs: 900,
            meta: None,
            google: None,
        }
    }
}

impl PlatformsConfig {
    /// Every problem, naming its key and variable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.sync_overlap_days > 28 {
            out.push(
                "platforms.sync_overlap_days must be at most 28 (KIKI__PLATFORMS__SYNC_OVERLAP_DAYS)"
                    .into(),
            );
        }
        if !(1..=366).contains(&self.first_sync_days) {
            out.push(
                "platforms.first_sync_days must be 1 to 366 (KIKI__PLATFORMS__FIRST_SYNC_DAYS)"
                    .into(),
            );
        }
        if let Some(n) = self.sandbox_seconds_per_day
            && !(1..=86_400).contains(&n)
        {
            out.push(format!(
                "platforms.sandbox_seconds_per_day must be 1 to 86400 real seconds per simulated day, or unset for real time; it is {n} (KIKI__PLATFORMS__SANDBOX_SECONDS_PER_DAY)"
            ));
        }
        let url = self.public_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
            out.push(format!(
                "platforms.public_url `{}` must be an http(s) address (KIKI__PLATFORMS__PUBLIC_URL)",
                self.public_url
            ));
        }
        if let Some(m) = &self.meta {
            use secrecy::ExposeSecret as _;
            if m.app_id.trim().is_empty() {
                out.push("platforms.meta.app_id is required when [platforms.meta] is set (KIKI__PLATFORMS__META__APP_ID)".into());
            }
            if m.app_secret.expose_secret().trim().is_empty() {
                out.push("platforms.meta.app_secret is required when [platforms.meta] is set (KIKI__PLATFORMS__META__APP_SECRET)".into());
            }
        }
        if let Some(g) = &self.google {
            use secrecy::ExposeSecret as _;
            for (value, key, var) in [
                (
                    g.developer_token.expose_secret(),
                    "developer_token",
                    "DEVELOPER_TOKEN",
                ),
                (g.client_id.as_str(), "client_id", "CLIENT_ID"),
                (
                    g.client_secret.expose_secret(),
                    "client_secret",
                    "CLIENT_SECRET",
                ),
            ] {
                if value.trim().is_empty() {
                    out.push(format!("platforms.google.{key} is required when [platforms.google] is set (KIKI__PLATFORMS__GOOGLE__{var})"));
                }
            }
        }
        if self.oauth_state_ttl_secs < 60 {
            out.push(
                "platforms.oauth_state_ttl_secs must be at least 60 (KIKI__PLATFORMS__OAUTH_STATE_TTL_SECS)"
                    .into(),
            );
        }
        out
    }

    /// The OAuth redirect address.
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}/v1/platforms/oauth/callback",
            self.public_url.trim_end_matches('/')
        )
    }
}

impl kiki_server::ModuleSettings for PlatformsConfig {
    fn problems(&self, production: bool) -> Vec<String> {
        let mut out = PlatformsConfig::problems(self);
        if production && self.public_url.starts_with("http://") {
            out.push(
                "platforms.public_url must be https in production: OAuth codes travel to it (KIKI__PLATFORMS__PUBLIC_URL)"
                    .into(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(PlatformsConfig::default().problems().is_empty());
        let bad = PlatformsConfig {
            first_sync_days: 0,
            sync_overlap_days: 40,
            ..PlatformsConfig::default()
        };
        let p = bad.problems();
        assert!(p[0].contains("platforms.sync_overlap_days"));
        assert!(p[1].contains("platforms.first_sync_days"));
        for (n, ok) in [
            (0, false),
            (1, true),
            (10, true),
            (86_400, true),
            (86_401, false),
        ] {
            let c = PlatformsConfig {
                sandbox_seconds_per_day: Some(n),
                ..PlatformsConfig::default()
            };
            let p = c.problems();
            assert_eq!(p.is_empty(), ok, "{n}: {p:?}");
            if !ok {
                assert!(p[0].contains("platforms.sandbox_seconds_per_day"), "{p:?}");
                assert!(
                    p[0].contains("KIKI__PLATFORMS__SANDBOX_SECONDS_PER_DAY"),
                    "{p:?}"
                );
            }
        }
        let c: PlatformsConfig =
            serde_json::from_value(serde_json::json!({"sandbox_seconds_per_day": 10})).unwrap();
        assert_eq!(c.sandbox_seconds_per_day, Some(10));
        let r: Result<PlatformsConfig, _> = serde_json::from_value(serde_json::json!({"x": 1}));
        assert!(r.is_err());
        assert_eq!(
            PlatformsConfig::default().redirect_uri(),
            "http://127.0.0.1:8080/v1/platforms/oauth/callback"
        );
    }
}
