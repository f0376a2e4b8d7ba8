//! WEBSOCKET APIs: the upgrade handshake, each connection's message loop, route selection
//! and the `@connections` callback API.
//!
//! A client opens `ws://{api}.execute-api.localhost:PORT/{stage}`. The `$connect` route's
//! integration (when the API has one) decides before the gateway answers `101`: a 2xx
//! answer admits the client, anything else is the handshake's answer. Each message is then
//! routed by the API's route selection expression (`$request.body.action` unless it names
//! another field) to the route with that key, else to `$default`; the integration's answer
//! goes back to the client when the route has `route_response = true`. `$disconnect`
//! runs after the connection closed, whoever closed it. Backends push messages, read a
//! connection's facts and close it through `POST|GET|DELETE /{stage}/@connections/{id}` on
//! the API's host (API Gateway's management API), from the API's `callback_networks`
//! (loopback unless it names others).
//!
//! The connections of a node are in one [`Hub`]; they do not move between nodes.

mod callback;
mod event;
mod select;
mod session;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use tokio::sync::mpsc;

use crate::body::Body;
use crate::context::{Peer, RequestCtx, RequestId};
use crate::phases::integrate::HttpClient;
use crate::table::StageRuntime;
use crate::throttle::now_ms;

pub(crate) use callback::http_request;
pub(crate) use event::EventType;

/// A message is at most 128 KiB, a frame 32 KiB (API Gateway's limits).
pub(crate) const MAX_MESSAGE: usize = 128 << 10;
const MAX_FRAME: usize = 32 << 10;
/// A connection without a message either way for this long is closed (API Gateway: 10
/// minutes).
const IDLE: Duration = Duration::from_secs(10 * 60);
/// No connection lasts longer (API Gateway: 2 hours).
const MAX_LIFE: Duration = Duration::from_secs(2 * 60 * 60);
/// Messages a connection's pushers may queue before `@connections` answers 429...
const QUEUE: usize = 256;
/// ... and bytes (a client that stopped reading holds at most this until it is dropped).
const QUEUE_BYTES: usize = 4 << 20;

/// The node's open WebSocket connections, by connection id, and the upstream client
/// integrations use.
#[derive(Debug)]
pub(crate) struct Hub {
    connections: std::sync::Mutex<hashbrown::HashMap<Arc<str>, Connection>>,
    /// Connection tasks running (a closed connection's until its `$disconnect` is done).
    tasks: std::sync::atomic::AtomicUsize,
    /// Woken when a task ends (shutdown waits for the last).
    ended: tokio::sync::Notify,
    client: HttpClient,
    metrics: Arc<crate::Metrics>,
}

#[derive(Debug)]
struct Connection {
    tx: mpsc::Sender<Command>,
    info: Arc<Info>,
}

/// What `@connections` can ask a connection to do.
#[derive(Debug)]
enum Command {
    Send(tokio_tungstenite::tungstenite::Message),
    Close,
    /// The node is shutting down: close with 1001.
    GoingAway,
}

/// One connection's facts.
#[derive(Debug)]
pub(crate) struct Info {
    pub(crate) id: Arc<str>,
    pub(crate) api_id: String,
    pub(crate) stage: String,
    pub(crate) host: String,
    pub(crate) connected_at_ms: u64,
    pub(crate) source_ip: String,
    pub(crate) user_agent: String,
    /// What the `$connect` authorizer allowed: its principal and context, given to every
    /// later event of the connection (`$context.authorizer.*`, `requestContext.authorizer`).
    pub(crate) principal_id: Option<Arc<str>>,
    pub(crate) authorizer_context: Option<Arc<[(String, String)]>>,
    last_active_ms: AtomicU64,
    /// Bytes of `@connections` pushes queued and not yet sent.
    queued: std::sync::atomic::AtomicUsize,
}

