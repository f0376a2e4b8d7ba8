//! JWT authorizer cost: header parse, key lookup, signature check and claim checks of one
//! token (`causeway_gateway::jwt::verify`), per algorithm, with the fixture keys.
//!
//! Run: `cargo bench --bench jwt -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::path::Path;

use causeway_gateway::jwt::{KeySet, Policy, Verifier, verify};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt");
const NOW: u64 = 1_800_000_000;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn token(kid: &str, alg: Algorithm, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    let claims = serde_json::json!({
        "iss": "https://idp.example", "aud": "api", "sub": "user-42",
        "exp": NOW + 3600, "iat": NOW, "scope": "pets:read pets:write",
    });
    jsonwebtoken::encode(&header, &claims, key).unwrap_or_else(|e| panic!("sign: {e}"))
}

fn bench_verify(c: &mut Criterion) {
    let (keys, skipped) = KeySet::parse(&read("jwks.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(skipped.is_empty(), "{skipped:?}");
    let policy = Policy {
        issuer: "https://idp.example".into(),
        audiences: vec!["api".into()],
        leeway: 60,
    };
    let verifier = Verifier::new(policy, &["RS256".into(), "ES256".into(), "EdDSA".into()]);
    let pem = |name: &str| read(name);
    let cases = [
        (
            "RS256",
            token(
                "rsa-1",
                Algorithm::RS256,
                &EncodingKey::from_rsa_pem(&pem("rsa-1.pem")).unwrap_or_else(|e| panic!("{e}")),
            ),
        ),
        (
            "ES256",
            token(
                "ec-1",
                Algorithm::ES256,
                &EncodingKey::from_ec_pem(&pem("ec-1.pem")).unwrap_or_else(|e| panic!("{e}")),
            ),
        ),
        (
            "EdDSA",
            token(
                "ed-1",
                Algorithm::EdDSA,
                &EncodingKey::from_ed_pem(&pem("ed-1.pem")).unwrap_or_else(|e| panic!("{e}")),
            ),
        ),
    ];
    let mut group = c.benchmark_group("jwt_verify");
    for (name, tok) in &cases {
        assert!(
            verify(tok, &keys, &verifier, NOW).is_ok(),
            "{name} verifies"
        );
        group.bench_function(*name, |b| {
            b.iter(|| verify(black_box(tok), &keys, &verifier, NOW).is_ok())
        });
    }
    // A token refused before any signature work (unknown kid): the cost of junk.
    let junk = token(
        "nope",
        Algorithm::EdDSA,
        &EncodingKey::from_ed_pem(&pem("ed-1.pem")).unwrap_or_else(|e| panic!("{e}")),
    );
    group.bench_function("unknown_kid", |b| {
        b.iter(|| verify(black_box(&junk), &keys, &verifier, NOW).is_err())
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
