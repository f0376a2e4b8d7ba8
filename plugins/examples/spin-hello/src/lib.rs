//! An ordinary Spin HTTP component, written against spin-sdk's `#[http_component]` API and
//! nothing else: the same `.wasm` runs under `spin up` and as a Causeway `WASI_HTTP`
//! integration.
//!
//! - `GET /hello`: 200 `hello from spin-sdk`.
//! - `POST /echo`: the request body back with its content type; `x-seen-*` headers say
//!   which method, path, query, `x-forwarded-for` and `spin-path-info` the component
//!   was given.
//! - `GET /fetch?url=http://host:port/path`: an outbound request with `spin_sdk::http::send`
//!   (through `wasi:http/outgoing-handler`); answers `upstream <status>: <body>`, or 502
//!   with the error.
//! - `GET /variable`: reads the Spin variable `greeting` (Spin's own API: a host that
//!   does not provide it traps the call).
//! - anything else: 404.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let text = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "text/plain")
            .header("x-handler", "spin-hello")
            .body(body)
            .build()
    };
    Ok(match (request.method(), request.path()) {
        (Method::Get, "/hello") => text(200, "hello from spin-sdk".to_owned()),
        (Method::Post, "/echo") => {
            let header = |name: &str| {
                request
                    .header(name)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            Response::builder()
                .status(200)
                .header("content-type", header("content-type"))
                .header("x-handler", "spin-hello")
                .header("x-seen-method", request.method().to_string())
                .header("x-seen-path", request.path())
                .header("x-seen-query", request.query())
                .header("x-seen-forwarded-for", header("x-forwarded-for"))
                .header("x-seen-path-info", header("spin-path-info"))
                .body(request.body().to_vec())
                .build()
        }
        (Method::Get, "/fetch") => {
            let url = request.query().strip_prefix("url=").unwrap_or_default();
            match spin_sdk::http::send::<_, Response>(Request::get(url).build()).await {
                Ok(upstream) => text(
                    200,
                    format!(
                        "upstream {}: {}",
                        upstream.status(),
                        String::from_utf8_lossy(upstream.body())
                    ),
                ),
                Err(e) => text(502, format!("outbound request failed: {e}")),
            }
        }
        (Method::Get, "/variable") => match spin_sdk::variables::get("greeting") {
            Ok(v) => text(200, v),
            Err(e) => text(500, format!("variable: {e}")),
        },
        _ => text(404, "not found".to_owned()),
    })
}
