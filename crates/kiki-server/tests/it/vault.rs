//! Vault as a configuration source, against a local fake of Vault's HTTP
//! API: the three auth methods, KV v2 layering and its precedence, token
//! renewal and re-login, rotation while running, and the errors at start-up.
//! Secret values never appear in `Debug` output or in the logs.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kiki_server::Config;
use kiki_server::vault::{self, LiveConfig};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FILE_SECRET: &str = "file-secret-key-that-is-long-enough-0001";
const VAULT_SECRET: &str = "vault-secret-key-that-is-long-enough-0002";
const REDIS_PASSWORD: &str = "redis-pass-from-vault-77";
const LLM_KEY: &str = "sk-llm-key-first-0123456789";
const LLM_KEY_ROTATED: &str = "sk-llm-key-rotated-9876543210";
/// base64 of 32 bytes of 1s and of 2s: field-encryption keys k1 and k2.
const KEY_K1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const KEY_K2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// A directory with `kiki.toml` holding `toml`, and helper files.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(toml: &str) -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kiki.toml"), toml).unwrap();
        Files { dir }
    }
    fn config(&self) -> PathBuf {
        self.dir.path().join("kiki.toml")
    }
    fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        let mut f = std::fs::File::create(&p).unwrap();
        writeln!(f, "{content}").unwrap();
        p
    }
}

fn kv(data: Value, version: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "data": {"data": data, "metadata": {"version": version, "destroyed": false}}
    }))
}

fn login(token: &str, ttl: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "auth": {"client_token": token, "lease_duration": ttl, "renewable": true, "policies": ["kiki-api"]}
    }))
}

fn common() -> Value {
    json!({
        "security.secret_key": VAULT_SECRET,
        "redis.url": format!("redis://:{REDIS_PASSWORD}@redis:6379/0"),
        "database.url": "postgres://kiki:db-pass-from-vault@db:5432/kiki",
        "http.body_limit_bytes": 2048,
        "encryption.current_key": "k1",
        "encryption.keys.k1": KEY_K1,
    })
}

fn planner(key: &str) -> Value {
    json!({
        "campaigns.llm.base_url": "https://api.openai.com/v1",
        "campaigns.llm.model": "gpt-4o-mini",
        "campaigns.llm.api_key": key,
    })
}

/// Every log line written while the guard lives, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(sub)
    }
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn no_secret_in(text: &str) {
    for s in [
        VAULT_SECRET,
        REDIS_PASSWORD,
        LLM_KEY,
        LLM_KEY_ROTATED,
        "db-pass-from-vault",
        "root-token-123",
        "approle-token-1",
        "approle-token-2",
        "secret-id-abc",
        "k8s-jwt-xyz",
        KEY_K1,
        KEY_K2,
    ] {
        assert!(!text.contains(s), "`{s}` leaked into: {text}");
    }
}

