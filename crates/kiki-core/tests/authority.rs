//! Only the authorities issue tenant scopes. `TenantScope`'s constructors
//! exist with the `authority` feature; this test reads the workspace's
//! sources and manifests and fails when a constructor is called outside the
//! authentication layer (`kiki-identity`) and the job runner
//! (`kiki-store/src/jobs`), or when another crate enables the feature for
//! its library code. Tests may build scopes.

use std::path::{Path, PathBuf};

/// Source trees allowed to construct a scope.
const AUTHORITIES: &[&str] = &[
    "kiki-core/src/",
    "kiki-identity/src/",
    "kiki-store/src/jobs/",
];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn only_the_authorities_construct_a_tenant_scope() {
    let root = crates_dir();
    let mut files = Vec::new();
    for krate in std::fs::read_dir(&root)
        .expect("crates/ is readable")
        .flatten()
    {
        rust_files(&krate.path().join("src"), &mut files);
    }
    assert!(files.len() > 50, "the workspace sources were found");
    let mut offenders = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if AUTHORITIES.iter().any(|a| rel.starts_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("TenantScope::new(") || line.contains("TenantScope::single(") {
                offenders.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a tenant scope comes from authentication or the job runner, never built here:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_the_authorities_enable_the_authority_feature() {
    let root = crates_dir();
    let mut offenders = Vec::new();
    for krate in std::fs::read_dir(&root)
        .expect("crates/ is readable")
        .flatten()
    {
        let manifest = krate.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = krate.file_name().to_string_lossy().into_owned();
        if ["kiki-identity", "kiki-store"].contains(&name.as_str()) {
            continue;
        }
        // Library dependencies only: everything before `[dev-dependencies]`.
        let libs = text.split("[dev-dependencies]").next().unwrap_or_default();
        if libs
            .lines()
            .any(|l| l.trim_start().starts_with("kiki-core") && l.contains("authority"))
        {
            offenders.push(name);
        }
    }
    assert!(
        offenders.is_empty(),
        "{offenders:?} enable kiki-core/authority"
    );
}
