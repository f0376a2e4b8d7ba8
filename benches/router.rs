//! `causeway-router` lookup latency on a realistic 1,000-route API.
//!
//! Run: `cargo bench --bench router -- --warm-up-time 1 --measurement-time 3`.
//! Target: every case ≤ 200 ns median.

use std::hint::black_box;

use causeway_router::{ApiKind, Lookup, Router};
use criterion::{Criterion, criterion_group, criterion_main};

/// 100 services × 10 routes: nested literals, one- and two-parameter paths, and a greedy proxy.
fn route_keys() -> Vec<String> {
    let mut keys = Vec::with_capacity(1_000);
    for n in 0..100 {
        keys.extend([
            format!("GET /svc{n}/items"),
            format!("POST /svc{n}/items"),
            format!("GET /svc{n}/items/{{id}}"),
            format!("PUT /svc{n}/items/{{id}}"),
            format!("DELETE /svc{n}/items/{{id}}"),
            format!("GET /svc{n}/items/{{id}}/sub{}/{{subId}}", n % 7),
            format!("PATCH /svc{n}/items/{{id}}/sub{}/{{subId}}", n % 7),
            format!("GET /svc{n}/health/live"),
            format!("OPTIONS /svc{n}/items"),
            format!("ANY /svc{n}/proxy/{{proxy+}}"),
        ]);
    }
    keys
}

fn bench_lookup(c: &mut Criterion) {
    let keys = route_keys();
    let router = match Router::build(ApiKind::Http, keys.iter().map(String::as_str)) {
        Ok(router) => router,
        Err(errors) => panic!("bench routes should build: {errors:?}"),
    };
    assert_eq!(router.len(), 1_000);

    let cases: [(&str, &str, &str, Option<usize>); 4] = [
        ("literal_hit", "GET", "/svc57/health/live", Some(577)),
        (
            "two_param_hit",
            "GET",
            "/svc57/items/8f14e45f-ceea-467f/sub1/42",
            Some(575),
        ),
        ("greedy_hit", "POST", "/svc57/proxy/a/b/c/d.json", Some(579)),
        ("miss", "GET", "/svc57/items/8f14e45f/nothing/here", None),
    ];
    let mut group = c.benchmark_group("router_lookup_1000_routes");
    for (name, method, path, expected) in cases {
        // Check the case does what its name says before timing it.
        let got = match router.lookup(method, path) {
            Lookup::Matched(m) => Some(m.route),
            Lookup::MethodNotAllowed | Lookup::NotFound => None,
        };
        assert_eq!(got, expected, "{name}: {method} {path}");
        group.bench_function(name, |b| {
            b.iter(|| black_box(router.lookup(black_box(method), black_box(path))));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_lookup);
criterion_main!(benches);
