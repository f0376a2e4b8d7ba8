//! Mangled WebSocket input: handshakes and frames edited at random (seeded, so a failure
//! names a reproducible round) never panic the node, never get a 5xx for a handshake, and
//! leave it serving WebSocket clients as before.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{backend, chat_api, connect, whoami};
use crate::garbage::mangle_bytes;
use crate::{seeded, support};

const HANDSHAKE: &[u8] = b"GET /prod?room=blue HTTP/1.1\r\nHost: chat.execute-api.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A client's masked text frame (payloads under 126 bytes).
fn frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut f = vec![0x81, 0x80 | payload.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Send `bytes` (after a clean handshake when `handshake_first`), then read what comes
/// back until the server closes or 300 ms pass without a byte.
async fn round(addr: std::net::SocketAddr, bytes: Vec<u8>, handshake_first: bool) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    if handshake_first {
        s.write_all(HANDSHAKE).await.expect("handshake");
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                other => panic!("no 101 for a clean handshake: {other:?}"),
            }
        }
        assert!(
            got.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&got)
        );
        got.clear();
    }
    let _ = s.write_all(&bytes).await;
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_handshakes_and_frames_never_panic_and_leave_the_node_serving() {
    let panics = seeded::count_panics();
    let (backend, _) = backend().await;
    let gw = support::gateway(&[&chat_api(backend, "")]).await;
    let frames: Vec<Vec<u8>> = [
        &br#"{"action":"whoami"}"#[..],
        br#"{"action":"quiet"}"#,
        b"plain words to $default",
    ]
    .iter()
    .map(|p| frame(p))
    .collect();
    let mut rng = seeded::Rng(0x005e_ed0f_5eed);
    for batch in 0..20 {
        let mut rounds = Vec::new();
        for i in 0..16 {
            let (bytes, after_handshake) = if i % 2 == 0 {
                (mangle_bytes(HANDSHAKE, &mut rng), false)
            } else {
                let seed = &frames[rng.below(frames.len())];
                let mut bytes = mangle_bytes(seed, &mut rng);
                // Sometimes a whole frame first, so the mangled one is not the first.
                if rng.below(2) == 0 {
                    bytes.splice(0..0, seed.iter().copied());
                }
                (bytes, true)
            };
            let addr = gw.addr;
            rounds.push(tokio::spawn(async move {
                (
                    round(addr, bytes.clone(), after_handshake).await,
                    bytes,
                    after_handshake,
                )
            }));
        }
        for r in rounds {
            let (answer, sent, after_handshake) = r.await.expect("round");
            if !after_handshake && !answer.is_empty() {
                // A handshake gets an HTTP answer, and never a 5xx.
                let text = String::from_utf8_lossy(&answer);
                assert!(
                    text.starts_with("HTTP/1.1 ") && !text.starts_with("HTTP/1.1 5"),
                    "batch {batch}: {:?} got {text}",
                    String::from_utf8_lossy(&sent)
                );
            }
        }
    }
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "a thread panicked (above)"
    );
    // Still serving WebSocket clients.
    let mut ws = connect(gw.addr, "/prod", "").await.expect("connected");
    assert_eq!(whoami(&mut ws).await.len(), 16);
}
