//! A node raises the open files limit it inherits to its hard limit at start, so a low
//! soft limit from a shell or service manager does not cap the connections it serves.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command};
use std::time::Duration;

use crate::harness::{BIN, ConfigDir, HOST, spawn_until, versioned_api};

/// The soft limit the node is started with.
const STARTED_WITH: u64 = 256;

/// `(soft, hard)` "Max open files" of process `pid`.
fn open_files_limits(pid: &str) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("an open files line");
    let mut numbers = line
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok());
    (
        numbers.next().expect("soft limit"),
        numbers.next().expect("hard limit"),
    )
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_low_open_files_limit_is_raised_and_more_connections_than_it_are_served() {
    let (_, hard) = open_files_limits("self");
    // More connections than the node started with, fewer than this test may open.
    let connections = 400;
    if hard < connections + 100 {
        eprintln!("hard open files limit {hard}: too low to show anything, skipped");
        return;
    }
    let dir = ConfigDir::new(&[("svc", &versioned_api("v1"))]);
    // The shell lowers the soft limit, then becomes the node.
    let (child, line) = spawn_until(
        Command::new("sh")
            .args([
                "-c",
                &format!("ulimit -Sn {STARTED_WITH} && exec \"$0\" \"$@\""),
                BIN,
                "serve",
                "--config",
            ])
            .arg(dir.path())
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]),
        "causeway listening on",
        "[limits]",
    );
    let node = Killed(child);
    let (soft, node_hard) = open_files_limits(&node.0.id().to_string());
    assert!(soft > STARTED_WITH, "soft limit still {soft}");
    assert_eq!(soft, node_hard);
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split([' ', ')', ',']).next()?.parse().ok())
        .unwrap_or_else(|| panic!("cannot parse {line}"));
    // Every connection open at once, then each asks once.
    let mut open: Vec<TcpStream> = (0..connections)
        .map(|i| TcpStream::connect(addr).unwrap_or_else(|e| panic!("connection {i}: {e}")))
        .collect();
    for (i, s) in open.iter_mut().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            s,
            "GET /prod/v HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
        )
        .unwrap_or_else(|e| panic!("connection {i}: {e}"));
    }
    for (i, s) in open.iter_mut().enumerate() {
        let mut answer = String::new();
        s.read_to_string(&mut answer)
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "connection {i}: {answer}"
        );
        assert!(answer.ends_with("v1"), "connection {i}: {answer}");
    }
}