impl Info {
    pub(crate) fn touch(&self) {
        self.last_active_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub(crate) fn last_active_ms(&self) -> u64 {
        self.last_active_ms.load(Ordering::Relaxed)
    }

    /// Count `len` more bytes queued, unless that would pass [`QUEUE_BYTES`].
    pub(crate) fn queue(&self, len: usize) -> bool {
        let before = self.queued.fetch_add(len, Ordering::SeqCst);
        if before.saturating_add(len) > QUEUE_BYTES {
            self.queued.fetch_sub(len, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// `len` queued bytes were sent (or never queued).
    pub(crate) fn dequeued(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::SeqCst);
    }
}

impl Hub {
    pub(crate) fn new(client: HttpClient, metrics: Arc<crate::Metrics>) -> Hub {
        Hub {
            connections: std::sync::Mutex::default(),
            tasks: std::sync::atomic::AtomicUsize::new(0),
            ended: tokio::sync::Notify::new(),
            client,
            metrics,
        }
    }

    /// Count `event` for `route` of `info`'s API and stage.
    fn count(&self, info: &Info, route: &str, event: crate::WebSocketEvent) {
        let labels = crate::WebSocketLabels {
            api: info.api_id.clone(),
            stage: info.stage.clone(),
            route: route.to_owned(),
        };
        self.metrics.websocket(&labels, event);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, hashbrown::HashMap<Arc<str>, Connection>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Shutdown: ask every connection to close (1001 `Going away`, then `$disconnect`) and
    /// wait until they have, at most until `deadline`. Returns how many were still open.
    pub(crate) async fn close_all(&self, deadline: tokio::time::Instant) -> usize {
        for c in self.lock().values() {
            let _ = c.tx.try_send(Command::GoingAway);
        }
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let open = self.tasks.load(Ordering::SeqCst);
            if open == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return open;
            }
        }
    }

    /// The connection `id` of `api_id`'s stage `stage`.
    fn find(
        &self,
        api_id: &str,
        stage: &str,
        id: &str,
    ) -> Option<(mpsc::Sender<Command>, Arc<Info>)> {
        self.lock()
            .get(id)
            .filter(|c| c.info.api_id == api_id && c.info.stage == stage)
            .map(|c| (c.tx.clone(), c.info.clone()))
    }
}

/// Whether `req` asks to become a WebSocket (`Upgrade: websocket`).
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::UPGRADE)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// A 16-character id, safe in a URL path (API Gateway's are 16 characters too).
fn connection_id() -> Arc<str> {
    let bytes: [u8; 12] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .into()
}

fn json_answer(
    status: StatusCode,
    error_type: Option<&'static str>,
    message: &str,
) -> Response<Body> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(t) = error_type {
        h.insert("x-amzn-errortype", HeaderValue::from_static(t));
    }
    resp
}

