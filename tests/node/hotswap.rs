//! Hot swap of a plugin version under load, on the real binary: client threads keep
//! keep-alive connections busy on a route backed by an authorizer and a function plugin
//! while new deployments change the function's config and then its component. No request
//! may fail, each new version must answer soon after its deploy, and no client may see
//! an older version once it has seen a newer one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{ConfigDir, Node, eventually, sign, text};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/plugins/target/wasm32-wasip2/release"
);
const HOST: &str = "swap.execute-api.localhost";
const CLIENTS: usize = 6;

fn api(greeting: &str) -> String {
    format!(
        r#"version = 1
id = "swap"
name = "Hot swap"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "tokens"
file = "hmac.wasm"
world = "authorizer"
config = {{ secret = "s3cret", ttl = "0" }}
[[plugins]]
name = "shop"
file = "shop.wasm"
world = "function"
config = {{ greeting = "{greeting}" }}
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "tokens"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 0
[[routes]]
key = "GET /lists/{{name}}"
authorizer = "tokens"
integration = {{ type = "FUNCTION", plugin = "shop" }}
"#
    )
}

fn copy_fixture(cfg: &ConfigDir, name: &str, as_name: &str) {
    let from = Path::new(FIXTURES).join(format!("{name}.wasm"));
    std::fs::copy(&from, cfg.path().join(as_name))
        .unwrap_or_else(|e| panic!("fixture {}: {e}", from.display()));
}

fn bearer() -> String {
    format!(
        "Bearer {}",
        sign("s3cret", &serde_json::json!({ "sub": "loader" }))
    )
}

/// Which version answered: 1 and 2 are the shopping-list function with greeting `v1` /
/// `v2`, 3 the replacement component (the `huge-output` fixture answers `small`).
fn version_of(body: &str) -> Option<u8> {
    if body.contains(r#""greeting":"v1""#) {
        Some(1)
    } else if body.contains(r#""greeting":"v2""#) {
        Some(2)
    } else if body == "small" {
        Some(3)
    } else {
        None
    }
}

/// One request on a keep-alive connection; (status, body).
fn roundtrip(conn: &mut BufReader<TcpStream>, auth: &str) -> std::io::Result<(u16, String)> {
    // One write: a request split over several segments would wait on delayed ACKs.
    let request = format!(
        "GET /prod/lists/weekly?item=tea HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: {auth}\r\n\r\n"
    );
    conn.get_mut().write_all(request.as_bytes())?;
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let status = line.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0;
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed in the head"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    ok: AtomicUsize,
    latest: [AtomicUsize; CLIENTS],
    failures: Mutex<Vec<String>>,
}

fn client(i: usize, addr: SocketAddr, seen: Arc<Seen>, stop: Arc<AtomicBool>) {
    let auth = bearer();
    let connect = || {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok::<_, std::io::Error>(BufReader::new(s))
    };
    let mut conn = match connect() {
        Ok(c) => c,
        Err(e) => {
            return seen
                .failures
                .lock()
                .expect("lock")
                .push(format!("connect: {e}"));
        }
    };
    let mut latest = 0;
    // Bounded even if the test forgets to stop it.
    for _ in 0..200_000 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let failure = match roundtrip(&mut conn, &auth) {
            Ok((200, body)) => match version_of(&body) {
                Some(v) if usize::from(v) >= latest => {
                    latest = usize::from(v);
                    seen.latest[i].store(latest, Ordering::Relaxed);
                    seen.ok.fetch_add(1, Ordering::Relaxed);
                    None
                }
                Some(v) => Some(format!("version {v} answered after version {latest}")),
                None => Some(format!("unexpected body {body}")),
            },
            Ok((status, body)) => Some(format!("{status} {body}")),
            Err(e) => Some(format!("client {i}: {e}")),
        };
        if let Some(f) = failure {
            seen.failures.lock().expect("lock").push(f);
            match connect() {
                Ok(c) => conn = c,
                Err(_) => break,
            }
        }
    }
}

fn deploy(node: &Node) {
    let out = node.cli(&["deploy", "--api", "swap"]);
    assert!(out.status.success(), "deploy failed: {}", text(&out));
}

#[test]
fn plugin_versions_swap_under_load_without_a_failed_request() {
    let cfg = ConfigDir::new(&[("swap", &api("v1"))]);
    // The node-wide throttle (10,000 rps by default) must not answer the load with 429.
    std::fs::write(
        cfg.path().join("causeway.toml"),
        "version = 1\n[node]\ndata_dir = \"data\"\n[node.throttle]\nrate = 10000000.0\nburst = 10000000\n[admin]\ntoken = \"test-token\"\n",
    )
    .expect("write node file");
    copy_fixture(&cfg, "hmac_authorizer", "hmac.wasm");
    copy_fixture(&cfg, "shopping_list_function", "shop.wasm");
    let node = Node::start(cfg.path());

    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (seen, stop, addr) = (seen.clone(), stop.clone(), node.addr);
            std::thread::spawn(move || client(i, addr, seen, stop))
        })
        .collect();
    let all_at = |v: usize| {
        let seen = seen.clone();
        move || seen.latest.iter().all(|l| l.load(Ordering::Relaxed) == v)
    };
    eventually(
        "every client served by v1",
        Duration::from_secs(30),
        all_at(1),
    );

    // A new config of the same component: a new plugin load, a new deployment.
    cfg.write_api("swap", &api("v2"));
    deploy(&node);
    eventually(
        "every client served by v2",
        Duration::from_secs(30),
        all_at(2),
    );

    // A different component under the same plugin name.
    copy_fixture(&cfg, "huge_output", "shop.wasm");
    deploy(&node);
    eventually(
        "every client served by v3",
        Duration::from_secs(30),
        all_at(3),
    );
    // The load goes on after the swaps, and is a load: polled rather than hoped for (a
    // slow machine takes longer to reach the count, it does not fail).
    let before = seen.ok.load(Ordering::Relaxed);
    eventually(
        "load goes on after the swaps",
        Duration::from_secs(30),
        || seen.ok.load(Ordering::Relaxed) >= (before + 100).max(500),
    );

    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client thread");
    }
    let failures = seen.failures.lock().expect("lock");
    assert!(
        failures.is_empty(),
        "{} failed requests, first: {:?}",
        failures.len(),
        failures.first()
    );
    let ok = seen.ok.load(Ordering::Relaxed);
    assert!(ok >= 500, "only {ok} requests made it: not much of a load");
    eprintln!("hot swap: {ok} requests, 0 failed");
}
