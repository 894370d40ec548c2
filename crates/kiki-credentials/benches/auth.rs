//! The cost of the credential operations on the sign-in and request paths:
//! one argon2id verify (a password sign-in) and hash (sign-up, change), with
//! the OWASP minimum parameters and RFC 9106's second recommended option side
//! by side; HS256 access-token sign and verify (every API request verifies
//! one); and the SHA-256 of an API key (every API-key request hashes one).
//! Results and the command are in bench/auth/RESULTS.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiki_credentials::{
    AccessClaims, Argon2Params, JwtKeyring, PasswordHasher, new_api_key, token_hash,
};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

fn param_sets() -> [(&'static str, Argon2Params); 2] {
    [
        ("default_params", Argon2Params::default()),
        ("rfc9106_m64mib_t3_p4", Argon2Params::RFC9106_SECOND),
    ]
}

fn argon2(c: &mut Criterion) {
    let mut verify = c.benchmark_group("argon2id_verify");
    verify.sample_size(20);
    verify.throughput(Throughput::Elements(1));
    for (name, params) in param_sets() {
        let hasher = PasswordHasher::new(params).expect("valid params");
        let phc = hasher.hash(PASSWORD).expect("hash");
        assert!(hasher.verify(PASSWORD, &phc));
        verify.bench_function(name, |b| {
            b.iter(|| black_box(hasher.verify(black_box(PASSWORD), black_box(&phc))))
        });
    }
    verify.finish();

    let mut hash = c.benchmark_group("argon2id_hash");
    hash.sample_size(20);
    hash.throughput(Throughput::Elements(1));
    for (name, params) in param_sets() {
        let hasher = PasswordHasher::new(params).expect("valid params");
        hash.bench_function(name, |b| {
            b.iter(|| black_box(hasher.hash(black_box(PASSWORD))))
        });
    }
    hash.finish();
}

fn jwt(c: &mut Criterion) {
    let ring = JwtKeyring::new(
        "k1",
        vec![
            ("k1".to_owned(), vec![7u8; 32]),
            ("k0".to_owned(), vec![3u8; 32]),
        ],
        "https://kiki.example",
        "kiki-api",
    )
    .expect("valid ring");
    let now = 1_800_000_000;
    let claims = AccessClaims {
        iss: "https://kiki.example".to_owned(),
        aud: "kiki-api".to_owned(),
        sub: Uuid::now_v7(),
        org: Uuid::now_v7(),
        roles: vec!["admin".to_owned()],
        sid: Uuid::now_v7(),
        iat: now,
        exp: now + 900,
        jti: Uuid::now_v7(),
        amr: vec!["pwd".to_owned(), "mfa".to_owned()],
        sa: false,
    };
    let token = ring.sign(&claims).expect("sign");
    assert_eq!(ring.verify(&token, now).as_ref(), Ok(&claims));

    c.bench_function("jwt_sign", |b| {
        b.iter(|| black_box(ring.sign(black_box(&claims))))
    });
    c.bench_function("jwt_verify", |b| {
        b.iter(|| black_box(ring.verify(black_box(&token), black_box(now))))
    });
}

fn api_key(c: &mut Criterion) {
    let key = new_api_key();
    c.bench_function("api_key_hash_lookup", |b| {
        b.iter(|| black_box(token_hash(black_box(&key.token))))
    });
}

criterion_group!(benches, argon2, jwt, api_key);
criterion_main!(benches);
