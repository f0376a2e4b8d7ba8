//! WebSocket load for `benches/ws_load.sh`.
//!
//! - `causeway-ws-bench echo ADDR`: a bare tokio-tungstenite server answering every message
//!   with the same bytes (the baseline: what the WebSocket library costs alone).
//! - `causeway-ws-bench load URL HOST CONNECTIONS SECONDS MESSAGE`: CONNECTIONS clients,
//!   each sending MESSAGE and waiting for the answer, again and again for SECONDS (a closed
//!   loop, as wrk's connections); prints `messages/s p50_us p99_us errors` on one line.

use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn usage() -> ! {
    eprintln!("usage: causeway-ws-bench echo ADDR | load URL HOST CONNECTIONS SECONDS MESSAGE");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("runtime: {e}");
            std::process::exit(1)
        });
    match args.first().map(String::as_str) {
        Some("echo") if args.len() == 2 => runtime.block_on(echo(&args[1])),
        Some("load") if args.len() == 6 => {
            let connections: usize = args[3].parse().unwrap_or_else(|_| usage());
            let seconds: u64 = args[4].parse().unwrap_or_else(|_| usage());
            runtime.block_on(load(&args[1], &args[2], connections, seconds, &args[5]));
        }
        _ => usage(),
    }
}

async fn echo(addr: &str) {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("bind {addr}: {e}");
            std::process::exit(1)
        });
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn load(url: &str, host: &str, connections: usize, seconds: u64, message: &str) {
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut req = url.into_client_request().unwrap_or_else(|e| {
            eprintln!("{url}: {e}");
            std::process::exit(2)
        });
        if let Ok(h) = host.parse() {
            req.headers_mut().insert("host", h);
        }
        let (ws, _) = match tokio_tungstenite::connect_async(req).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("connect {url}: {e}");
                std::process::exit(1)
            }
        };
        sockets.push(ws);
    }
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut clients = Vec::with_capacity(connections);
    for ws in sockets {
        let message = message.to_owned();
        clients.push(tokio::spawn(async move {
            let mut ws = ws;
            let mut latencies = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            while Instant::now() < end {
                let sent = Instant::now();
                if ws.send(Message::text(message.clone())).await.is_err() {
                    errors += 1;
                    break;
                }
                match ws.next().await {
                    Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                        latencies
                            .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    _ => {
                        errors += 1;
                        break;
                    }
                }
            }
            let _ = ws.close(None).await;
            (latencies, errors)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for c in clients {
        if let Ok((l, e)) = c.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(f64::EPSILON);
    all.sort_unstable();
    let at = |q: f64| {
        let i = ((all.len() as f64 - 1.0) * q).round() as usize;
        all.get(i).copied().unwrap_or(0)
    };
    println!(
        "{:.0} {} {} {errors}",
        all.len() as f64 / elapsed,
        at(0.5),
        at(0.99)
    );
}
