//! What one authenticated request costs in the identity layer: verifying the
//! access token alone (HS256), and resolving it into a `Principal` (token +
//! session check + membership and scope resolution) against SQLite, plus
//! the cost of a password sign-in with the default argon2id parameters.
//!
//! Run: `cargo bench -p kiki-identity --bench authenticate`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use kiki_core::{Clock, SystemClock};
use kiki_identity::LoginRequest;
use kiki_identity::{AuthConfig, Identity, IdentityParts, RequestMeta};
use kiki_notify::{Mail, MailConfig};
use kiki_shield::{EncryptionConfig, Keyring};
use kiki_store::{DatabaseConfig, Db};

const PASSWORD: &str = "bench-password-correct-horse";

fn setup(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> (Identity, String) {
    rt.block_on(async {
        let cfg = DatabaseConfig {
            url: format!("sqlite://{}/bench.db", dir.display()),
            ..DatabaseConfig::default()
        };
        let db = Db::connect(&cfg).await.expect("database");
        db.migrate().await.expect("migrations");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let secret = "bench-master-secret-0123456789-abcdefghij";
        let identity = Identity::new(IdentityParts {
            db: db.clone(),
            clock: clock.clone(),
            config: AuthConfig::default(),
            master_secret: secret.to_owned().into(),
            keyring: Keyring::from_config(&EncryptionConfig::default(), secret).expect("keyring"),
            audit: kiki_shield::AuditLog::new(db.clone(), clock.clone()),
            decisions: kiki_explain::Decisions::new(db.clone(), clock),
            mail: Mail::new(&MailConfig::default(), db).expect("mail"),
            public_url: "http://127.0.0.1:8080".into(),
        })
        .expect("identity");
        identity
            .create_admin("bench@example.com", PASSWORD, "Bench agency")
            .await
            .expect("admin");
        let token = identity
            .login_token(&RequestMeta::default(), &login())
            .await
            .expect("sign-in")
            .access_token;
        (identity, token)
    })
}

fn login() -> LoginRequest {
    LoginRequest {
        identifier: "bench@example.com".into(),
        password: PASSWORD.into(),
        otp: None,
        org: None,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (identity, token) = setup(&rt, dir.path());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    c.bench_function("access_token_verify_only", |b| {
        b.iter(|| identity.jwt().verify(&token, now).expect("valid"))
    });
    c.bench_function("authenticate_bearer_sqlite", |b| {
        b.iter(|| {
            rt.block_on(identity.authenticate_bearer(&token, None))
                .expect("principal")
        })
    });
    let mut g = c.benchmark_group("password_sign_in");
    g.sample_size(20);
    g.bench_function("login_token_default_argon2id", |b| {
        b.iter(|| {
            rt.block_on(identity.login_token(&RequestMeta::default(), &login()))
                .expect("sign-in")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