fn llm_key(cfg: &Config) -> Option<String> {
    cfg.module_section("campaigns")?["llm"]["api_key"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn a_token_reads_kv_v2_secrets_layered_over_the_file_under_the_environment() {
    let vault = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/common"))
        .and(header("X-Vault-Token", "root-token-123"))
        .and(header("X-Vault-Namespace", "team-ads"))
        .respond_with(kv(common(), 3))
        .expect(1)
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/planner"))
        .and(header("X-Vault-Token", "root-token-123"))
        .respond_with(kv(planner(LLM_KEY), 1))
        .expect(1)
        .mount(&vault)
        .await;
    let files = Files::new(&format!(
        r#"
[security]
secret_key = "{FILE_SECRET}"
[http]
bind = "127.0.0.1:9999"
[vault]
address = "{}"
namespace = "team-ads"
paths = ["common", "planner"]
[vault.auth]
method = "token"
token = "root-token-123"
"#,
        vault.uri()
    ));
    let env = vec![
        // The emergency override: the environment wins over Vault.
        (
            "KIKI__DATABASE__URL".to_owned(),
            "postgres://kiki@override:5432/kiki".to_owned(),
        ),
        ("UNRELATED".to_owned(), "x".to_owned()),
    ];
    let logs = Logs::default();
    let _g = logs.install();
    let cfg = vault::load(Some(&files.config()), env).await.unwrap();

    assert_eq!(
        cfg.security.secret_key.expose_secret(),
        VAULT_SECRET,
        "Vault over the file"
    );
    assert_eq!(
        cfg.http.bind, "127.0.0.1:9999",
        "file keys Vault does not hold stay"
    );
    assert_eq!(
        cfg.http.body_limit_bytes, 2048,
        "typed values keep their type"
    );
    assert_eq!(
        cfg.database.url, "postgres://kiki@override:5432/kiki",
        "environment over Vault"
    );
    assert!(
        cfg.redis
            .url
            .as_ref()
            .unwrap()
            .expose_secret()
            .contains(REDIS_PASSWORD)
    );
    assert_eq!(
        llm_key(&cfg).as_deref(),
        Some(LLM_KEY),
        "a module section from a later path"
    );
    let source = cfg.vault_source.clone().expect("the Vault layer is kept");
    assert_eq!(source.overridden(), vec!["database.url".to_owned()]);
    assert!(source.keys().contains(&"campaigns.llm.api_key".to_owned()));

    source.log_startup();
    let text = logs.text();
    assert!(
        text.contains("an environment variable overrides a value read from Vault"),
        "{text}"
    );
    assert!(text.contains("KIKI__DATABASE__URL"), "{text}");
    no_secret_in(&text);
    no_secret_in(&format!("{cfg:?}"));
    no_secret_in(&cfg.redacted_toml());
}

#[tokio::test]
async fn approle_logs_in_with_the_secret_id_from_its_file() {
    let vault = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .and(body_json(
            json!({"role_id": "kiki-api-role", "secret_id": "secret-id-abc"}),
        ))
        .respond_with(login("approle-token-1", 3600))
        .expect(1)
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/common"))
        .and(header("X-Vault-Token", "approle-token-1"))
        .respond_with(kv(common(), 1))
        .expect(1)
        .mount(&vault)
        .await;
    let files = Files::new("");
    let secret_id = files.write("secret-id", "secret-id-abc");
    let toml = format!(
        r#"
[vault]
address = "{}"
[vault.auth]
method = "approle"
role_id = "kiki-api-role"
secret_id_file = "{}"
"#,
        vault.uri(),
        secret_id.display()
    );
    std::fs::write(files.config(), toml).unwrap();
    let cfg = vault::load(Some(&files.config()), vec![]).await.unwrap();
    assert_eq!(cfg.security.secret_key.expose_secret(), VAULT_SECRET);
    no_secret_in(&format!("{cfg:?}"));
}

#[tokio::test]
async fn kubernetes_auth_sends_the_service_account_jwt_and_role() {
    let vault = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/k8s-prod/login"))
        .and(body_json(
            json!({"role": "kiki-worker", "jwt": "k8s-jwt-xyz"}),
        ))
        .respond_with(login("k8s-token-1", 600))
        .expect(1)
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/common"))
        .and(header("X-Vault-Token", "k8s-token-1"))
        .respond_with(kv(common(), 1))
        .expect(1)
        .mount(&vault)
        .await;
    let files = Files::new("");
    let jwt = files.write("token", "k8s-jwt-xyz");
    std::fs::write(
        files.config(),
        format!(
            r#"
[vault]
address = "{}"
[vault.auth]
method = "kubernetes"
mount = "k8s-prod"
role = "kiki-worker"
jwt_file = "{}"
"#,
            vault.uri(),
            jwt.display()
        ),
    )
    .unwrap();
    let cfg = vault::load(Some(&files.config()), vec![]).await.unwrap();
    assert_eq!(cfg.http.body_limit_bytes, 2048);
}

/// An AppRole configuration against `vault`, reading `common` and `planner`.
async fn approle_setup(vault: &MockServer) -> (Files, Config) {
    let files = Files::new("");
    let secret_id = files.write("secret-id", "secret-id-abc");
    std::fs::write(
        files.config(),
        format!(
            r#"
[vault]
address = "{}"
paths = ["common", "planner"]
[vault.auth]
method = "approle"
role_id = "kiki-api-role"
secret_id_file = "{}"
"#,
            vault.uri(),
            secret_id.display()
        ),
    )
    .unwrap();
    let cfg = vault::load(Some(&files.config()), vec![]).await.unwrap();
    (files, cfg)
}

#[tokio::test]
async fn the_token_is_renewed_and_a_failed_renewal_logs_in_again() {
    let vault = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .respond_with(login("approle-token-1", 60))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&vault)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .respond_with(login("approle-token-2", 60))
        .with_priority(2)
        .mount(&vault)
        .await;
    for p in ["common", "planner"] {
        Mock::given(method("GET"))
            .and(path(format!("/v1/kiki/data/{p}")))
            .respond_with(kv(
                if p == "common" {
                    common()
                } else {
                    planner(LLM_KEY)
                },
                1,
            ))
            .mount(&vault)
            .await;
    }
    // The first renewal succeeds, the second is refused (the token hit its max TTL).
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/renew-self"))
        .and(header("X-Vault-Token", "approle-token-1"))
        .respond_with(login("approle-token-1", 60))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&vault)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/renew-self"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"errors": ["permission denied"]})),
        )
        .with_priority(2)
        .expect(1)
        .mount(&vault)
        .await;
    let (_files, cfg) = approle_setup(&vault).await;
    let source = cfg.vault_source.clone().unwrap();
    let client = source.new_client().unwrap();
    assert!(
        !source.renew(&client).await.unwrap(),
        "renewed, no new login"
    );
    assert!(
        source.renew(&client).await.unwrap(),
        "refused, so logged in again"
    );
    // The new token is the one used from now on.
    let reads = vault.received_requests().await.unwrap();
    let logins = reads
        .iter()
        .filter(|r| r.url.path() == "/v1/auth/approle/login")
        .count();
    assert_eq!(logins, 2);
    let before = reads.len();
    source.read_all(&client).await.unwrap();
    let after = vault.received_requests().await.unwrap();
    for r in &after[before..] {
        assert_eq!(r.headers.get("x-vault-token").unwrap(), "approle-token-2");
    }
}

