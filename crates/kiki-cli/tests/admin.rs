//! The administration commands as a real process: `kiki admin create`
//! (password from standard input, policy enforced, duplicates refused),
//! `kiki audit verify` (exit 1 naming the first broken link after a row is
//! edited in the database), and `kiki keys status` / `kiki keys rotate`
//! (an encrypted value moves from the derived key to a new configured key and
//! still decrypts).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use kiki_shield::{EncryptionConfig, Keyring, aad};
use kiki_store::sqlx::{self, Row};

fn kiki(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiki"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KIKI__") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.env("KIKI__DATABASE__URL", format!("sqlite://{}", db.display()))
        .env("KIKI__LOG__LEVEL", "warn")
        .current_dir(db.parent().unwrap());
    c
}

fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn pool(db: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
}

fn create_admin(db: &Path, email: &str, password: &str) -> Output {
    let mut c = kiki(db);
    c.args([
        "admin",
        "create",
        "--email",
        email,
        "--org",
        "Ops",
        "--password-stdin",
    ]);
    run_with_stdin(c, &format!("{password}\n"))
}

#[tokio::test]
async fn admin_create_then_audit_verify_detects_an_edited_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiki.db");

    let out = create_admin(&db, "ops@example.com", "a-long-enough-password-42");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("created administrator ops@example.com"));

    let again = create_admin(&db, "OPS@example.com", "a-long-enough-password-42");
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );

    let weak = create_admin(&db, "other@example.com", "short");
    assert!(!weak.status.success());
    assert!(
        text(&weak.stderr).contains("password"),
        "{}",
        text(&weak.stderr)
    );

    let ok = kiki(&db).args(["audit", "verify"]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}{}",
        text(&ok.stdout),
        text(&ok.stderr)
    );
    assert!(text(&ok.stdout).contains("ok "), "{}", text(&ok.stdout));

    let p = pool(&db).await;
    sqlx::query("UPDATE audit_log SET action = 'user.nothing_to_see' WHERE seq = 1")
        .execute(&p)
        .await
        .unwrap();
    p.close().await;
    let broken = kiki(&db).args(["audit", "verify"]).output().unwrap();
    assert!(!broken.status.success());
    let report = text(&broken.stdout);
    assert!(
        report.contains("BROKEN") && report.contains("seq 1"),
        "{report}"
    );
}

#[tokio::test]
async fn keys_rotate_moves_encrypted_values_to_the_current_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiki.db");
    let out = create_admin(&db, "ops@example.com", "a-long-enough-password-42");
    assert!(out.status.success(), "{}", text(&out.stderr));

    // An encrypted TOTP secret under the key derived from the (development) master secret.
    let derived = Keyring::from_config(
        &EncryptionConfig::default(),
        kiki_identity::DEVELOPMENT_SECRET,
    )
    .unwrap();
    let p = pool(&db).await;
    let row = sqlx::query("SELECT id FROM users WHERE email = 'ops@example.com'")
        .fetch_one(&p)
        .await
        .unwrap();
    let id: uuid::Uuid = row.get("id");
    let stored = derived.encrypt_str("JBSWY3DPEHPK3PXP", &aad("users", "totp_secret", id));
    assert!(stored.starts_with("v1:k0:"));
    sqlx::query("UPDATE users SET totp_secret = ?1 WHERE id = ?2")
        .bind(&stored)
        .bind(id)
        .execute(&p)
        .await
        .unwrap();

    let status = kiki(&db).args(["keys", "status"]).output().unwrap();
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(
        text(&status.stdout).contains("k0: 1"),
        "{}",
        text(&status.stdout)
    );

    let new_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // bytes 0..32
    let with_k1 = |args: &[&str]| {
        kiki(&db)
            .args(args)
            .env("KIKI__ENCRYPTION__KEYS__K1", new_key)
            .env("KIKI__ENCRYPTION__CURRENT_KEY", "k1")
            .output()
            .unwrap()
    };
    let rotated = with_k1(&["keys", "rotate", "--batch", "1"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    assert!(
        text(&rotated.stdout).contains("1 re-encrypted to k1"),
        "{}",
        text(&rotated.stdout)
    );
    let rerun = with_k1(&["keys", "rotate"]);
    assert!(
        text(&rerun.stdout).contains("0 re-encrypted"),
        "{}",
        text(&rerun.stdout)
    );
    let status = with_k1(&["keys", "status"]);
    assert!(
        text(&status.stdout).contains("k1: 1"),
        "{}",
        text(&status.stdout)
    );

    let now: String = sqlx::query("SELECT totp_secret FROM users WHERE id = ?1")
        .bind(id)
        .fetch_one(&p)
        .await
        .unwrap()
        .get(0);
    assert!(now.starts_with("v1:k1:"), "{now}");
    let cfg = EncryptionConfig {
        current_key: Some("k1".into()),
        keys: [("k1".to_owned(), new_key.to_owned().into())]
            .into_iter()
            .collect(),
        index_key: None,
    };
    let ring = Keyring::from_config(&cfg, kiki_identity::DEVELOPMENT_SECRET).unwrap();
    assert_eq!(
        ring.decrypt_str(&now, &aad("users", "totp_secret", id))
            .unwrap(),
        "JBSWY3DPEHPK3PXP"
    );
}
