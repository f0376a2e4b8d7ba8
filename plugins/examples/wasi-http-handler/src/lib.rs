//! A plain `wasi:http/proxy` component: no Causeway SDK, the same component `wasmtime
//! serve` or Spin would run.
//!
//! - `GET /hello`: 200 `hello from wasi:http`.
//! - `POST /echo`: the request body back, with its content type.
//! - `GET /fetch?url=http://host:port/path`: an outbound request through
//!   `wasi:http/outgoing-handler` (the gateway allows only configured hosts); answers
//!   `upstream <status>: <body>`, or 502 with the error.
//! - `GET /stream?n=N&ms=M`: `N` lines, `chunk 1` to `chunk N`, each written and flushed
//!   `M` ms after the previous one (a response the gateway must stream, not buffer).
//! - `GET /stream-trap`: writes one line, then traps mid-body.
//! - `GET /loop`: spins forever (the gateway's deadline stops it).
//! - anything else: 404.

use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};

struct Handler;

impl Guest for Handler {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let target = request.path_with_query().unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        match (request.method(), path) {
            (Method::Get, "/hello") => respond(out, 200, "text/plain", b"hello from wasi:http"),
            (Method::Post, "/echo") => {
                let ctype = header(&request, "content-type").unwrap_or_default();
                let body = read_body(request.consume().ok());
                respond(out, 200, &ctype, &body);
            }
            (Method::Get, "/fetch") => {
                let url = query.strip_prefix("url=").unwrap_or_default();
                match fetch(url) {
                    Ok((status, body)) => {
                        let text = format!("upstream {status}: {}", String::from_utf8_lossy(&body));
                        respond(out, 200, "text/plain", text.as_bytes());
                    }
                    Err(e) => respond(out, 502, "text/plain", e.as_bytes()),
                }
            }
            (Method::Get, "/stream") => {
                let arg = |name: &str| {
                    query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                        .and_then(|v| v.parse::<u64>().ok())
                };
                stream(out, arg("n").unwrap_or(3), arg("ms").unwrap_or(100), false);
            }
            (Method::Get, "/stream-trap") => stream(out, 1, 0, true),
            (Method::Get, "/loop") => {
                let mut i: u64 = 0;
                loop {
                    i = std::hint::black_box(i.wrapping_add(1));
                }
            }
            _ => respond(out, 404, "text/plain", b"not found"),
        }
    }
}

fn header(request: &IncomingRequest, name: &str) -> Option<String> {
    let values = request.headers().get(name);
    values
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn read_body(body: Option<IncomingBody>) -> Vec<u8> {
    let Some(body) = body else {
        return Vec::new();
    };
    let mut buf = Vec::new();
    if let Ok(stream) = body.stream() {
        // Ends on `StreamError::Closed` (or a failed read).
        while let Ok(chunk) = stream.blocking_read(64 << 10) {
            buf.extend_from_slice(&chunk);
        }
    }
    let _ = IncomingBody::finish(body);
    buf
}

fn respond(out: ResponseOutparam, status: u16, content_type: &str, body: &[u8]) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[content_type.as_bytes().to_vec()]);
    let _ = headers.set("x-handler", &[b"wasi-http-handler".to_vec()]);
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = outgoing.write() {
        for chunk in body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing, None);
}

/// `n` lines, flushed one by one `ms` apart; with `trap`, a trap after the last.
fn stream(out: ResponseOutparam, n: u64, ms: u64, trap: bool) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[b"text/plain".to_vec()]);
    let response = OutgoingResponse::new(headers);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    let Ok(stream) = outgoing.write() else {
        return;
    };
    for i in 1..=n {
        if i > 1 {
            wasip2::clocks::monotonic_clock::subscribe_duration(ms * 1_000_000).block();
        }
        if stream
            .blocking_write_and_flush(format!("chunk {i}\n").as_bytes())
            .is_err()
        {
            return;
        }
    }
    if trap {
        std::process::abort();
    }
    drop(stream);
    let _ = OutgoingBody::finish(outgoing, None);
}

/// GET `url` (`http://authority/path`) through the host.
fn fetch(url: &str) -> Result<(u16, Vec<u8>), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_scheme(Some(&Scheme::Http))
        .and_then(|()| request.set_authority(Some(authority)))
        .and_then(|()| request.set_path_with_query(Some(path)))
        .map_err(|()| format!("bad URL {url}"))?;
    let pending =
        outgoing_handler::handle(request, None).map_err(|e| format!("outbound failed: {e:?}"))?;
    let response = loop {
        if let Some(r) = pending.get() {
            break r;
        }
        pending.subscribe().block();
    };
    let response = response
        .map_err(|()| "response taken twice".to_owned())?
        .map_err(|e| format!("outbound failed: {e:?}"))?;
    let status = response.status();
    Ok((status, read_body(response.consume().ok())))
}

wasip2::http::proxy::export!(Handler);
