//! The admin HTTP API on a real loopback listener, publishing to a real gateway.

use std::net::SocketAddr;

use bytes::Bytes;
use causeway_admin::serve_admin;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::{api, config, open};

pub(super) struct Node {
    pub(super) admin: SocketAddr,
    gateway: SocketAddr,
    pub(super) client: Client<HttpConnector, Full<Bytes>>,
    /// The node's configuration (its data directory inside the temp dir).
    pub(super) config: causeway_model::ConfigSet,
    stop: Option<oneshot::Sender<()>>,
    _tmp: tempfile::TempDir,
}

impl Node {
    pub(super) async fn start() -> Node {
        let tmp = tempfile::tempdir().expect("tempdir");
        let set = config(tmp.path(), &[("pets", "v1")]);
        let (control, gateway) = open(&set);
        let admin_l = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
        let gw_l = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let (admin, gw_addr) = (
            admin_l.local_addr().expect("addr"),
            gw_l.local_addr().expect("addr"),
        );
        let (tx, rx) = oneshot::channel::<()>();
        let (gtx, grx) = oneshot::channel::<()>();
        tokio::spawn(serve_admin(control, admin_l, "secret".into(), async move {
            let _ = rx.await;
            let _ = gtx.send(());
        }));
        tokio::spawn(gateway.serve(gw_l, async move {
            let _ = grx.await;
        }));
        Node {
            admin,
            gateway: gw_addr,
            client: Client::builder(TokioExecutor::new()).build_http(),
            config: set,
            stop: Some(tx),
            _tmp: tmp,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.admin));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let resp = self
            .client
            .request(req.body(Full::new(body)).expect("request"))
            .await
            .expect("admin answers");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, value)
    }

    pub(super) async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call(method, path, Some("secret"), body).await
    }

    /// `GET /{stage}/` on the gateway for API `pets`.
    pub(super) async fn invoke(&self, stage: &str) -> (u16, String) {
        let req = Request::builder()
            .uri(format!("http://{}/{stage}/", self.gateway))
            .header("host", "pets.execute-api.localhost")
            .body(Full::new(Bytes::new()))
            .expect("request");
        let resp = self.client.request(req).await.expect("gateway answers");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[tokio::test]
async fn auth_and_errors() {
    let node = Node::start().await;
    assert_eq!(node.call(Method::GET, "/healthz", None, None).await.0, 200);
    for token in [None, Some("wrong"), Some("secre")] {
        let (status, body) = node.call(Method::GET, "/v1/apis", token, None).await;
        assert_eq!((status, body), (401, json!({"message": "Unauthorized"})));
    }
    let (status, _) = node.call(Method::GET, "/v1/nothing", None, None).await;
    assert_eq!(status, 401, "auth comes before routing");
    let (status, body) = node.api(Method::GET, "/v1/apis", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["id"], "pets");
    assert_eq!(body["items"][0]["type"], "HTTP");
    assert_eq!(node.api(Method::GET, "/v1/nothing", None).await.0, 404);
    assert_eq!(
        node.api(Method::GET, "/v1/apis/cats/deployments", None)
            .await
            .0,
        404
    );
    assert_eq!(
        node.api(Method::GET, "/v1/apis/cats/stages", None).await.0,
        404
    );
    assert_eq!(
        node.api(Method::DELETE, "/v1/apis/pets/stages", None)
            .await
            .0,
        405
    );
    let (status, body) = node
        .api(
            Method::PATCH,
            "/v1/apis/pets/stages/prod",
            Some(json!({"deployment_id": "ffffffffffffffff"})),
        )
        .await;
    assert_eq!(status, 404);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("causeway deployments")),
        "{body}"
    );
    let (status, _) = node
        .api(
            Method::POST,
            "/v1/apis/pets/deployments",
            Some(json!({"api": {"id": "pets"}})),
        )
        .await;
    assert_eq!(status, 400, "incomplete definition");
    let (status, _) = node
        .api(
            Method::POST,
            "/v1/apis/cats/deployments",
            Some(json!({"api": api("pets", "x")})),
        )
        .await;
    assert_eq!(status, 400, "id mismatch");
    let mut bad = serde_json::to_value(api("pets", "x")).expect("json");
    bad["routes"][1]["key"] = json!("GET /{proxy+}/tail");
    bad["routes"][0]["integration"]["status"] = json!(999);
    let (status, body) = node
        .api(
            Method::POST,
            "/v1/apis/pets/deployments",
            Some(json!({"api": bad})),
        )
        .await;
    assert_eq!(status, 400);
    let errors = body["errors"].as_array().expect("errors listed");
    assert_eq!(errors.len(), 2, "{body}");
    assert!(
        errors
            .iter()
            .all(|e| e["file"] == "<api:pets>" && e["field"].is_string())
    );
    let (status, _) = node
        .api(Method::POST, "/v1/apis/pets/stages/prod/rollback", None)
        .await;
    assert_eq!(status, 409, "nothing to roll back to");
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let node = Node::start().await;
    let mut stream = TcpStream::connect(node.admin).await.expect("connect");
    let head = format!(
        "POST /v1/apis/pets/deployments HTTP/1.1\r\nhost: x\r\nauthorization: Bearer secret\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        causeway_admin::MAX_BODY_BYTES + 1
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn deploy_update_and_rollback_are_served() {
    let node = Node::start().await;
    assert_eq!(node.invoke("prod").await, (200, "v1 blue".to_owned()));

    let (status, out) = node
        .api(
            Method::POST,
            "/v1/apis/pets/deployments",
            Some(json!({"api": api("pets", "v2"), "stages": ["prod"], "description": "two"})),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["created"], true);
    assert_eq!(out["stages"], json!(["prod"]));
    let v2 = out["deployment_id"].as_str().expect("id").to_owned();
    assert_eq!(node.invoke("prod").await, (200, "v2 blue".to_owned()));
    assert_eq!(node.invoke("dev").await.1, "v1 ");

    let (status, again) = node
        .api(
            Method::POST,
            "/v1/apis/pets/deployments",
            Some(json!({"api": api("pets", "v2"), "stages": ["prod"]})),
        )
        .await;
    assert_eq!((status, &again["created"]), (200, &json!(false)));

    let (status, rec) = node
        .api(
            Method::PATCH,
            "/v1/apis/pets/stages/prod",
            Some(json!({"variables": {"color": "red"}})),
        )
        .await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["deployment_id"], v2.as_str());
    assert_eq!(node.invoke("prod").await.1, "v2 red");

    let (status, list) = node
        .api(Method::GET, "/v1/apis/pets/deployments", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let (status, one) = node
        .api(
            Method::GET,
            &format!("/v1/apis/pets/deployments/{}", &v2[..6]),
            None,
        )
        .await;
    assert_eq!((status, &one["id"]), (200, &json!(v2)));

    let (status, rec) = node
        .api(
            Method::POST,
            "/v1/apis/pets/stages/prod/rollback",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(node.invoke("prod").await.1, "v1 red");
    let (status, rec) = node
        .api(
            Method::POST,
            "/v1/apis/pets/stages/prod/rollback",
            Some(json!({"deployment_id": v2})),
        )
        .await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(node.invoke("prod").await.1, "v2 red");

    let (status, stages) = node.api(Method::GET, "/v1/stages", None).await;
    assert_eq!(status, 200);
    assert_eq!(stages["items"].as_array().map(Vec::len), Some(2));
}
