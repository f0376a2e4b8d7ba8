//! HTTP requests to a WEBSOCKET API's stage: the `@connections` callback API (API
//! Gateway's management API: `POST` a message to a connection, `GET` its facts, `DELETE`
//! it), and a clear refusal of anything else.

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::Message;

use super::{Command, Hub, MAX_MESSAGE, json_answer};
use crate::body::Body;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::{Flow, Step};

fn respond(resp: Response<Body>) -> Step<'static> {
    Step::Now(Flow::Respond(Box::new(resp)))
}

/// Serve a plain HTTP request to a WEBSOCKET API's stage (`ctx.stage` is set).
pub(crate) fn http_request<'a>(hub: &'a Hub, ctx: &'a mut RequestCtx) -> Step<'a> {
    let Some(stage) = ctx.stage.clone() else {
        return Step::Now(Flow::Fail(GatewayError::new(ErrorKind::Internal)));
    };
    let Some(id) = ctx
        .route_path()
        .strip_prefix("/@connections/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(str::to_owned)
    else {
        let mut resp = json_answer(
            StatusCode::UPGRADE_REQUIRED,
            Some("BadRequestException"),
            "This is a WebSocket API: open ws://HOST/STAGE with a WebSocket client (Upgrade: websocket), or call POST|GET|DELETE /STAGE/@connections/{connectionId}",
        );
        resp.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        return respond(resp);
    };
    let spec = stage.deployment.spec();
    let ip = ctx.client.ip();
    let allowed = if spec.callback_networks.is_empty() {
        ip.to_canonical().is_loopback()
    } else {
        spec.callback_networks
            .iter()
            .filter_map(|n| causeway_model::Network::parse(n).ok())
            .any(|n| n.contains(ip))
    };
    if !allowed {
        return respond(json_answer(
            StatusCode::FORBIDDEN,
            Some("ForbiddenException"),
            &format!(
                "{ip} may not call @connections of API `{}`: add its network to the API's `callback_networks` (loopback only by default)",
                spec.id
            ),
        ));
    }
    let gone = || {
        json_answer(
            StatusCode::GONE,
            Some("GoneException"),
            "No such connection: it closed, or was never open on this node",
        )
    };
    let found = hub.find(&spec.id, &stage.stage, &id);
    match ctx.parts.method {
        Method::GET => respond(match found {
            Some((_, info)) => {
                let (mut connected, mut active) = (String::new(), String::new());
                crate::context::iso_time(&mut connected, info.connected_at_ms);
                crate::context::iso_time(&mut active, info.last_active_ms());
                let body = serde_json::json!({
                    "connectedAt": connected,
                    "identity": { "sourceIp": info.source_ip, "userAgent": info.user_agent },
                    "lastActiveAt": active,
                });
                let mut resp = Response::new(Body::from(body.to_string()));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
            None => gone(),
        }),
        Method::DELETE => respond(match found {
            // Full queue: the close goes out when the session next reads it; a closed one
            // is already going.
            Some((tx, _)) => match tx.try_send(Command::Close) {
                Ok(()) | Err(TrySendError::Full(_)) => {
                    let mut resp = Response::new(Body::Empty);
                    *resp.status_mut() = StatusCode::NO_CONTENT;
                    resp
                }
                Err(TrySendError::Closed(_)) => gone(),
            },
            None => gone(),
        }),
        Method::POST => {
            let body = ctx.body.take().unwrap_or(Body::Empty);
            Step::Later(Box::pin(async move {
                let data = match http_body_util::Limited::new(body, MAX_MESSAGE)
                    .collect()
                    .await
                {
                    Ok(c) => c.to_bytes(),
                    Err(_) => {
                        return Flow::Respond(Box::new(json_answer(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            Some("PayloadTooLargeException"),
                            &format!("A WebSocket message is at most {MAX_MESSAGE} bytes"),
                        )));
                    }
                };
                if let Some((_, info)) = &found {
                    hub.count(info, "@connections", crate::WebSocketEvent::Message);
                }
                Flow::Respond(Box::new(post(found, data, gone)))
            }))
        }
        _ => {
            let mut resp = json_answer(
                StatusCode::METHOD_NOT_ALLOWED,
                Some("BadRequestException"),
                "@connections takes POST (send a message), GET (the connection's facts) or DELETE (close it)",
            );
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            respond(resp)
        }
    }
}

fn post(
    found: Option<(
        tokio::sync::mpsc::Sender<Command>,
        std::sync::Arc<super::Info>,
    )>,
    data: Bytes,
    gone: impl Fn() -> Response<Body>,
) -> Response<Body> {
    let Some((tx, info)) = found else {
        return gone();
    };
    let full = || {
        json_answer(
            StatusCode::TOO_MANY_REQUESTS,
            Some("LimitExceededException"),
            "The connection's queue of pushed messages is full (the client reads slower than messages arrive); retry later",
        )
    };
    let len = data.len();
    if !info.queue(len) {
        return full();
    }
    // Text when it is UTF-8 (what a browser's `onmessage` gets as a string), else binary.
    let msg = match String::from_utf8(data.to_vec()) {
        Ok(text) => Message::Text(text.into()),
        Err(_) => Message::Binary(data),
    };
    match tx.try_send(Command::Send(msg)) {
        Ok(()) => Response::new(Body::Empty),
        Err(e) => {
            info.dequeued(len);
            match e {
                TrySendError::Full(_) => full(),
                TrySendError::Closed(_) => gone(),
            }
        }
    }
}
