//! WebSocket connections (any HTTP/1.1 upgrade) through the edge: the client's upgrade
//! request goes to a region over a connection of its own; when the region answers 101 the
//! edge answers 101 too and copies bytes both ways until either side closes, else the
//! region's answer is passed on as it is. A region that cannot be reached is skipped, as
//! for any request.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use causeway_gateway::Body;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest response head or non-101 body taken from a region on an upgrade request.
const MAX_ANSWER: usize = 64 * 1024;

/// Whether the request asks to switch protocols (`Connection: upgrade` and `Upgrade`).
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// The region's answer to the upgrade request, and the connection to tunnel over when it
/// is a 101 (with the bytes that followed the head).
pub(crate) struct Opened<S> {
    pub(crate) response: Response<Body>,
    pub(crate) upgraded: Option<(S, Bytes)>,
}

/// Sends the upgrade request over `stream` (a new connection to a region) and reads the
/// answer's head; an error means the region failed after the request was sent.
pub(crate) async fn open<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    answer_timeout: Duration,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<Opened<S>, String> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head).await.map_err(|e| e.to_string())?;
    tokio::time::timeout(answer_timeout, read_answer(stream))
        .await
        .map_err(|_| "no answer in time".to_owned())?
}

async fn read_answer<S: AsyncRead + Unpin>(mut stream: S) -> Result<Opened<S>, String> {
    let mut buf = BytesMut::with_capacity(4096);
    let (status, headers, used) = loop {
        if stream.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
            return Err("closed before answering".into());
        }
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut fields);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(used)) => {
                let status =
                    StatusCode::from_u16(parsed.code.unwrap_or(502)).map_err(|e| e.to_string())?;
                let mut headers = HeaderMap::new();
                for f in parsed.headers.iter() {
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(f.name.as_bytes()),
                        HeaderValue::from_bytes(f.value),
                    ) {
                        headers.append(n, v);
                    }
                }
                break (status, headers, used);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_ANSWER => {}
            Ok(httparse::Status::Partial) => return Err("answer head too large".into()),
            Err(e) => return Err(format!("malformed answer: {e}")),
        }
    };
    let rest = buf.split_off(used).freeze();
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        *response.headers_mut() = headers;
        return Ok(Opened {
            response,
            upgraded: Some((stream, rest)),
        });
    }
    // Refused (401, 403, 404, …): the answer as it is, its body read whole.
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_ANSWER);
    let mut body = BytesMut::from(&rest[..rest.len().min(length)]);
    while body.len() < length {
        if stream
            .read_buf(&mut body)
            .await
            .map_err(|e| e.to_string())?
            == 0
        {
            break;
        }
    }
    body.truncate(length);
    let mut headers = headers;
    headers.remove(header::CONNECTION);
    headers.remove(header::TRANSFER_ENCODING);
    *response.headers_mut() = headers;
    *response.body_mut() = Body::Full(Some(body.freeze()));
    Ok(Opened {
        response,
        upgraded: None,
    })
}

/// Copies bytes between the client's upgraded connection and the region's until either
/// closes (`early`: what the region sent right after its 101 head).
pub(crate) async fn pipe<S: AsyncRead + AsyncWrite + Unpin>(
    client: hyper::upgrade::OnUpgrade,
    mut region: S,
    early: Bytes,
    node: String,
) {
    let upgraded = match client.await {
        Ok(u) => u,
        Err(e) => {
            tracing::debug!(region = %node, error = %e, "the client's upgrade did not complete");
            return;
        }
    };
    let mut client = TokioIo::new(upgraded);
    if !early.is_empty() && client.write_all(&early).await.is_err() {
        return;
    }
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut region).await {
        tracing::debug!(region = %node, error = %e, "tunnel closed with an error");
    }
}
