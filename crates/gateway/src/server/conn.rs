//! One client connection, served in its own task: HTTP/1.1 requests by the fast path here,
//! everything else by hyper.
//!
//! The fast path (Pingora's lesson) reads a request head into the connection's buffer,
//! parses it in place ([`super::h1`]), runs the pipeline in this same task and writes the
//! answer's head and as much of its body as is ready in one write. hyper's server
//! connection would do the same work through its dispatcher, a service call and a
//! per-request body channel; the bare-hyper benchmark is the bar this path is measured
//! against.
//!
//! A connection starting with the h2 preface is hyper's h2 from the first byte. Any
//! request the fast path does not take (see [`super::h1`]: HTTP/1.0, chunked or large
//! bodies, upgrades, anything malformed) hands the connection, with the bytes read so
//! far, to hyper's HTTP/1 server, which then serves it to the end, answering malformed
//! input as it always has.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Method, Response};
use http_body::Body as _;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::drain::{Signal, graceful, graceful_by};
use super::h1::{self, Framing, Parsed};
use super::header_timeout::Ticking;
use super::linger::{Handback, linger};
use crate::body::Body;
use crate::context::{Peer, RequestId};
use crate::error::{ErrorKind, GatewayError};
use crate::{Gateway, host_of};

/// Read buffer per connection (grown for larger heads and bodies).
const READ_BUF: usize = 8 * 1024;
/// Answer bytes gathered before they are written.
const WRITE_BATCH: usize = 64 * 1024;
/// Buffer capacity a connection keeps between requests.
const KEEP_BUF: usize = 16 * 1024;

/// What every connection of a listener shares.
pub(super) struct Listener {
    pub(super) gw: Gateway,
    pub(super) http1: http1::Builder,
    pub(super) http2: http2::Builder<TokioExecutor>,
    pub(super) tick: Duration,
    /// The header-read timeout in ticks, rounded up.
    pub(super) timeout_ticks: u32,
}

