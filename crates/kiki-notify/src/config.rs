//! The `[mail]` settings: which transport delivers mail, the sender, and the
//! SMTP server. The SMTP URL may hold a password, so it is a secret: `Debug`
//! and `Serialize` print `***` in its place.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

kiki_core::string_enum! {
    /// How mail leaves the system.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum MailTransportKind {
        /// Stored in the database and shown in the app / API (development, trials).
        #[default]
        Outbox = "outbox",
        /// Sent through the SMTP server of `mail.smtp_url` (production).
        Smtp = "smtp",
    }
}

/// The `[mail]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `outbox` (default: mail is stored in the database and shown in the app / API) or `smtp`.
    pub transport: MailTransportKind,
    /// The sender, as a mailbox: `Name <address>` or a bare address.
    pub from: String,
    /// e.g. `smtps://user:pass@smtp.example.com:465`, `smtp://host:587?tls=required`
    /// or `smtp://host:25` (lettre's URL form). Serialised as `***` when set.
    #[serde(serialize_with = "serialize_secret_url")]
    pub smtp_url: Option<SecretString>,
    /// Seconds one SMTP delivery may take, from connecting to the server's
    /// final answer.
    pub timeout_secs: u64,
    /// Not a setting (no file or variable can set it): test harnesses set it
    /// in code to keep the last this-many messages as delivered, secrets
    /// included, in memory for [`crate::Mail::captured_to`]. 0 (always in a
    /// running server): nothing is kept.
    #[serde(skip)]
    pub capture_sent: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            transport: MailTransportKind::Outbox,
            from: "KIKI <kiki@localhost>".to_owned(),
            smtp_url: None,
            timeout_secs: 10,
            capture_sent: 0,
        }
    }
}

impl PartialEq for MailConfig {
    fn eq(&self, other: &Self) -> bool {
        self.transport == other.transport
            && self.from == other.from
            && self.timeout_secs == other.timeout_secs
            && self.capture_sent == other.capture_sent
            && match (&self.smtp_url, &other.smtp_url) {
                (None, None) => true,
                (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
                _ => false,
            }
    }
}

fn serialize_secret_url<S: serde::Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("***"),
        None => s.serialize_none(),
    }
}

impl MailConfig {
    /// Everything wrong with these settings, each as a sentence naming the
    /// setting to fix (empty when they can work). [`crate::Mail::new`]
    /// refuses settings with problems.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            p.push(format!(
                "mail.from `{}` is not a mailbox; use `Name <address@example.com>` or a bare address.",
                self.from
            ));
        }
        if self.timeout_secs == 0 {
            p.push("mail.timeout_secs must be at least 1.".to_owned());
        }
        if self.transport == MailTransportKind::Smtp {
            match &self.smtp_url {
                None => p.push(
                    "mail.transport is smtp but mail.smtp_url is not set (KIKI__MAIL__SMTP_URL)."
                        .to_owned(),
                ),
                Some(url) => {
                    let url = url.expose_secret();
                    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                        p.push("mail.smtp_url must start with smtp:// or smtps://.".to_owned());
                    }
                }
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_outbox_with_a_local_sender() {
        let c = MailConfig::default();
        assert_eq!(c.transport, MailTransportKind::Outbox);
        assert_eq!(c.from, "KIKI <kiki@localhost>");
        assert!(c.smtp_url.is_none());
        assert_eq!(c.timeout_secs, 10);
        assert!(c.problems().is_empty());
    }

    #[test]
    fn the_smtp_url_is_never_printed_or_serialised() {
        let c = MailConfig {
            transport: MailTransportKind::Smtp,
            smtp_url: Some(SecretString::from(
                "smtps://me:hunter2@smtp.example.com:465",
            )),
            ..MailConfig::default()
        };
        let json = serde_json::to_string(&c).expect("json");
        assert_eq!(
            json,
            r#"{"transport":"smtp","from":"KIKI <kiki@localhost>","smtp_url":"***","timeout_secs":10}"#
        );
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn settings_deserialise_and_unknown_fields_are_refused() {
        let c: MailConfig = serde_json::from_str(
            r#"{"transport":"smtp","smtp_url":"smtp://127.0.0.1:2525","timeout_secs":3}"#,
        )
        .expect("valid");
        assert_eq!(c.transport, MailTransportKind::Smtp);
        assert_eq!(
            c.smtp_url.as_ref().map(|s| s.expose_secret().to_owned()),
            Some("smtp://127.0.0.1:2525".to_owned())
        );
        assert_eq!(c.from, "KIKI <kiki@localhost>");
        assert!(serde_json::from_str::<MailConfig>(r#"{"smtp":"x"}"#).is_err());
        assert!(serde_json::from_str::<MailConfig>(r#"{"transport":"pigeon"}"#).is_err());
        // Keeping delivered mail in memory is for test harnesses, never a setting.
        assert!(serde_json::from_str::<MailConfig>(r#"{"capture_sent":5}"#).is_err());
        assert_eq!(c, c.clone());
        assert_ne!(c, MailConfig::default());
    }

    #[test]
    fn problems_name_the_setting_to_fix() {
        let check = |c: MailConfig, needle: &str| {
            let p = c.problems();
            assert!(p.iter().any(|m| m.contains(needle)), "{needle}: {p:?}");
        };
        check(
            MailConfig {
                transport: MailTransportKind::Smtp,
                ..MailConfig::default()
            },
            "mail.smtp_url is not set",
        );
        check(
            MailConfig {
                transport: MailTransportKind::Smtp,
                smtp_url: Some(SecretString::from("http://mail.example.com")),
                ..MailConfig::default()
            },
            "smtp:// or smtps://",
        );
        check(
            MailConfig {
                from: "not a mailbox".to_owned(),
                ..MailConfig::default()
            },
            "mail.from",
        );
        check(
            MailConfig {
                timeout_secs: 0,
                ..MailConfig::default()
            },
            "mail.timeout_secs",
        );
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn transport_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<MailTransportKind>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<MailTransportKind>()
        );
    }
}
