//! Admin API routes: auth, dispatch, JSON in and out. Operations run on the blocking pool
//! (they write files and fsync).

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;

use std::net::SocketAddr;

use super::MAX_BODY_BYTES;
use crate::audit::{AuditEntry, AuditLog, identity};
use crate::wire::{CanaryRequest, DeployRequest, Items, RollbackRequest, StagePatch};
use crate::{AdminError, Control, ErrorBody};

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) control: Arc<Control>,
    pub(crate) token: String,
    pub(crate) audit: AuditLog,
}

pub(super) type Resp = Response<Full<Bytes>>;

/// Answer one admin request, logging it.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
    local: bool,
) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let who = identity(bearer(&req));
    let resp = if local {
        route(&shared, req).await
    } else {
        error(
            StatusCode::FORBIDDEN,
            "the admin API accepts loopback peers only; set `admin.allow_remote = true` in causeway.toml to allow others",
        )
    };
    tracing::info!(%method, %path, status = resp.status().as_u16(), "admin request");
    if !matches!(method, Method::GET | Method::HEAD) {
        let status = resp.status().as_u16();
        shared.audit.record(&AuditEntry {
            time_ms: crate::now_ms(),
            who: &who,
            peer,
            action: &format!("{method} {path}"),
            status,
            result: if status < 400 { "ok" } else { "error" },
        });
    }
    resp
}

/// The bearer token the request carries, if any.
fn bearer(req: &Request<Incoming>) -> Option<&str> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
}

async fn route(shared: &Shared, req: Request<Incoming>) -> Resp {
    let full = req.uri().path().to_owned();
    let path = full
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(&full);
    if path == "/healthz" {
        return match *req.method() {
            Method::GET | Method::HEAD => {
                json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
            }
            _ => method_not_allowed("GET"),
        };
    }
    if path == "/metrics" {
        // Like /healthz, readable without the token: the listener is loopback-only unless
        // `admin.allow_remote` says otherwise.
        return match *req.method() {
            Method::GET => {
                let body = shared.control.gateway().metrics().encode();
                let mut resp = Response::new(Full::new(Bytes::from(body)));
                resp.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                resp
            }
            _ => method_not_allowed("GET"),
        };
    }
    let Some(rest) = path.strip_prefix("/v1/") else {
        return not_found(req.method(), &full);
    };
    if !authorized(&req, &shared.token) {
        let mut resp = error(StatusCode::UNAUTHORIZED, "Unauthorized");
        resp.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    let c = shared.control.clone();
    let segs: Vec<&str> = rest.split('/').collect();
    let method = req.method().clone();
    if segs.first() == Some(&"plugins") {
        return super::plugins::route(c, &segs, req, &full).await;
    }
    if matches!(segs.first(), Some(&"apikeys" | &"usageplans")) {
        return super::keys::route(c, &segs, req, &full).await;
    }
    match (segs.as_slice(), &method) {
        (["apis"], &Method::GET) => run(StatusCode::OK, move || Ok(items(c.apis()))).await,
        (["apis"], _) => method_not_allowed("GET"),
        (["mesh"], &Method::GET) => match c.mesh_status() {
            Some(status) => json(StatusCode::OK, &status),
            None => error(
                StatusCode::NOT_FOUND,
                "this node is not in a mesh; add a `[mesh]` section to causeway.toml",
            ),
        },
        (["mesh"], _) => method_not_allowed("GET"),
        (["stages"], &Method::GET) => run(StatusCode::OK, move || c.stages(None).map(items)).await,
        (["stages"], _) => method_not_allowed("GET"),
        (["apis", api], &Method::GET) => {
            let api = (*api).to_owned();
            run(StatusCode::OK, move || {
                c.apis()
                    .into_iter()
                    .find(|a| a.id == api)
                    .ok_or_else(|| causeway_store::StoreError::UnknownApi { api_id: api }.into())
            })
            .await
        }
        (["apis", api], &Method::DELETE) => {
            let api = (*api).to_owned();
            run(StatusCode::OK, move || c.delete_api(&api).map(items)).await
        }
        (["apis", _], _) => method_not_allowed("GET, DELETE"),
        (["apis", api, "deployments"], &Method::GET) => {
            let api = (*api).to_owned();
            run(StatusCode::OK, move || c.deployments(&api).map(items)).await
        }
        (["apis", api, "deployments"], &Method::POST) => deploy(c, (*api).to_owned(), req).await,
        (["apis", _, "deployments"], _) => method_not_allowed("GET, POST"),
        (["apis", api, "deployments", id], &Method::GET) => {
            let (api, id) = ((*api).to_owned(), (*id).to_owned());
            run(StatusCode::OK, move || c.deployment(&api, &id)).await
        }
        (["apis", _, "deployments", _], _) => method_not_allowed("GET"),
        (["apis", api, "stages"], &Method::GET) => {
            let api = (*api).to_owned();
            run(StatusCode::OK, move || c.stages(Some(&api)).map(items)).await
        }
        (["apis", _, "stages"], _) => method_not_allowed("GET"),
        (["apis", api, "stages", stage], &Method::GET) => {
            let (api, stage) = ((*api).to_owned(), (*stage).to_owned());
            run(StatusCode::OK, move || c.stage(&api, &stage)).await
        }
        (["apis", api, "stages", stage], &Method::PATCH) => {
            let (api, stage) = ((*api).to_owned(), (*stage).to_owned());
            let patch: StagePatch = match read_json(req, false).await {
                Ok(p) => p,
                Err(resp) => return resp,
            };
            run(StatusCode::OK, move || {
                c.update_stage(
                    &api,
                    &stage,
                    patch.deployment_id.as_deref(),
                    patch.variables,
                )
            })
            .await
        }
        (["apis", api, "stages", stage], &Method::DELETE) => {
            let (api, stage) = ((*api).to_owned(), (*stage).to_owned());
            run(StatusCode::OK, move || c.delete_stage(&api, &stage)).await
        }
        (["apis", _, "stages", _], _) => method_not_allowed("GET, PATCH, DELETE"),
        (["apis", api, "stages", stage, "rollback"], &Method::POST) => {
            let (api, stage) = ((*api).to_owned(), (*stage).to_owned());
            let body: RollbackRequest = match read_json(req, true).await {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            run(StatusCode::OK, move || {
                c.rollback(&api, &stage, body.deployment_id.as_deref())
            })
            .await
        }
        (["apis", _, "stages", _, "rollback"], _) => method_not_allowed("POST"),
        (["apis", api, "stages", stage, "cache"], &Method::DELETE) => {
            if c.flush_cache(api, stage) {
                json(StatusCode::OK, &serde_json::json!({ "flushed": true }))
            } else {
                error(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "stage `{stage}` of API `{api}` has no cache; enable `cache` on the stage and deploy"
                    ),
                )
            }
        }
        (["apis", _, "stages", _, "cache"], _) => method_not_allowed("DELETE"),
        (["apis", api, "stages", stage, "canary"], &Method::PUT) => {
            let (api, stage) = ((*api).to_owned(), (*stage).to_owned());
            let body: CanaryRequest = match read_json(req, false).await {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            run(StatusCode::OK, move || c.set_canary(&api, &stage, body)).await
        }
        (["apis", api, "stages", stage, "canary"], &Method::DELETE) => {
            let (api, stage) = ((*api).to_owned(), (*stage).to_owned());
            run(StatusCode::OK, move || c.delete_canary(&api, &stage)).await
        }
        (["apis", _, "stages", _, "canary"], _) => method_not_allowed("PUT, DELETE"),
        (["apis", api, "stages", stage, "canary", "promote"], &Method::POST) => {
            let (api, stage) = ((*api).to_owned(), (*stage).to_owned());
            run(StatusCode::OK, move || c.promote_canary(&api, &stage)).await
        }
        (["apis", _, "stages", _, "canary", "promote"], _) => method_not_allowed("POST"),
        (["apis", api, "stages", stage, "export"], &Method::GET) => {
            let (api, stage) = ((*api).to_owned(), (*stage).to_owned());
            run(StatusCode::OK, move || c.export_stage(&api, &stage)).await
        }
        (["apis", _, "stages", _, "export"], _) => method_not_allowed("GET"),
        _ => not_found(&method, &full),
    }
}

async fn deploy(c: Arc<Control>, api: String, req: Request<Incoming>) -> Resp {
    let body: DeployRequest = match read_json(req, false).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    if body.api.id != api {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the definition's id `{}` is not the API of the URL `{api}`; POST it to /v1/apis/{}/deployments",
                body.api.id, body.api.id
            ),
        );
    }
    let outcome = tokio::task::spawn_blocking(move || {
        c.deploy_with(body.api, body.stages, body.description, body.canary_percent)
    })
    .await;
    match outcome {
        Ok(Ok(o)) if o.created => json(StatusCode::CREATED, &o),
        Ok(Ok(o)) => json(StatusCode::OK, &o),
        Ok(Err(e)) => admin_error(&e),
        Err(e) => internal(&e),
    }
}

