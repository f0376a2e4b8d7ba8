//! One open connection: frames in, routed messages to integrations, route responses and
//! `@connections` pushes out, until either side closes, the connection idles out or
//! outlives its maximum; then `$disconnect`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

use super::event::{self, Event, EventType};
use super::{Command, Data, Hub, IDLE, Info, MAX_FRAME, MAX_LIFE, MAX_MESSAGE, select};
use crate::compile::CompiledRoute;
use crate::context::RequestId;
use crate::table::StageRuntime;

/// A deployment's WebSocket routes (a connection keeps the deployment it opened with).
pub(super) struct Routes<'a> {
    /// `$connect` and its index (the authorizer phase finds a route by index).
    pub(super) connect: Option<(usize, &'a CompiledRoute)>,
    disconnect: Option<&'a CompiledRoute>,
    all: &'a [CompiledRoute],
    /// The JSON field a message's route key is read from.
    path: Vec<String>,
}

impl<'a> Routes<'a> {
    pub(super) fn of(stage: &'a StageRuntime) -> Routes<'a> {
        let all = &stage.deployment.routes[..];
        let find = |key: &str| all.iter().find(|r| r.key == key);
        let expression = stage
            .deployment
            .spec()
            .route_selection_expression
            .as_deref()
            .unwrap_or(causeway_model::DEFAULT_ROUTE_SELECTION);
        let path = causeway_model::selection_path(expression)
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect();
        Routes {
            connect: all.iter().enumerate().find(|(_, r)| r.key == "$connect"),
            disconnect: find("$disconnect"),
            all,
            path,
        }
    }

    fn get(&self, key: &str) -> Option<&'a CompiledRoute> {
        self.all.iter().find(|r| r.key == key)
    }
}

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// What tungstenite reads into at a time (its default is 128 KiB).
const READ_BUFFER: usize = 8 << 10;

pub(super) async fn run(
    hub: &Arc<Hub>,
    stage: Arc<StageRuntime>,
    info: Arc<Info>,
    io: Upgraded,
    mut rx: mpsc::Receiver<Command>,
) {
    // tungstenite zeroes its whole read buffer's spare room before each read (128 KiB by
    // default: a 128 KiB memset per message read, 18 % of a proxied message's CPU in
    // `perf`); a message's frames are at most 32 KiB, and the buffer grows for a larger
    // message anyway.
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_FRAME))
        .read_buffer_size(READ_BUFFER);
    let mut ws =
        WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, Some(config)).await;
    let routes = Routes::of(&stage);
    let idle = tokio::time::sleep(IDLE);
    let life = tokio::time::sleep(MAX_LIFE);
    tokio::pin!(idle, life);
    let (code, reason): (u16, String) = loop {
        tokio::select! {
            frame = ws.next() => {
                let msg = match frame {
                    None => break (1006, "the client went away without a close frame".into()),
                    Some(Err(e)) => {
                        // Too large a message, a protocol error: say why as we go.
                        let reason = e.to_string();
                        let code = if reason.contains("too long") || reason.contains("too big") {
                            CloseCode::Size
                        } else {
                            CloseCode::Protocol
                        };
                        close(&mut ws, code, &reason).await;
                        break (code.into(), reason);
                    }
                    Some(Ok(msg)) => msg,
                };
                info.touch();
                idle.as_mut().reset(tokio::time::Instant::now() + IDLE);
                let data = match msg {
                    Message::Text(t) => Data::Text(t),
                    Message::Binary(b) => Data::Binary(b),
                    Message::Close(frame) => {
                        let (code, reason) = frame.map_or((1005, String::new()), |f| {
                            (u16::from(f.code), f.reason.as_str().to_owned())
                        });
                        // tungstenite answers the close frame; flush it out.
                        let _ = ws.flush().await;
                        break (code, reason);
                    }
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                };
                if let Err(e) = message(hub, &stage, &routes, &info, &mut ws, data).await {
                    break (1006, format!("the answer could not be sent: {e}"));
                }
            }
            cmd = rx.recv() => match cmd {
                Some(Command::Send(m)) => {
                    info.dequeued(m.len());
                    info.touch();
                    idle.as_mut().reset(tokio::time::Instant::now() + IDLE);
                    if let Err(e) = send(&mut ws, m).await {
                        break (1006, format!("a pushed message could not be sent: {e}"));
                    }
                }
                Some(Command::Close) | None => {
                    close(&mut ws, CloseCode::Normal, "Connection closed by the API").await;
                    break (1000, "Connection closed by the API".into());
                }
                Some(Command::GoingAway) => {
                    close(&mut ws, CloseCode::Away, "Going away").await;
                    break (1001, "Going away".into());
                }
            },
            () = &mut idle => {
                close(&mut ws, CloseCode::Away, "Idle timeout").await;
                break (1001, "Idle timeout".into());
            }
            () = &mut life => {
                close(&mut ws, CloseCode::Away, "Connection time limit reached").await;
                break (1001, "Connection time limit reached".into());
            }
        }
    };
    // Gone for `@connections` (410) from now on; `$disconnect` still knows its id.
    hub.remove(&info.id);
    tracing::debug!(connection = %info.id, code, reason = %reason, "WebSocket connection closed");
    if let Some(route) = routes.disconnect {
        let ev = Event {
            kind: EventType::Disconnect,
            route_key: "$disconnect",
            info: &info,
            request_id: RequestId::new(),
            body: None,
            handshake: None,
            disconnect: Some((code, &reason)),
        };
        if let Err(e) = event::call(hub, &stage, route, &ev).await {
            tracing::warn!(connection = %info.id, error = %e, "$disconnect integration failed");
        }
    }
}

