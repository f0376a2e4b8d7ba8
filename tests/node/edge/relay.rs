//! A far-away link on loopback: a UDP relay that delays one direction.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Forwards UDP datagrams from whoever sends to it to `to`, `delay` late, and `to`'s
/// answers back at once: a far-away link on loopback.
pub(super) struct Relay {
    pub(super) addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Relay {
    pub(super) fn start(to: SocketAddr, delay: Duration) -> Relay {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind relay");
        socket
            .set_read_timeout(Some(Duration::from_millis(2)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let mut client = None;
            let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
            let mut buf = [0u8; 65_536];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf) {
                    if from == to {
                        if let Some(c) = client {
                            let _ = socket.send_to(&buf[..n], c);
                        }
                    } else {
                        client = Some(from);
                        queue.push_back((Instant::now() + delay, buf[..n].to_vec()));
                    }
                }
                while queue.front().is_some_and(|(due, _)| *due <= Instant::now()) {
                    if let Some((_, packet)) = queue.pop_front() {
                        let _ = socket.send_to(&packet, to);
                    }
                }
            }
        });
        Relay { addr, stop }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
