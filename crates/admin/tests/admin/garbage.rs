//! Bad input never corrupts the control plane's state: hundreds of mangled admin calls
//! (bodies, paths and methods of real deploys, stage updates, rollbacks, canaries, keys
//! and plans) against a real admin listener. Every answer is JSON and never an internal
//! error; a refused call changes nothing, in memory or on disk; no thread panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use super::http::Node;
use super::{api, open};

/// xorshift64*: deterministic, so a failure names a reproducible round.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// One to three edits of `text`: a byte replaced by a JSON-significant one, one inserted,
/// one removed, or the tail cut off.
fn mangle(text: &str, rng: &mut Rng) -> Vec<u8> {
    const BITS: &[u8] = b"{}[]\",:\\0-9enull/.%\x00\xff";
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        if bytes.len() < 2 {
            break;
        }
        let at = rng.below(bytes.len());
        let bit = BITS[rng.below(BITS.len())];
        match rng.below(4) {
            0 => bytes[at] = bit,
            1 => bytes.insert(at, bit),
            2 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// Calls that change state when they are well formed.
fn seeds(deployment: &str, plan: &str) -> Vec<(Method, String, String)> {
    let v2 = serde_json::to_string(&api("pets", "v2")).expect("api JSON");
    let prefix = &deployment[..8];
    vec![
        (
            Method::POST,
            "/v1/apis/pets/deployments".into(),
            format!(r#"{{"api": {v2}, "stages": ["dev"], "description": "two"}}"#),
        ),
        (
            Method::PATCH,
            "/v1/apis/pets/stages/prod".into(),
            r#"{"variables": {"color": "red", "size": "xl"}}"#.into(),
        ),
        (
            Method::PATCH,
            "/v1/apis/pets/stages/dev".into(),
            format!(r#"{{"deployment_id": "{prefix}"}}"#),
        ),
        (
            Method::POST,
            "/v1/apis/pets/stages/prod/rollback".into(),
            format!(r#"{{"deployment_id": "{deployment}"}}"#),
        ),
        (
            Method::PUT,
            "/v1/apis/pets/stages/prod/canary".into(),
            format!(r#"{{"deployment_id": "{prefix}", "percent_traffic": 12.5}}"#),
        ),
        (
            Method::POST,
            "/v1/apikeys".into(),
            r#"{"name": "mobile", "enabled": true, "usage_plans": []}"#.into(),
        ),
        (
            Method::POST,
            "/v1/usageplans".into(),
            r#"{"name": "gold", "throttle": {"rate": 10, "burst": 20}, "quota": {"limit": 1000, "period": "DAY"}, "stages": [{"api": "pets", "stage": "prod"}]}"#.into(),
        ),
        (
            Method::PATCH,
            format!("/v1/usageplans/{plan}"),
            r#"{"name": "silver", "throttle": null, "quota": {"limit": 5, "period": "WEEK", "offset": 2}, "stages": [{"api": "pets", "stage": "prod"}]}"#.into(),
        ),
    ]
}

impl Node {
    /// A call with a raw body; the answer must be JSON.
    async fn raw(&self, method: Method, path: &[u8], body: Vec<u8>) -> Option<(u16, Value)> {
        let path = String::from_utf8_lossy(path);
        let uri: http::Uri = format!("http://{}/{}", self.admin, path.trim_start_matches('/'))
            .parse()
            .ok()?; // A path the client itself refuses never reaches the node.
        if uri.authority().map(|a| a.as_str()) != Some(self.admin.to_string().as_str()) {
            return None;
        }
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", "Bearer secret")
            .body(Full::new(Bytes::from(body)))
            .ok()?;
        let resp = self.client.request(req).await.expect("admin answers");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{status} answer is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Some((status, value))
    }

    /// Everything the calls above can change.
    async fn state(&self) -> Value {
        let mut state = serde_json::Map::new();
        for path in [
            "/v1/stages",
            "/v1/apis/pets/deployments",
            "/v1/apikeys",
            "/v1/usageplans",
        ] {
            let (status, mut value) = self.api(Method::GET, path, None).await;
            assert_eq!(status, 200, "{path}: {value}");
            strip_volatile(&mut value);
            state.insert(path.to_owned(), value);
        }
        Value::Object(state)
    }
}

/// Usage counters and timestamps move without any call; the rest must not.
fn strip_volatile(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !k.ends_with("_at_ms") && k != "used");
            map.values_mut().for_each(strip_volatile);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_calls_are_refused_cleanly_and_change_nothing() {
    let panics = Arc::new(AtomicUsize::new(0));
    let counted = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counted.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let node = Node::start().await;
    let (_, deployments) = node
        .api(Method::GET, "/v1/apis/pets/deployments", None)
        .await;
    let first = deployments["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, plan) = node
        .api(
            Method::POST,
            "/v1/usageplans",
            Some(json!({"name": "bronze", "throttle": {"rate": 1, "burst": 1}})),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    let seeds = seeds(&first, plan["id"].as_str().expect("plan id"));
    // Each seed works as sent (so its mutations reach the code behind it).
    for (method, path, body) in &seeds {
        let (status, out) = node
            .raw(method.clone(), path.as_bytes(), body.clone().into_bytes())
            .await
            .expect("a valid path");
        assert!(status < 300, "{method} {path}: {status} {out}");
    }

    const METHODS: [Method; 5] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let mut rng = Rng(0x0dd_ba11_cafe);
    let mut before = node.state().await;
    let mut refused = 0;
    for round in 0..600 {
        let (method, path, body) = &seeds[round % seeds.len()];
        let (method, path, body) = match rng.below(6) {
            0 => (
                METHODS[rng.below(5)].clone(),
                path.as_bytes().to_vec(),
                body.as_bytes().to_vec(),
            ),
            1 => (
                method.clone(),
                mangle(path, &mut rng),
                body.as_bytes().to_vec(),
            ),
            _ => (
                method.clone(),
                path.as_bytes().to_vec(),
                mangle(body, &mut rng),
            ),
        };
        let Some((status, out)) = node.raw(method.clone(), &path, body.clone()).await else {
            continue;
        };
        let what = || {
            format!(
                "round {round}: {method} {} {}",
                String::from_utf8_lossy(&path),
                String::from_utf8_lossy(&body)
            )
        };
        assert!(status < 500, "{}: {status} {out}", what());
        let after = node.state().await;
        if status >= 400 {
            refused += 1;
            assert!(
                out["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{}: {out}",
                what()
            );
            assert_eq!(
                before,
                after,
                "{}: refused with {status} but changed state",
                what()
            );
        }
        before = after;
    }
    assert!(refused > 300, "most mangled calls are refused: {refused}");
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a call panicked a thread");

    // The node still serves (a mangled method may have deleted a stage: a valid call),
    // and what is on disk is what it had in memory.
    let (_, stages) = node.api(Method::GET, "/v1/stages", None).await;
    let serving: Vec<&str> = stages["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["api_id"] == "pets")
        .filter_map(|s| s["stage"].as_str())
        .collect();
    assert!(!serving.is_empty(), "{stages}");
    for stage in serving {
        assert_eq!(node.invoke(stage).await.0, 200, "{stage}");
    }
    let (control, _) = open(&node.config);
    let reopened = control.stages(None).expect("stages after a restart");
    let (_, live) = node.api(Method::GET, "/v1/stages", None).await;
    let mut reopened = json!({ "items": reopened });
    let mut live = live;
    strip_volatile(&mut reopened);
    strip_volatile(&mut live);
    assert_eq!(reopened, live, "the data directory holds the node's state");
}
