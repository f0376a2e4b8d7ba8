//! `wasi:http/proxy` components: requests in, responses out, outbound HTTP only to
//! allowed hosts, and the same limits as every plugin.

use std::time::{Duration, Instant};

use bytes::Bytes;
use causeway_plugin::{
    InstancePolicy, PluginErrorKind, PluginLimits, PluginOptions, ReusePolicy, World,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support;

fn handler(options: PluginOptions) -> std::sync::Arc<causeway_plugin::Plugin> {
    support::load(
        "wasi-http",
        env!("CAUSEWAY_FIXTURE_WASI_HTTP_HANDLER"),
        World::HttpHandler,
        options,
    )
}

fn get(path: &str) -> http::Request<Bytes> {
    http::Request::get(format!("http://gateway.local{path}"))
        .body(Bytes::new())
        .expect("request")
}

/// A one-shot-per-connection HTTP/1.1 upstream on loopback answering `pong`.
async fn upstream() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let _ = conn
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
                    )
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn serves_requests() {
    let plugin = handler(PluginOptions::new(World::HttpHandler));
    let resp = plugin.handle_http(get("/hello")).await.expect("hello");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-handler"], "wasi-http-handler");
    assert_eq!(resp.body().as_ref(), b"hello from wasi:http");

    let body = Bytes::from(vec![b'z'; 100_000]);
    let req = http::Request::post("http://gateway.local/echo")
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .expect("request");
    let resp = plugin.handle_http(req).await.expect("echo");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.body(), &body);

    let resp = plugin.handle_http(get("/nope")).await.expect("404");
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn outbound_http_only_to_allowed_hosts() {
    let addr = upstream().await;
    let allowed = handler(PluginOptions::new(World::HttpHandler).allow_host(addr.to_string()));
    let resp = allowed
        .handle_http(get(&format!("/fetch?url=http://{addr}/ping")))
        .await
        .expect("fetch");
    assert_eq!(resp.body().as_ref(), b"upstream 200: pong");

    let denied = handler(PluginOptions::new(World::HttpHandler));
    let resp = denied
        .handle_http(get(&format!("/fetch?url=http://{addr}/ping")))
        .await
        .expect("fetch");
    assert_eq!(resp.status(), 502);
    let body = String::from_utf8_lossy(resp.body());
    assert!(body.contains("HttpRequestDenied"), "{body}");
}

#[tokio::test]
async fn a_spinning_handler_times_out_and_the_next_request_works() {
    let deadline = Duration::from_millis(300);
    let plugin = handler(
        PluginOptions::new(World::HttpHandler).with_limits(PluginLimits {
            deadline,
            ..PluginLimits::for_world(World::HttpHandler)
        }),
    );
    let started = Instant::now();
    let err = plugin.handle_http(get("/loop")).await.expect_err("timeout");
    assert_eq!(err.kind, PluginErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < deadline + Duration::from_millis(500));
    let resp = plugin
        .handle_http(get("/hello"))
        .await
        .expect("next request");
    assert_eq!(resp.status(), 200);
    assert_eq!(plugin.metrics().discarded.timeout, 1);
}

#[tokio::test]
async fn oversized_response_is_refused() {
    let plugin = handler(
        PluginOptions::new(World::HttpHandler).with_limits(PluginLimits {
            max_output_bytes: 1000,
            ..PluginLimits::for_world(World::HttpHandler)
        }),
    );
    let req = http::Request::post("http://gateway.local/echo")
        .body(Bytes::from(vec![b'x'; 5000]))
        .expect("request");
    let err = plugin.handle_http(req).await.expect_err("too big");
    assert_eq!(err.kind, PluginErrorKind::BadOutput, "{err}");
}

#[tokio::test]
async fn load_checks_for_wasi_http() {
    let engine = support::engine();
    let authorizer = support::fixture(env!("CAUSEWAY_FIXTURE_COUNTER_AUTHORIZER"));
    let err = engine
        .load(
            "not-http",
            &authorizer,
            World::HttpHandler,
            PluginOptions::new(World::HttpHandler),
        )
        .expect_err("not a handler");
    assert_eq!(err.kind, PluginErrorKind::WorldMismatch, "{err}");
    assert!(err.message.contains("wasi:http/incoming-handler"), "{err}");

    let bytes = support::fixture(env!("CAUSEWAY_FIXTURE_WASI_HTTP_HANDLER"));
    let reuse = PluginOptions::new(World::HttpHandler)
        .with_policy(InstancePolicy::Reuse(ReusePolicy::default()));
    let err = engine
        .load("reuse-http", &bytes, World::HttpHandler, reuse)
        .expect_err("fresh only");
    assert_eq!(err.kind, PluginErrorKind::Config, "{err}");

    // A handler is not an authorizer.
    let plugin = handler(PluginOptions::new(World::HttpHandler));
    let err = plugin
        .authorize(support::token_request(""))
        .await
        .expect_err("wrong world");
    assert_eq!(err.kind, PluginErrorKind::Config);
}

/// A stock spin-sdk component (`plugins/examples/spin-hello`) imports the Spin platform
/// (`fermyon:spin/variables`): it loads only as a `wasi:http` handler, with those imports
/// trapping, and serves everything else.
#[tokio::test]
async fn spin_component_runs_with_spin_apis_trapping() {
    let engine = support::engine();
    let bytes = support::fixture(env!("CAUSEWAY_FIXTURE_SPIN_HELLO"));
    let plugin = engine
        .load(
            "spin",
            &bytes,
            World::HttpHandler,
            PluginOptions::new(World::HttpHandler),
        )
        .expect("a spin-sdk component loads");
    let resp = plugin.handle_http(get("/hello")).await.expect("hello");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().as_ref(), b"hello from spin-sdk");

    let err = plugin
        .handle_http(get("/variable"))
        .await
        .expect_err("Spin variables are not provided");
    assert_eq!(err.kind, PluginErrorKind::Trap, "{err}");
    assert!(
        err.message.contains("fermyon:spin/variables") && err.message.contains("Spin platform"),
        "{err}"
    );
    let resp = plugin
        .handle_http(get("/hello"))
        .await
        .expect("still serves");
    assert_eq!(resp.status(), 200);

    // Other worlds do not get the stubs: the import is missing.
    let err = engine
        .load(
            "spin-as-function",
            &bytes,
            World::Function,
            PluginOptions::new(World::Function),
        )
        .expect_err("not a function");
    assert!(
        matches!(
            err.kind,
            PluginErrorKind::WorldMismatch | PluginErrorKind::MissingImport
        ),
        "{err}"
    );
}

/// The streamed body is held to the output cap (and the head to nothing more): past it,
/// the body ends with `BadOutput`, not quietly; within it, a streamed answer collects
/// whole.
#[tokio::test]
async fn a_streamed_body_is_held_to_the_output_cap() {
    let mut options = PluginOptions::new(World::HttpHandler);
    options.limits.max_output_bytes = 64;
    let plugin = handler(options);
    // 20 lines of 8 bytes: over the cap.
    let err = plugin
        .handle_http(get("/stream?n=20&ms=0"))
        .await
        .expect_err("over the cap");
    assert_eq!(err.kind, PluginErrorKind::BadOutput, "{err}");
    // 5 lines: within it, in one piece.
    let resp = plugin
        .handle_http(get("/stream?n=5&ms=0"))
        .await
        .expect("within the cap");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body(), "chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n");
    // A trap after the first line: the body ends with the trap.
    let err = plugin
        .handle_http(get("/stream-trap"))
        .await
        .expect_err("trap");
    assert_eq!(err.kind, PluginErrorKind::Trap, "{err}");
}
