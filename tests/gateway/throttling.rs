//! Throttling at each level, strictest first, and usage-plan quotas.

use std::sync::Arc;

use causeway_gateway::{KeyBinding, PlanBinding};
use causeway_model::{NodeConfig, QuotaPeriodSpec, QuotaSpec, ThrottleSpec};

use crate::support::{self, get, send};

const API: &str = r#"
version = 1
id = "t"
name = "Throttled"
type = "REST"
[[stages]]
name = "prod"
throttle = { rate = 0.001, burst = 4 }
[[stages]]
name = "free"
[[routes]]
key = "GET /strict"
throttle = { rate = 0.001, burst = 2 }
integration = { type = "MOCK", body = "strict" }
[[routes]]
key = "GET /loose"
integration = { type = "MOCK", body = "loose" }
[[routes]]
key = "GET /metered"
api_key_required = true
integration = { type = "MOCK", body = "metered" }
"#;

const HOST: &str = "t.execute-api.localhost";

fn assert_429(r: &support::Reply, message: &str) {
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["message"], message);
}

#[tokio::test]
async fn route_limit_then_stage_limit_strictest_wins() {
    let gw = support::gateway(&[API]).await;
    let c = support::client();
    // Route: burst 2.
    for _ in 0..2 {
        assert_eq!(get(&c, gw.addr, HOST, "/prod/strict").await.status, 200);
    }
    assert_429(
        &get(&c, gw.addr, HOST, "/prod/strict").await,
        "Too Many Requests",
    );
    // Stage: burst 4 in all; two tokens were taken by the allowed /strict calls only
    // (a refused request charges nothing).
    for _ in 0..2 {
        assert_eq!(get(&c, gw.addr, HOST, "/prod/loose").await.status, 200);
    }
    assert_429(
        &get(&c, gw.addr, HOST, "/prod/loose").await,
        "Too Many Requests",
    );
    // Another stage has its own (absent) limits.
    for _ in 0..10 {
        assert_eq!(get(&c, gw.addr, HOST, "/free/loose").await.status, 200);
    }
    let metrics = gw.gateway.metrics().encode();
    assert!(
        metrics.contains(r#"causeway_ThrottleCount_total{api="t",stage="prod",method="GET",resource="/strict"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn node_limit_applies_to_every_api() {
    let mut node = NodeConfig::default();
    node.node.throttle = ThrottleSpec {
        rate: 0.001,
        burst: 3,
    };
    let gw = support::gateway_with(node, &[API]).await;
    let c = support::client();
    for _ in 0..3 {
        assert_eq!(get(&c, gw.addr, HOST, "/free/loose").await.status, 200);
    }
    assert_429(
        &get(&c, gw.addr, HOST, "/free/loose").await,
        "Too Many Requests",
    );
}

#[tokio::test]
async fn usage_plan_throttle_and_quota_per_key() {
    let gw = support::gateway(&[API]).await;
    let plan = |id: &str, throttle, quota| {
        Arc::new(PlanBinding {
            id: id.into(),
            throttle,
            quota,
            stages: vec![("t".into(), "free".into())],
            method_throttles: Vec::new(),
            created_at_ms: 0,
        })
    };
    let burst_plan = plan(
        "p-burst",
        Some(ThrottleSpec {
            rate: 0.001,
            burst: 2,
        }),
        None,
    );
    let quota_plan = plan(
        "p-quota",
        None,
        Some(QuotaSpec {
            limit: 3,
            period: QuotaPeriodSpec::Day,
            offset: 0,
        }),
    );
    let key = |id: &str, value: &str, p: &Arc<PlanBinding>| KeyBinding {
        id: id.into(),
        hash: causeway_store_hash(value),
        enabled: true,
        plans: vec![p.clone()],
    };
    gw.gateway.publish_keys(vec![
        key("k-a", "aaaaaaaaaaaaaaaaaaaaaaaa", &burst_plan),
        key("k-b", "bbbbbbbbbbbbbbbbbbbbbbbb", &quota_plan),
        key("k-c", "cccccccccccccccccccccccc", &quota_plan),
    ]);
    let c = support::client();
    let call = |k: &'static str| {
        let c = c.clone();
        let addr = gw.addr;
        async move {
            send(
                &c,
                addr,
                "GET",
                HOST,
                "/free/metered",
                &[("x-api-key", k)],
                "",
            )
            .await
        }
    };
    for _ in 0..2 {
        assert_eq!(call("aaaaaaaaaaaaaaaaaaaaaaaa").await.status, 200);
    }
    assert_429(&call("aaaaaaaaaaaaaaaaaaaaaaaa").await, "Too Many Requests");
    for _ in 0..3 {
        assert_eq!(call("bbbbbbbbbbbbbbbbbbbbbbbb").await.status, 200);
    }
    assert_429(&call("bbbbbbbbbbbbbbbbbbbbbbbb").await, "Limit Exceeded");
    // Each key has its own quota.
    assert_eq!(call("cccccccccccccccccccccccc").await.status, 200);
    let (_, used, allowance) = gw
        .gateway
        .quota_usage("k-b", "p-quota")
        .expect("quota usage");
    assert_eq!((used, allowance), (3, 3));
}

fn causeway_store_hash(value: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(value.as_bytes()))
}
