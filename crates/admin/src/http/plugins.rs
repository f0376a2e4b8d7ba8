//! Plugin uploads: `PUT /v1/plugins/{sha256}` with the component as the body (checked
//! against the hash), `GET /v1/plugins/{sha256}` to ask whether it is stored. Deploys then
//! name plugins by hash.

use std::sync::Arc;

use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::routes::{Resp, error, json, method_not_allowed, not_found, run};
use crate::Control;

/// Largest accepted component (JavaScript and Python components are 10-20 MB).
pub const MAX_PLUGIN_BYTES: usize = 64 * 1024 * 1024;

pub(super) async fn route(
    c: Arc<Control>,
    segs: &[&str],
    req: Request<Incoming>,
    full: &str,
) -> Resp {
    let method = req.method().clone();
    match (segs, &method) {
        (["plugins", sha], &Method::GET) => {
            if c.has_plugin(sha) {
                json(StatusCode::OK, &serde_json::json!({ "sha256": sha }))
            } else {
                error(
                    StatusCode::NOT_FOUND,
                    &format!("no plugin with SHA-256 `{sha}` is stored; PUT it first"),
                )
            }
        }
        (["plugins", sha], &Method::PUT) => {
            let sha = (*sha).to_owned();
            let bytes = match Limited::new(req.into_body(), MAX_PLUGIN_BYTES)
                .collect()
                .await
            {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("a plugin component is at most {MAX_PLUGIN_BYTES} bytes"),
                    );
                }
            };
            run(StatusCode::CREATED, move || c.put_plugin(&sha, &bytes)).await
        }
        (["plugins", _], _) => method_not_allowed("GET, PUT"),
        _ => not_found(&method, full),
    }
}