#[tokio::test]
async fn a_403_on_read_logs_in_again_and_retries() {
    let vault = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .respond_with(login("approle-token-1", 3600))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&vault)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .respond_with(login("approle-token-2", 3600))
        .with_priority(2)
        .mount(&vault)
        .await;
    // The first token is revoked before the first read.
    Mock::given(method("GET"))
        .and(header("X-Vault-Token", "approle-token-1"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/common"))
        .and(header("X-Vault-Token", "approle-token-2"))
        .respond_with(kv(common(), 1))
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/planner"))
        .and(header("X-Vault-Token", "approle-token-2"))
        .respond_with(kv(planner(LLM_KEY), 1))
        .mount(&vault)
        .await;
    let (_files, cfg) = approle_setup(&vault).await;
    assert_eq!(llm_key(&cfg).as_deref(), Some(LLM_KEY));
}

#[tokio::test]
async fn rotated_values_are_applied_where_reloadable_and_wait_for_a_restart_otherwise() {
    let vault = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .respond_with(login("approle-token-1", 3600))
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/common"))
        .respond_with(kv(common(), 1))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/planner"))
        .respond_with(kv(planner(LLM_KEY), 1))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&vault)
        .await;
    let (_files, cfg) = approle_setup(&vault).await;
    let live = LiveConfig::new(Arc::new(cfg.clone()));
    let mut changes = live.subscribe();

    // Rotation in Vault: the model key and a new encryption key (reloadable),
    // the database password (not).
    let mut rotated_common = common();
    rotated_common["database.url"] = json!("postgres://kiki:db-pass-rotated@db:5432/kiki");
    rotated_common["encryption.keys.k2"] = json!(KEY_K2);
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/common"))
        .respond_with(kv(rotated_common, 2))
        .with_priority(2)
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/planner"))
        .respond_with(kv(planner(LLM_KEY_ROTATED), 2))
        .with_priority(2)
        .mount(&vault)
        .await;

    let logs = Logs::default();
    let _g = logs.install();
    let source = cfg.vault_source.clone().unwrap();
    let client = source.new_client().unwrap();
    let refresh = source.refresh(&client, &live).await.unwrap();
    assert_eq!(
        refresh.applied,
        vec![
            "campaigns.llm.api_key".to_owned(),
            "encryption.keys.k2".to_owned()
        ]
    );
    assert_eq!(refresh.needs_restart, vec!["database.url".to_owned()]);

    assert!(changes.has_changed().unwrap(), "subscribers are told");
    let now = changes.borrow_and_update().clone();
    assert_eq!(llm_key(&now).as_deref(), Some(LLM_KEY_ROTATED));
    assert!(
        now.encryption.keys.contains_key("k2"),
        "the added key is live"
    );
    assert_eq!(now.encryption.current_key.as_deref(), Some("k1"));
    assert_eq!(
        now.database.url, "postgres://kiki:db-pass-from-vault@db:5432/kiki",
        "a restart-only key keeps its start-up value"
    );
    let text = logs.text();
    assert!(
        text.contains("database.url"),
        "the warning names the key: {text}"
    );
    assert!(text.contains("takes effect at the next restart"), "{text}");
    no_secret_in(&text);
    assert!(!text.contains("db-pass-rotated"), "{text}");

    // Read again with nothing changed: nothing to apply.
    let again = source.refresh(&client, &live).await.unwrap();
    assert!(again.applied.is_empty(), "{again:?}");
    assert_eq!(
        again.needs_restart,
        vec!["database.url".to_owned()],
        "still pending"
    );
}