/// Answer a WebSocket handshake for `stage` (`route_path`: what follows the stage in the
/// path): run `$connect`, and on a 2xx answer switch protocols and start the connection.
pub(crate) async fn upgrade(
    hub: &Arc<Hub>,
    stage: Arc<StageRuntime>,
    route_path: &str,
    mut req: Request<hyper::body::Incoming>,
    peer: &Peer,
) -> Response<Body> {
    if !(route_path.is_empty() || route_path == "/") {
        return json_answer(
            StatusCode::FORBIDDEN,
            Some("ForbiddenException"),
            "A WebSocket API is opened at its stage's URL (ws://HOST/STAGE), without a path after it",
        );
    }
    if req.method() != http::Method::GET {
        return json_answer(
            StatusCode::BAD_REQUEST,
            Some("BadRequestException"),
            "A WebSocket handshake is a GET request",
        );
    }
    let headers = req.headers();
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut resp = json_answer(
            StatusCode::UPGRADE_REQUIRED,
            Some("BadRequestException"),
            "Only WebSocket version 13 (RFC 6455) is supported",
        );
        resp.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return resp;
    }
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|k| !k.is_empty())
    else {
        return json_answer(
            StatusCode::BAD_REQUEST,
            Some("BadRequestException"),
            "The WebSocket handshake has no Sec-WebSocket-Key",
        );
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, _) = req.into_parts();
    let host = crate::host_of(&parts);
    let mut ctx = RequestCtx::new(parts, Body::Empty, peer, host);
    ctx.stage = Some(stage.clone());
    let routes = session::Routes::of(&stage);
    let text_of = |name: header::HeaderName, ctx: &RequestCtx| {
        ctx.parts
            .headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let now = now_ms();
    let mut info = Info {
        id: connection_id(),
        api_id: stage.deployment.api_id().to_owned(),
        stage: stage.stage.clone(),
        host: text_of(header::HOST, &ctx),
        connected_at_ms: now,
        source_ip: peer.addr.ip().to_canonical().to_string(),
        user_agent: text_of(header::USER_AGENT, &ctx),
        principal_id: None,
        authorizer_context: None,
        last_active_ms: AtomicU64::new(now),
        queued: std::sync::atomic::AtomicUsize::new(0),
    };
    hub.count(&info, "$connect", crate::WebSocketEvent::Connect);
    if let Some((index, route)) = routes.connect
        && route.authorizer.is_some()
    {
        // The pipeline's authorizer phase, on the handshake: identity sources, the
        // decision cache, the plugin; 401 / 403 / 500 as for any request.
        ctx.route = Some(index);
        let phase = crate::phases::authorize::Authorize {
            metrics: hub.metrics.clone(),
        };
        let flow = match crate::pipeline::Phase::request(&phase, &mut ctx) {
            crate::pipeline::Step::Now(flow) => flow,
            crate::pipeline::Step::Later(decided) => decided.await,
        };
        match flow {
            crate::pipeline::Flow::Continue => {}
            crate::pipeline::Flow::Respond(resp) => return *resp,
            crate::pipeline::Flow::Fail(e) => {
                hub.count(&info, "$connect", crate::WebSocketEvent::ClientError);
                let ev = event::Event {
                    kind: EventType::Connect,
                    route_key: "$connect",
                    info: &info,
                    request_id: ctx.request_id,
                    body: None,
                    handshake: None,
                    disconnect: None,
                };
                event::log(&stage, &ev, e.status().as_u16(), None, Some(&e.message));
                return e.to_response();
            }
        }
        info.principal_id = ctx.principal_id.clone();
        info.authorizer_context = ctx.authorizer_context.clone();
    }
    let info = Arc::new(info);
    if let Some((_, route)) = routes.connect {
        let ev = event::Event {
            kind: EventType::Connect,
            route_key: "$connect",
            info: &info,
            request_id: RequestId::new(),
            body: None,
            handshake: Some((&ctx.parts.headers, ctx.parts.uri.query())),
            disconnect: None,
        };
        match event::call(hub, &stage, route, &ev).await {
            Ok(answer) if answer.status.is_success() => {}
            Ok(answer) => {
                tracing::debug!(connection = %info.id, status = %answer.status, "$connect refused the connection");
                let mut resp = Response::new(Body::from(answer.body));
                *resp.status_mut() = answer.status;
                return resp;
            }
            Err(e) => return e.to_response(),
        }
    }
    let (tx, rx) = mpsc::channel(QUEUE);
    hub.lock().insert(
        info.id.clone(),
        Connection {
            tx,
            info: info.clone(),
        },
    );
    let hub = hub.clone();
    hub.tasks.fetch_add(1, Ordering::SeqCst);
    let task = TaskGuard(hub.clone());
    tokio::spawn(async move {
        let _task = task;
        match on_upgrade.await {
            Ok(io) => session::run(&hub, stage, info.clone(), io, rx).await,
            Err(e) => {
                tracing::debug!(connection = %info.id, error = %e, "WebSocket upgrade did not complete");
                hub.remove(&info.id);
            }
        }
    });
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    resp
}

/// Counts a connection task out of its [`Hub`] when it ends (or is dropped with its
/// runtime).
struct TaskGuard(Arc<Hub>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.tasks.fetch_sub(1, Ordering::SeqCst);
        self.0.ended.notify_waiters();
    }
}

/// A message's data as the integration sees it.
#[derive(Debug, Clone)]
pub(crate) enum Data {
    /// Shares the frame's bytes (no copy).
    Text(tokio_tungstenite::tungstenite::Utf8Bytes),
    Binary(Bytes),
}