/// A client that takes no bytes for this long (its socket's buffers full) is dropped, so a
/// reader that stopped cannot hold its connection, and the `@connections` pushes queued for
/// it, forever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Send `msg`, within [`SEND_TIMEOUT`].
async fn send(ws: &mut Socket, msg: Message) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    match tokio::time::timeout(SEND_TIMEOUT, ws.send(msg)).await {
        Ok(sent) => sent,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client took nothing for 10 s",
        )
        .into()),
    }
}

/// Send a close frame and give the client a moment to answer it.
async fn close(ws: &mut Socket, code: CloseCode, reason: &str) {
    // A control frame carries at most 125 bytes: the code's 2 and a reason of 123.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: reason.get(..end).unwrap_or_default().to_owned().into(),
    };
    if !matches!(
        tokio::time::timeout(SEND_TIMEOUT, ws.close(Some(frame))).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// Route one message and send back what the route answers.
async fn message(
    hub: &Hub,
    stage: &StageRuntime,
    routes: &Routes<'_>,
    info: &Info,
    ws: &mut Socket,
    data: Data,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let text = match &data {
        Data::Text(t) => Some(t.as_str()),
        Data::Binary(_) => None,
    };
    let key = select::route_key(&routes.path, text, |k| routes.get(k).is_some());
    let request_id = RequestId::new();
    hub.count(info, &key, crate::WebSocketEvent::Message);
    let ev = Event {
        kind: EventType::Message,
        route_key: &key,
        info,
        request_id,
        body: Some(&data),
        handshake: None,
        disconnect: None,
    };
    let Some(route) = routes.get(&key) else {
        hub.count(info, &key, crate::WebSocketEvent::ClientError);
        event::log(stage, &ev, 403, None, Some("Forbidden"));
        // API Gateway's answer to a message no route takes.
        return send(ws, error_message("Forbidden", info, &ev.request_id)).await;
    };
    match event::call(hub, stage, route, &ev).await {
        Ok(answer) if route.route_response => {
            let msg = if answer.binary {
                Message::Binary(answer.body)
            } else {
                match String::from_utf8(answer.body.to_vec()) {
                    Ok(text) => Message::Text(text.into()),
                    Err(e) => Message::Binary(e.into_bytes().into()),
                }
            };
            send(ws, msg).await
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::debug!(connection = %info.id, route = %key, error = %e, "WebSocket integration failed");
            let message = if e.kind == crate::error::ErrorKind::IntegrationTimeout {
                "Endpoint request timed out"
            } else {
                "Internal server error"
            };
            send(ws, error_message(message, info, &ev.request_id)).await
        }
    }
}

/// `{"message": ..., "connectionId": ..., "requestId": ...}`, as API Gateway tells a
/// client its message went nowhere or failed.
fn error_message(message: &str, info: &Info, request_id: &RequestId) -> Message {
    let body = serde_json::json!({
        "message": message,
        "connectionId": &*info.id,
        "requestId": request_id.as_str(),
    });
    Message::Text(body.to_string().into())
}