pub(super) fn items<T>(items: Vec<T>) -> Items<T> {
    Items { items }
}

/// Run a control operation on the blocking pool and answer with its JSON.
pub(super) async fn run<T: Serialize + Send + 'static>(
    status: StatusCode,
    op: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Resp {
    match tokio::task::spawn_blocking(op).await {
        Ok(Ok(value)) => json(status, &value),
        Ok(Err(e)) => admin_error(&e),
        Err(e) => internal(&e),
    }
}

fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    bearer(req).is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Read and parse a JSON body of at most [`MAX_BODY_BYTES`]; an empty body reads as `{}`
/// when `allow_empty`.
pub(super) async fn read_json<T: DeserializeOwned>(
    req: Request<Incoming>,
    allow_empty: bool,
) -> Result<T, Resp> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is over the admin API's limit of {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Err(e) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the request body: {e}"),
            ));
        }
    };
    let text: &[u8] = if allow_empty && bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(text).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("the request body is not valid JSON for this operation: {e}"),
        )
    })
}

pub(super) fn json<T: Serialize>(status: StatusCode, value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut resp = Response::new(Full::new(Bytes::from(body)));
            *resp.status_mut() = status;
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        Err(e) => internal(&e),
    }
}

pub(super) fn error(status: StatusCode, message: &str) -> Resp {
    json(status, &ErrorBody::new(message))
}

fn admin_error(e: &AdminError) -> Resp {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(error = %e, "admin operation failed");
    }
    json(status, &e.body())
}

fn internal(e: &dyn std::fmt::Display) -> Resp {
    tracing::error!(error = %e, "admin request failed");
    // Built by hand: this is also the fallback when serialization fails.
    let mut resp = Response::new(Full::new(Bytes::from_static(
        br#"{"message":"internal error; see the server log"}"#,
    )));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

pub(super) fn method_not_allowed(allow: &'static str) -> Resp {
    let mut resp = error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed here; use {allow}"),
    );
    resp.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

pub(super) fn not_found(method: &Method, path: &str) -> Resp {
    error(
        StatusCode::NOT_FOUND,
        &format!("no admin route `{method} {path}`; the API is under /v1/apis"),
    )
}