#[tokio::test]
async fn an_unreachable_vault_is_a_start_up_error_naming_the_address() {
    // A port nothing listens on: bind, note it, close.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let files = Files::new(&format!(
        r#"
env = "production"
[outbound]
max_attempts = 1
[vault]
address = "http://{addr}"
[vault.auth]
token = "root-token-123"
"#
    ));
    let err = vault::load(Some(&files.config()), vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("unreachable"), "{err}");
    assert!(err.contains(&addr.to_string()), "{err}");
    no_secret_in(&err);
}

#[tokio::test]
async fn a_missing_path_is_a_start_up_error_naming_it() {
    let vault = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/common"))
        .respond_with(kv(common(), 1))
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kiki/data/creative"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"errors": []})))
        .mount(&vault)
        .await;
    let files = Files::new(&format!(
        r#"
[vault]
address = "{}"
paths = ["common", "creative"]
[vault.auth]
token = "root-token-123"
"#,
        vault.uri()
    ));
    let err = vault::load(Some(&files.config()), vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("kiki/data/creative"), "{err}");
    assert!(err.contains("404"), "{err}");
}

#[tokio::test]
async fn vault_settings_are_checked_before_any_call() {
    let files = Files::new(
        r#"
[vault]
address = "vault.internal:8200"
[vault.auth]
method = "approle"
"#,
    );
    let err = vault::load(Some(&files.config()), vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("vault.address"), "{err}");
    assert!(err.contains("vault.auth.role_id"), "{err}");
}

#[tokio::test]
async fn without_an_address_vault_is_not_read() {
    let files = Files::new("[security]\nsecret_key = \"x\"\n");
    let cfg = vault::load(Some(&files.config()), vec![]).await.unwrap();
    assert!(cfg.vault_source.is_none());
    assert!(!cfg.vault.enabled());
}
