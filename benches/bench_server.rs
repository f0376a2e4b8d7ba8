//! `causeway-bench-server`: a bare hyper HTTP/1.1 server that answers every request with
//! the same fixed bytes. `benches/load.sh` runs it twice: as the "bare hyper" baseline the
//! MOCK route is compared with, and as the upstream that causeway and nginx proxy to.
//!
//! Usage: `causeway-bench-server --listen 127.0.0.1:PORT [--body TEXT]
//! [--content-type TYPE] [--threads N]`
//!
//! The defaults are the body and content type of the MOCK route in
//! `benches/config/apis/bench.toml`, so both servers send the same bytes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// Same body as the bench API's MOCK route.
const DEFAULT_BODY: &str = r#"{"message":"hello from causeway"}"#;
const DEFAULT_CONTENT_TYPE: &str = "application/json";

const USAGE: &str = "usage: causeway-bench-server --listen ADDR [--body TEXT] \
[--content-type TYPE] [--threads N]";

struct Args {
    listen: SocketAddr,
    body: Bytes,
    content_type: HeaderValue,
    threads: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut listen = None;
    let mut body = DEFAULT_BODY.to_owned();
    let mut content_type = DEFAULT_CONTENT_TYPE.to_owned();
    let mut threads = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--listen" => {
                let v = value()?;
                listen = Some(v.parse().map_err(|e| format!("--listen {v}: {e}"))?);
            }
            "--body" => body = value()?,
            "--content-type" => content_type = value()?,
            "--threads" => {
                let v = value()?;
                threads = Some(v.parse().map_err(|e| format!("--threads {v}: {e}"))?);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(Args {
        listen: listen.ok_or_else(|| format!("--listen is required\n{USAGE}"))?,
        body: Bytes::from(body),
        content_type: HeaderValue::from_str(&content_type)
            .map_err(|e| format!("--content-type: {e}"))?,
        threads,
    })
}

async fn serve(args: Args) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!(
        "causeway-bench-server: listening on {} ({} bytes, {})",
        listener.local_addr()?,
        args.body.len(),
        args.content_type.to_str().unwrap_or("?"),
    );
    let body = args.body;
    let content_type = args.content_type;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("causeway-bench-server: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        let content_type = content_type.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                let mut resp = Response::new(Full::new(body.clone()));
                resp.headers_mut()
                    .insert(CONTENT_TYPE, content_type.clone());
                async move { Ok::<_, Infallible>(resp) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let result = rt.build().and_then(|rt| rt.block_on(serve(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("causeway-bench-server: {e}");
            ExitCode::FAILURE
        }
    }
}
