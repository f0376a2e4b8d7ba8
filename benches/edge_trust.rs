//! What an edge's signed assertion (`x-causeway-edge-auth`, `crates/gateway/src/edge_trust.rs`)
//! costs on each side, in-process with the node's allocator and a MOCK route:
//!
//! - `edge/unsigned`, `edge/signed`: `Gateway::check_at_edge` on an open route, without and
//!   with a signing key (the difference is making the assertion: MessagePack, base64url,
//!   HMAC-SHA256);
//! - `region/plain`, `region/vouched`: the whole pipeline of a MOCK request
//!   (`Gateway::handle_head`), without the header and with a valid one from that edge (the
//!   difference is checking it and taking the client from it).
//!
//! Run: `cargo bench --bench edge_trust -- --warm-up-time 1 --measurement-time 3`.

use std::sync::Arc;

use causeway_gateway::{Body, Gateway, Peer, StageBinding, compile};
use causeway_model::{Deployment, NodeConfig};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EDGE: &str = "edge-1";
const KEY: &[u8] = b"an edge key of thirty-two bytes!";
const HOST: &str = "et.execute-api.localhost";

const API: &str = r#"
version = 1
id = "et"
name = "Edge trust bench"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /who"
integration = { type = "MOCK", body = "$context.identity.sourceIp" }
"#;

fn gateway() -> Gateway {
    let api = causeway_model::parse_api("bench.toml", API).unwrap_or_else(|e| panic!("{e}"));
    let deployment = Deployment::snapshot(&api, "bench", 0);
    let compiled =
        Arc::new(compile(&deployment, &Default::default()).unwrap_or_else(|e| panic!("{e}")));
    let gateway = Gateway::new(&NodeConfig::default());
    gateway.publish(StageBinding::every_stage_of(&api, &compiled), &[]);
    gateway
}

fn head() -> http::request::Parts {
    let request = http::Request::builder()
        .uri("/prod/who?page=2")
        .header("host", HOST)
        .header("user-agent", "bench/1.0")
        .header("accept", "*/*")
        .body(())
        .unwrap_or_else(|e| panic!("{e}"));
    request.into_parts().0
}

fn bench_edge_trust(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Peer::new(([127, 0, 0, 9], 40_000).into());
    let edge_peer = Peer::new(([127, 0, 0, 2], 40_001).into());
    let unsigned_edge = gateway();
    let edge = gateway();
    edge.sign_as_edge(EDGE, KEY);
    let region = gateway();
    region.trust_edge(EDGE, KEY);

    let sign = |gw: &Gateway| {
        rt.block_on(gw.check_at_edge(head(), &client))
            .unwrap_or_else(|_| panic!("the edge refused an open route"))
    };
    let body_of = |parts: http::request::Parts| {
        rt.block_on(async {
            let resp = region.handle_head(parts, Body::Empty, &edge_peer).await;
            assert_eq!(resp.status(), 200);
            resp.into_body().collect().await.map(|b| b.to_bytes())
        })
        .unwrap_or_else(|e| panic!("{e}"))
    };
    // The region names the client only from a vouched request.
    assert_eq!(&body_of(sign(&edge))[..], b"127.0.0.9");
    assert_eq!(&body_of(sign(&unsigned_edge))[..], b"127.0.0.2");

    let mut group = c.benchmark_group("edge_trust");
    group.bench_function("edge/unsigned", |b| {
        b.iter_batched(
            head,
            |h| rt.block_on(unsigned_edge.check_at_edge(h, &client)).is_ok(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("edge/signed", |b| {
        b.iter_batched(
            head,
            |h| rt.block_on(edge.check_at_edge(h, &client)).is_ok(),
            BatchSize::SmallInput,
        )
    });
    // Assertions live 30 s: each batch gets freshly signed heads.
    group.bench_function("region/plain", |b| {
        b.iter_batched(
            || sign(&unsigned_edge),
            |h| rt.block_on(region.handle_head(h, Body::Empty, &edge_peer)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("region/vouched", |b| {
        b.iter_batched(
            || sign(&edge),
            |h| rt.block_on(region.handle_head(h, Body::Empty, &edge_peer)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_edge_trust);
criterion_main!(benches);