/// Why the connection stopped reading requests.
#[allow(
    clippy::large_enum_variant,
    reason = "made and matched once per request, never stored: boxing would cost an allocation"
)]
enum Next {
    Request(h1::Request),
    Hyper(&'static str),
    /// Answered 400 with this message, then closed (see `h1::Parsed::Refuse`).
    Refuse(&'static str),
    H2,
    Close,
}

/// Serve the connection `stream` from `peer` until it closes.
pub(super) async fn serve(listener: Arc<Listener>, stream: TcpStream, peer: Peer, drain: Signal) {
    let mut io = Ticking::new(stream, listener.tick);
    let mut buf = BytesMut::with_capacity(READ_BUF);
    let mut out = Vec::with_capacity(1024);
    let mut first = true;
    loop {
        let next = next_request(&mut io, &mut buf, &listener, &drain, first).await;
        first = false;
        let req = match next {
            Next::Request(req) => req,
            Next::Close => break,
            Next::Hyper(why) => {
                tracing::trace!(peer = %peer.addr, why, "HTTP/1 connection served by hyper");
                return with_hyper(&listener, io, buf.freeze(), peer, &drain, false).await;
            }
            Next::H2 => return with_hyper(&listener, io, buf.freeze(), peer, &drain, true).await,
            Next::Refuse(why) => {
                let id = RequestId::new();
                tracing::debug!(peer = %peer.addr, request_id = %id, why, "request refused before routing");
                let res = GatewayError::new(ErrorKind::BadRequest)
                    .with_message(why)
                    .to_response();
                let answer = Answer {
                    id,
                    head_request: false,
                    close: true,
                };
                if let Err(e) = write_response(&mut io, &mut out, res, answer).await {
                    tracing::debug!(peer = %peer.addr, error = %e, "answer not written in full");
                    return;
                }
                break;
            }
        };
        let body = if req.body == 0 {
            Body::Empty
        } else {
            if !read_at_least(&mut io, &mut buf, req.body, listener.timeout_ticks).await {
                tracing::debug!(peer = %peer.addr, "request body cut short (client gone, or stalled past the header-read timeout): closing");
                break;
            }
            Body::Full(Some(buf.split_to(req.body).freeze()))
        };
        let head_request = req.parts.method == Method::HEAD;
        let host = host_of(&req.parts);
        let (res, id) = listener
            .gw
            .handle_parts(req.parts, body, &peer, host, req.edge_assertion)
            .await;
        let close = req.close || drain.is_draining();
        let answer = Answer {
            id,
            head_request,
            close,
        };
        match write_response(&mut io, &mut out, res, answer).await {
            Err(e) => {
                tracing::debug!(peer = %peer.addr, error = %e, "answer not written in full");
                return;
            }
            Ok(handler_close) if close || handler_close => break,
            Ok(_) => {}
        }
        // A large body grew the buffers: an idle keep-alive connection does not keep that.
        if out.capacity() > KEEP_BUF {
            out = Vec::with_capacity(1024);
        }
        if buf.is_empty() && buf.capacity() > KEEP_BUF {
            buf = BytesMut::with_capacity(READ_BUF);
        }
    }
    // FIN, then what the client still sends is read and dropped: closing with unread
    // bytes would reset the connection, and the last answer could be lost with it.
    if io.shutdown().await.is_ok() {
        linger(&mut io).await;
    }
}

/// Wait for the next request head (or what decides the connection goes elsewhere).
async fn next_request(
    io: &mut Ticking<TcpStream>,
    buf: &mut BytesMut,
    listener: &Listener,
    drain: &Signal,
    first: bool,
) -> Next {
    // The tick count when the first read found nothing: the header-read timeout counts
    // from there.
    let mut waiting: Option<u32> = None;
    loop {
        if !buf.is_empty() {
            let preface = h1::H2_PREFACE;
            if first && buf.starts_with(preface) {
                return Next::H2;
            }
            if !(first && preface.starts_with(buf)) {
                match h1::parse_request(buf) {
                    Parsed::Request(req) => return Next::Request(req),
                    Parsed::Hyper(why) => return Next::Hyper(why),
                    Parsed::Refuse(why) => return Next::Refuse(why),
                    Parsed::Partial => {}
                }
            }
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(READ_BUF);
        }
        let give_up = |buf: &BytesMut| buf.is_empty() && drain.is_draining();
        let read = read_within(io, buf, &mut waiting, listener.timeout_ticks, give_up).await;
        match read {
            Some(Ok(0) | Err(_)) | None => return Next::Close,
            Some(Ok(_)) => {}
        }
    }
}

fn poll_read(
    io: &mut Ticking<TcpStream>,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    tokio_util::io::poll_read_buf(Pin::new(io), cx, buf)
}

/// One read into `buf`: the bytes read (0: the client closed), or `None` when, while
/// waiting, `give_up(buf)` says so or more than `timeout_ticks` of the connection's ticks
/// have passed since `waiting` was set (set at the first wait; the first tick may have
/// been running before it, so more than the timeout's ticks is at least the timeout).
async fn read_within(
    io: &mut Ticking<TcpStream>,
    buf: &mut BytesMut,
    waiting: &mut Option<u32>,
    timeout_ticks: u32,
    give_up: impl Fn(&BytesMut) -> bool,
) -> Option<io::Result<usize>> {
    poll_fn(|cx| match poll_read(io, cx, buf) {
        Poll::Ready(r) => Poll::Ready(Some(r)),
        // Woken by a new byte, the connection's tick or the drain.
        Poll::Pending => {
            let now = io.ticks();
            let since = *waiting.get_or_insert(now);
            if give_up(buf) || now.wrapping_sub(since) > timeout_ticks {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        }
    })
    .await
}

/// Read until `buf` holds `n` bytes; false if the client went away first, or sent
/// nothing for longer than the header-read timeout (`timeout_ticks`) between two reads:
/// a stalled body does not hold the connection forever.
async fn read_at_least(
    io: &mut Ticking<TcpStream>,
    buf: &mut BytesMut,
    n: usize,
    timeout_ticks: u32,
) -> bool {
    while buf.len() < n {
        buf.reserve(n - buf.len());
        match read_within(io, buf, &mut None, timeout_ticks, |_| false).await {
            Some(Ok(0) | Err(_)) | None => return false,
            Some(Ok(_)) => {}
        }
    }
    true
}

/// How an answer goes out, besides what the response says.
struct Answer {
    id: RequestId,
    head_request: bool,
    close: bool,
}

/// Write `res`: the head and every body frame that is ready in one write, then the rest
/// as it comes; true when the answer's own fields say `connection: close`. An error
/// leaves the connection unusable (the client sees it close).
async fn write_response(
    io: &mut Ticking<TcpStream>,
    out: &mut Vec<u8>,
    res: Response<Body>,
    answer: Answer,
) -> io::Result<bool> {
    let (parts, mut body) = res.into_parts();
    let framing = h1::framing(
        answer.head_request,
        parts.status,
        &parts.headers,
        body.size_hint().exact(),
    );
    out.clear();
    let head = h1::Head {
        status: parts.status,
        headers: &parts.headers,
        request_id: answer.id.as_bytes(),
        framing,
        close: answer.close,
    };
    let handler_close = head.write(out);
    drop(parts);
    let mut left = match framing {
        Framing::None => return io.write_all(out).await.map(|()| handler_close),
        Framing::Length(n) => Some(n),
        Framing::Chunked => None,
    };
    // Whether any of the answer has reached the socket: a body that breaks before then
    // (an upstream's bad chunk right after its head) can still be answered with a 502.
    let mut sent = false;
    loop {
        let frame = match poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                // Nothing more ready: what is gathered goes out while the body waits.
                io.write_all(out).await?;
                out.clear();
                sent = true;
                poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
            }
        };
        let Some(frame) = frame else { break };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) if !sent => return broke_before_sent(io, out, &answer, e).await,
            Err(e) => return Err(io::Error::other(e)),
        };
        let Ok(data) = frame.into_data() else {
            // Trailers are not passed on over HTTP/1.1.
            continue;
        };
        if data.is_empty() {
            continue;
        }
        // A large piece of a body of known length goes out from where it is, after what
        // is gathered, uncopied (a cached or MOCK answer is one piece).
        let large = left.is_some() && data.len() >= WRITE_BATCH;
        push_data(out, &data, &mut left, large)?;
        if large {
            io.write_all(out).await?;
            out.clear();
            io.write_all(&data).await?;
            sent = true;
        } else if out.len() >= WRITE_BATCH {
            io.write_all(out).await?;
            out.clear();
            sent = true;
        }
    }
    match left {
        Some(0) => {}
        Some(_) => return Err(io::Error::other("the body ended before its content-length")),
        None => out.extend_from_slice(crate::wire::LAST_CHUNK),
    }
    io.write_all(out).await.map(|()| handler_close)
}

