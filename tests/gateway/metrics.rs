//! API Gateway metric names and values after a scripted request mix.

use crate::support::{self, get};

const API: &str = r#"
version = 1
id = "m"
name = "Metered"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /ok"
integration = { type = "MOCK", body = "ok" }
[[routes]]
key = "GET /boom"
integration = { type = "MOCK", status = 503 }
[[routes]]
key = "GET /pets/{id}"
integration = { type = "MOCK", status = 404 }
"#;

/// The value of the sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no sample `{prefix}` in:\n{text}"))
}

#[tokio::test]
async fn counts_errors_and_latency_by_route() {
    let gw = support::gateway(&[API]).await;
    let c = support::client();
    let h = "m.execute-api.localhost";
    for _ in 0..3 {
        assert_eq!(get(&c, gw.addr, h, "/prod/ok").await.status, 200);
    }
    assert_eq!(get(&c, gw.addr, h, "/prod/boom").await.status, 503);
    assert_eq!(get(&c, gw.addr, h, "/prod/pets/1").await.status, 404);
    assert_eq!(get(&c, gw.addr, h, "/prod/pets/2").await.status, 404);
    assert_eq!(get(&c, gw.addr, h, "/prod/nope").await.status, 403);

    let text = gw.gateway.metrics().encode();
    let ok = r#"{api="m",stage="prod",method="GET",resource="/ok"}"#;
    let boom = r#"{api="m",stage="prod",method="GET",resource="/boom"}"#;
    let pets = r#"{api="m",stage="prod",method="GET",resource="/pets/{id}"}"#;
    let none = r#"{api="m",stage="prod",method="",resource=""}"#;
    assert_eq!(sample(&text, &format!("causeway_Count_total{ok}")), 3.0);
    assert_eq!(
        sample(&text, &format!("causeway_5XXError_total{boom}")),
        1.0
    );
    assert_eq!(
        sample(&text, &format!("causeway_4XXError_total{pets}")),
        2.0
    );
    assert_eq!(sample(&text, &format!("causeway_4XXError_total{ok}")), 0.0);
    assert_eq!(
        sample(&text, &format!("causeway_4XXError_total{none}")),
        1.0
    );
    assert_eq!(sample(&text, &format!("causeway_Latency_count{ok}")), 3.0);
}
