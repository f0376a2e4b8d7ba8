//! Start and drive the real binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_causeway");

/// A config directory in a temp dir, with its own data dir.
pub struct ConfigDir {
    pub dir: tempfile::TempDir,
}

impl ConfigDir {
    pub fn new(apis: &[(&str, &str)]) -> ConfigDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("apis")).expect("mkdir apis");
        std::fs::write(
            dir.path().join("causeway.toml"),
            "version = 1\n[node]\ndata_dir = \"data\"\n[admin]\ntoken = \"test-token\"\n",
        )
        .expect("write node file");
        let c = ConfigDir { dir };
        for (name, text) in apis {
            c.write_api(name, text);
        }
        c
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `causeway validate` on this directory.
    pub fn validate(&self) -> Output {
        Command::new(BIN)
            .args(["validate", "--config"])
            .arg(self.path())
            .output()
            .expect("run causeway validate")
    }

    pub fn write_api(&self, name: &str, text: &str) {
        std::fs::write(self.path().join("apis").join(format!("{name}.toml")), text)
            .expect("write api");
    }
}

/// A running `causeway serve`.
pub struct Node {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    /// The private listener, when started with one.
    pub private: Option<SocketAddr>,
    /// The HTTPS listener, when `[node.tls]` configures one.
    pub https: Option<SocketAddr>,
    pub config: PathBuf,
}

impl Node {
    pub fn start(config: &Path) -> Node {
        Node::start_with(config, &[])
    }

    /// [`start`](Self::start) with more `serve` arguments.
    pub fn start_with(config: &Path, args: &[&str]) -> Node {
        let (child, line) = spawn_until(
            Command::new(BIN)
                .args(["serve", "--config"])
                .arg(config)
                .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
                .args(args),
            "causeway listening on",
            "[node]",
        );
        let addrs: Vec<SocketAddr> = line
            .split("http://")
            .skip(1)
            .filter_map(|s| s.split([' ', ')', ',']).next()?.parse().ok())
            .collect();
        // `http://GATEWAY (admin http://ADMIN)`, or with `private http://PRIVATE, ` before
        // the admin listener.
        let (private, admin) = match addrs.as_slice() {
            [_, admin] => (None, *admin),
            [_, private, admin] => (Some(*private), *admin),
            _ => panic!("cannot parse {line}"),
        };
        let https = line
            .split("https://")
            .nth(1)
            .and_then(|s| s.split([' ', ')', ',']).next()?.parse().ok());
        Node {
            child,
            addr: addrs[0],
            admin,
            private,
            https,
            config: config.to_owned(),
        }
    }

    /// Run a CLI verb against this node.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .args([
                "--admin",
                &format!("http://{}", self.admin),
                "--token",
                "test-token",
            ])
            .output()
            .expect("run causeway")
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "node exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("node did not stop within 20 s of SIGTERM");
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Spawns `command` (`RUST_LOG=warn`, stderr echoed with `tag`) and waits up to 60 s for
/// the stderr line containing `marker`, returned with the child.
pub fn spawn_until(
    command: &mut Command,
    marker: &'static str,
    tag: &'static str,
) -> (Child, String) {
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn causeway");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent && line.contains(marker) {
                let _ = tx.send(line.clone());
                sent = true;
            }
            eprintln!("{tag} {line}");
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no `{marker}` line within 60 s"));
    (child, line)
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// One blocking HTTP/1.1 GET over a fresh connection: the whole answer, head and body.
pub fn get_raw(addr: SocketAddr, host: &str, path: &str) -> String {
    get_raw_with(addr, host, path, "")
}

/// [`get_raw`] with more header lines (`"name: value\r\n"` each).
pub fn get_raw_with(addr: SocketAddr, host: &str, path: &str, headers: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
}

/// One blocking HTTP/1.1 GET over a fresh connection; returns (status, body).
pub fn get(addr: SocketAddr, host: &str, path: &str) -> std::io::Result<(u16, String)> {
    exchange(std::net::TcpStream::connect(addr)?, host, path, "")
}

/// [`get`] with more header lines (`"name: value\r\n"` each).
pub fn get_with(
    addr: SocketAddr,
    host: &str,
    path: &str,
    headers: &str,
) -> std::io::Result<(u16, String)> {
    exchange(std::net::TcpStream::connect(addr)?, host, path, headers)
}

/// [`get`] from a connection bound to `source` (another loopback address, say).
pub fn get_from(
    source: std::net::IpAddr,
    addr: SocketAddr,
    host: &str,
    path: &str,
) -> std::io::Result<(u16, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let stream = runtime.block_on(async {
        let socket = match source {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(source, 0))?;
        socket.connect(addr).await?.into_std()
    })?;
    stream.set_nonblocking(false)?;
    exchange(stream, host, path, "")
}

fn exchange(
    mut s: std::net::TcpStream,
    host: &str,
    path: &str,
    headers: &str,
) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let status = buf.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    let chunked = head
        .to_ascii_lowercase()
        .contains("\r\ntransfer-encoding: chunked");
    Ok((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

/// The payload of a chunked HTTP/1.1 body (streamed answers have no length).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16);
        match size {
            Ok(n) if n > 0 && rest.len() >= n => {
                out.push_str(&rest[..n]);
                body = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
            }
            _ => break,
        }
    }
    out
}

/// Poll `f` until it returns true or `deadline` passes.
pub fn eventually(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what}: not true within {deadline:?}");
}

/// A one-route MOCK API whose body names its version.
pub fn versioned_api(version: &str) -> String {
    format!(
        r#"version = 1
id = "svc"
name = "Service"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /v"
integration = {{ type = "MOCK", body = "{version}" }}
"#
    )
}

pub const HOST: &str = "svc.execute-api.localhost";

/// A REST API whose one route (`GET /private`, a MOCK answering `private`) is guarded by
/// the HMAC authorizer fixture (secret `s3cret`), for [`ConfigDir::write_guarded_api`].
const GUARDED_API: &str = r#"version = 1
id = "guarded"
name = "Guarded"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "hmac"
file = "hmac.wasm"
world = "authorizer"
config = { secret = "s3cret" }
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization"]
[[routes]]
key = "GET /private"
authorizer = "tokens"
integration = { type = "MOCK", body = "private" }
"#;

impl ConfigDir {
    /// Writes the `guarded` API (host `guarded.execute-api.localhost`) and copies the
    /// HMAC authorizer fixture beside it.
    pub fn write_guarded_api(&self) {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plugins/target/wasm32-wasip2/release/hmac_authorizer.wasm");
        std::fs::copy(&fixture, self.path().join("hmac.wasm"))
            .unwrap_or_else(|e| panic!("fixture {}: {e}", fixture.display()));
        self.write_api("guarded", GUARDED_API);
    }
}

/// `payload.signature` as the HMAC authorizer fixture checks it: `claims` as base64url
/// JSON, signed with HMAC-SHA256 under `secret`.
pub fn sign(secret: &str, claims: &serde_json::Value) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    format!(
        "{payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}