/// The body of an answer broke before any of it was written: the client gets API
/// Gateway's answer to a failed integration instead (502, `Internal server error`, the
/// request's id) and the connection closes; the error is returned for the log.
async fn broke_before_sent(
    io: &mut Ticking<TcpStream>,
    out: &mut Vec<u8>,
    answer: &Answer,
    e: crate::body::BoxError,
) -> io::Result<bool> {
    const BODY: &[u8] = br#"{"message":"Internal server error"}"#;
    let mut headers = http::HeaderMap::with_capacity(2);
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-amzn-errortype",
        http::HeaderValue::from_static("IntegrationFailure"),
    );
    out.clear();
    h1::Head {
        status: http::StatusCode::BAD_GATEWAY,
        headers: &headers,
        request_id: answer.id.as_bytes(),
        framing: Framing::Length(BODY.len() as u64),
        close: true,
    }
    .write(out);
    out.extend_from_slice(BODY);
    io.write_all(out).await?;
    Err(io::Error::other(e))
}

/// Append `data` to the answer, framed (with a `content-length`, `by_caller` leaves the
/// bytes to the caller to write); `left` is what a `content-length` still allows.
fn push_data(
    out: &mut Vec<u8>,
    data: &Bytes,
    left: &mut Option<u64>,
    by_caller: bool,
) -> io::Result<()> {
    match left {
        Some(n) => {
            let len = data.len() as u64;
            if len > *n {
                return Err(io::Error::other(
                    "the body is longer than its content-length",
                ));
            }
            *n -= len;
            if !by_caller {
                out.extend_from_slice(data);
            }
        }
        None => {
            crate::wire::chunk_head(data.len(), out);
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
    }
    Ok(())
}

/// Serve the rest of the connection with hyper, `read` (bytes already read) first.
async fn with_hyper(
    listener: &Listener,
    io: Ticking<TcpStream>,
    read: Bytes,
    peer: Peer,
    drain: &Signal,
    h2: bool,
) {
    let addr = peer.addr;
    // Set when an HTTP/1 request becomes a WebSocket (see `Ticking::quiet_when`).
    let upgraded = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let shared = Arc::new((listener.gw.clone(), peer, upgraded.clone()));
    let svc = service_fn(move |req| {
        let shared = shared.clone();
        async move {
            let (gw, client, upgraded) = &*shared;
            let resp = gw.handle_upgradable(req, client, Some(upgraded)).await;
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let (io, slot) = Handback::new(io.rewind(read).quiet_when(upgraded));
    let io = TokioIo::new(super::canned::WithRequestIds::new(io));
    let ended = if h2 {
        graceful(listener.http2.serve_connection(io, svc), drain).await
    } else {
        // Upgrades: WEBSOCKET APIs (no integration answers 101: HTTP integrations refuse
        // to pass one on).
        let conn = listener.http1.serve_connection(io, svc).with_upgrades();
        graceful_by(conn, drain, |c| c.graceful_shutdown()).await
    };
    if let Err(e) = ended {
        tracing::debug!(peer = %addr, error = %e, "connection ended with an error");
    }
    // hyper shut the write side; h2 ends with GOAWAY and needs no lingering.
    if let Some(mut io) = slot.take()
        && !h2
    {
        linger(&mut io).await;
    }
}
