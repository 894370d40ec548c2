//! Unit tests of configuration loading, validation and redaction.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_need_no_configuration_at_all() {
    let c = Config::load_from(None, env(&[])).unwrap();
    assert_eq!(c.http.bind, "127.0.0.1:8080");
    assert_eq!(c.database.url, "sqlite://data/kiki.db");
    assert_eq!(c.roles, "all");
    c.validate().unwrap();
}

#[test]
fn environment_overrides_the_file_which_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kiki.toml");
    std::fs::write(&file, "[http]\nbind = \"0.0.0.0:9000\"\nrequest_timeout_secs = 5\n[database]\nmax_connections = 7\n").unwrap();
    let c = Config::load_from(
        Some(&file),
        env(&[
            ("KIKI__HTTP__REQUEST_TIMEOUT_SECS", "9"),
            ("KIKI__HTTP__RATE_LIMIT__BURST", "3"),
        ]),
    )
    .unwrap();
    assert_eq!(c.http.bind, "0.0.0.0:9000");
    assert_eq!(c.http.request_timeout_secs, 9);
    assert_eq!(c.http.rate_limit.burst, 3);
    assert_eq!(c.database.max_connections, 7);
}

#[test]
fn a_misspelt_key_is_reported_with_its_path() {
    let e = Config::load_from(None, env(&[("KIKI__HTTP__BINDD", "x")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bindd"), "{e}");
}

#[test]
fn production_refuses_placeholder_secrets_and_sqlite_naming_the_setting() {
    let c = Config::load_from(
        None,
        env(&[
            ("KIKI__ENV", "production"),
            ("KIKI__SECURITY__SECRET_KEY", "changeme"),
        ]),
    )
    .unwrap();
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("KIKI__SECURITY__SECRET_KEY"), "{e}");
    assert!(e.contains("KIKI__DATABASE__URL"), "{e}");
    let ok = Config::load_from(
        None,
        env(&[
            ("KIKI__ENV", "production"),
            (
                "KIKI__SECURITY__SECRET_KEY",
                "q8V3nX0aL2pR7tY5wK9mB4cE6hJ1sD0fG",
            ),
            ("KIKI__DATABASE__URL", "postgres://kiki:pw@db/kiki"),
            ("KIKI__MAIL__TRANSPORT", "smtp"),
            ("KIKI__MAIL__SMTP_URL", "smtp://mail.example.com:587"),
        ]),
    )
    .unwrap();
    ok.validate().unwrap();
}

#[test]
fn the_example_file_loads_and_is_valid() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../kiki.example.toml"
    ));
    let c = Config::load_from(Some(path), env(&[])).unwrap();
    c.validate().unwrap();
    assert_eq!(c.auth.access_token_ttl_secs, 900);
    assert_eq!(c.bootstrap.demo, Some(true));
}

#[test]
fn cors_wildcard_with_credentials_is_refused() {
    let c = Config::load_from(
        None,
        env(&[
            ("KIKI__HTTP__CORS__ALLOWED_ORIGINS", "[\"*\"]"),
            ("KIKI__HTTP__CORS__ALLOW_CREDENTIALS", "true"),
        ]),
    )
    .unwrap();
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("allow_credentials")
    );
}

#[test]
fn the_redacted_view_never_shows_secrets() {
    let c = Config::load_from(
        None,
        env(&[
            (
                "KIKI__SECURITY__SECRET_KEY",
                "super-secret-value-1234567890abcdef",
            ),
            ("KIKI__DATABASE__URL", "postgres://kiki:hunter2@db/kiki"),
            ("KIKI__REDIS__URL", "redis://:redispw@cache:6379"),
        ]),
    )
    .unwrap();
    let shown = c.redacted_toml();
    for secret in ["super-secret-value", "hunter2", "redispw"] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
    assert!(shown.contains("postgres://kiki:***@db/kiki"));
}
