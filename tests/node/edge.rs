//! An edge node in front of two regional nodes: requests go to the nearer region (round
//! trips measured over the mesh, one region made far by a delaying UDP relay), fail over
//! when it is gone, and get a 503 when no region answers. A route's WASM authorizer,
//! deployed on a region, runs at the edge: refusals are answered there, and the region
//! takes the edge's signed allow instead of running the authorizer again.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command};
use std::time::Duration;

#[path = "edge/relay.rs"]
mod relay;

use relay::Relay;

use crate::harness::{
    BIN, ConfigDir, Node, eventually, get, get_from, get_raw_with, sign, spawn_until, text,
};

const API: &str = r#"version = 1
id = "svc"
name = "Service"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /hello"
integration = { type = "MOCK", body = "hello" }
[[routes]]
key = "GET /ip"
integration = { type = "MOCK", body = "$context.identity.sourceIp" }
"#;
const HOST: &str = "svc.execute-api.localhost";
/// `region-a` is far (behind the relay), `region-b` near; by id alone `a` would come first.
const FAR: &str = "region-a.test";
pub(crate) const NEAR: &str = "region-b.test";
pub(crate) const EDGE: &str = "edge-1.test";

pub(crate) fn udp_addr() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free udp port")
}

fn mesh_section(
    id: &str,
    listen: SocketAddr,
    certs: &std::path::Path,
    peers: &[(&str, SocketAddr)],
) -> String {
    let peers: Vec<String> = peers
        .iter()
        .map(|(p, a)| format!(r#"{{ id = "{p}", address = "{a}" }}"#))
        .collect();
    format!(
        r#"[mesh]
id = "{id}"
listen = "{listen}"
ca_file = "{certs}/ca.pem"
cert_file = "{certs}/{id}.pem"
key_file = "{certs}/{id}-key.pem"
ping_interval_ms = 100
down_after_ms = 3000
peers = [{peers}]
"#,
        certs = certs.display(),
        peers = peers.join(", ")
    )
}

fn region(
    id: &str,
    listen: SocketAddr,
    certs: &std::path::Path,
    peers: &[(&str, SocketAddr)],
) -> (ConfigDir, Node) {
    let cfg = region_config(id, listen, certs, peers);
    let node = Node::start(cfg.path());
    (cfg, node)
}

/// A regional node's config directory, with the `svc` API.
pub(crate) fn region_config(
    id: &str,
    listen: SocketAddr,
    certs: &std::path::Path,
    peers: &[(&str, SocketAddr)],
) -> ConfigDir {
    let cfg = ConfigDir::new(&[("svc", API)]);
    let node = format!(
        "version = 1\n[node]\ndata_dir = \"data\"\n[admin]\ntoken = \"test-token\"\n{}",
        mesh_section(id, listen, certs, peers)
    );
    std::fs::write(cfg.path().join("causeway.toml"), node).expect("write node file");
    cfg
}

pub(crate) struct EdgeNode {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// The HTTPS listener, with `[node.tls]`.
    https: Option<SocketAddr>,
    /// The admin listener, with `--admin-listen`.
    admin: Option<SocketAddr>,
}

impl Drop for EdgeNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_edge(dir: &std::path::Path) -> EdgeNode {
    start_edge_with(dir, &[])
}

fn start_edge_with(dir: &std::path::Path, args: &[&str]) -> EdgeNode {
    let (child, line) = spawn_until(
        Command::new(BIN)
            .args(["edge", "--listen", "127.0.0.1:0", "--config"])
            .arg(dir)
            .args(args),
        "causeway edge listening on http://",
        "[edge]",
    );
    // `… on http://ADDR`, or `… on http://ADDR (https://ADDR)`.
    let after = |scheme: &str| {
        line.split(scheme)
            .nth(1)
            .and_then(|a| a.split([' ', ')']).next()?.trim().parse().ok())
    };
    let addr = after("http://").expect("an address");
    EdgeNode {
        child,
        addr,
        https: after("https://"),
        admin: after("admin http://"),
    }
}

/// (status, region header, body) of `GET /prod/hello` through the edge.
fn through(edge: &EdgeNode) -> (u16, String, String) {
    through_with(edge, HOST, "/prod/hello", "")
}

/// (status, region header, body) of a GET through the edge; no region header: the edge
/// answered itself.
fn through_with(edge: &EdgeNode, host: &str, path: &str, headers: &str) -> (u16, String, String) {
    let raw = get_raw_with(edge.addr, host, path, headers);
    let status = raw.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let region = raw
        .lines()
        .find_map(|l| l.strip_prefix("x-causeway-region: ").map(str::to_owned))
        .unwrap_or_default();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, region, body)
}

/// A CA and certificates for `ids`, in a temporary directory.
pub(crate) fn mint(ids: &[&str]) -> tempfile::TempDir {
    let certs = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args(["mesh", "certs", "--out"])
        .arg(certs.path())
        .args(ids)
        .output()
        .expect("mint");
    assert!(out.status.success(), "{}", text(&out));
    certs
}

/// An edge's config directory: `[mesh]` with `peers`, `[edge]` forwarding to `regions`.
pub(crate) fn edge_config(
    listen: SocketAddr,
    certs: &std::path::Path,
    peers: &[(&str, SocketAddr)],
    regions: &[(&str, SocketAddr)],
) -> tempfile::TempDir {
    let cfg = tempfile::tempdir().expect("tempdir");
    let regions: Vec<String> = regions
        .iter()
        .map(|(node, addr)| format!(r#"{{ node = "{node}", url = "http://{addr}" }}"#))
        .collect();
    let toml = format!(
        "version = 1\n{}[edge]\nconnect_timeout_ms = 500\nregions = [{}]\n",
        mesh_section(EDGE, listen, certs, peers),
        regions.join(", ")
    );
    std::fs::write(cfg.path().join("causeway.toml"), toml).expect("write");
    cfg
}

#[test]
fn edge_picks_the_nearest_region_and_fails_over() {
    let certs = mint(&[FAR, NEAR, EDGE]);
    let (far_udp, near_udp, edge_udp) = (udp_addr(), udp_addr(), udp_addr());
    let relay = Relay::start(far_udp, Duration::from_millis(80));
    let (_far_cfg, mut far) = region(
        FAR,
        far_udp,
        certs.path(),
        &[(NEAR, near_udp), (EDGE, edge_udp)],
    );
    let (_near_cfg, mut near) = region(
        NEAR,
        near_udp,
        certs.path(),
        &[(FAR, far_udp), (EDGE, edge_udp)],
    );

    let edge_cfg = edge_config(
        edge_udp,
        certs.path(),
        &[(FAR, relay.addr), (NEAR, near_udp)],
        &[(FAR, far.addr), (NEAR, near.addr)],
    );
    let out = Command::new(BIN)
        .args(["validate", "--config"])
        .arg(edge_cfg.path())
        .output()
        .expect("validate");
    assert!(out.status.success(), "{}", text(&out));
    let edge = start_edge_with(edge_cfg.path(), &["--admin-listen", "127.0.0.1:0"]);

    // Before round trips are measured the far region (first by id) may answer; once they
    // are, the near one does.
    eventually(
        "the edge forwards to the near region",
        Duration::from_secs(20),
        || through(&edge) == (200, NEAR.to_owned(), "hello".to_owned()),
    );
    for _ in 0..20 {
        assert_eq!(through(&edge).1, NEAR);
    }
    // An absolute-form target names the API whatever `Host` says (RFC 9112 §3.2.2), at
    // the edge and at the region it forwards to alike.
    let target = format!("http://{HOST}/prod/hello");
    let raw = get_raw_with(edge.addr, "nothing.execute-api.localhost", &target, "");
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.ends_with("hello"), "{raw}");
    // A host in doubt (two `Host` fields) is refused by the edge itself: forwarded, the
    // region would see only the one the edge chose.
    let raw = get_raw_with(
        edge.addr,
        HOST,
        "/prod/hello",
        "Host: other.example.com\r\n",
    );
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert!(raw.contains("Multiple Host headers"), "{raw}");
    assert!(!raw.contains("x-causeway-region"), "{raw}");
    // Dot segments are resolved at the edge as at the region: placed and forwarded by
    // the path they resolve to; one that climbs above the root is the edge's own 400.
    let raw = get_raw_with(edge.addr, HOST, "/prod/x/%2e%2e/hello", "");
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.ends_with("hello"), "{raw}");
    let raw = get_raw_with(edge.addr, HOST, "/prod/../../hello", "");
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert!(raw.contains("climbs above the root"), "{raw}");
    assert!(!raw.contains("x-causeway-region"), "{raw}");

    // The near region dies: the very next request is served by the far one.
    near.kill9();
    assert_eq!(through(&edge), (200, FAR.to_owned(), "hello".to_owned()));

    // No region left: 503 in API Gateway's shape.
    far.kill9();
    let (status, _, body) = through(&edge);
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"message":"Service Unavailable"}"#)
    );
    let raw = get_raw_with(edge.addr, HOST, "/prod/hello", "");
    assert!(raw.contains("x-amzn-requestid: "), "{raw}");

    // The edge's /metrics: what each region answered, the regions it could not reach,
    // the answers it gave itself.
    let admin = edge.admin.expect("the edge's admin listener is printed");
    let (status, text) = get(admin, "localhost", "/metrics").expect("scrape");
    assert_eq!(status, 200, "{text}");
    let sample = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{text}"))
    };
    let near = format!("causeway_EdgeForwardCount_total{{region=\"{NEAR}\"}}");
    assert!(sample(&near) >= 20.0, "{text}");
    let far_answered = format!("causeway_EdgeForwardCount_total{{region=\"{FAR}\"}}");
    assert!(sample(&far_answered) >= 1.0, "{text}");
    let gone = format!("causeway_EdgeRegionUnreachableCount_total{{region=\"{NEAR}\"}}");
    assert!(sample(&gone) >= 1.0, "{text}");
    assert_eq!(
        sample("causeway_EdgeAnswerCount_total{status=\"503\"}"),
        2.0,
        "{text}"
    );
    let latency = format!("causeway_EdgeRegionLatency_count{{region=\"{NEAR}\"}}");
    assert!(sample(&latency) >= 20.0, "{text}");
}

#[test]
fn an_edge_without_regions_in_the_mesh_is_refused() {
    let cfg = tempfile::tempdir().expect("tempdir");
    let validate = |node_file: &str| {
        std::fs::write(cfg.path().join("causeway.toml"), node_file).expect("write");
        let out = Command::new(BIN)
            .args(["validate", "--config"])
            .arg(cfg.path())
            .output()
            .expect("validate");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        text(&out)
    };
    let report = validate("version = 1\n[edge]\nregions = [{ node = \"r\", url = \"ftp://x\" }]\n");
    assert!(report.contains("add a `[mesh]` section"), "{report}");

    let report = validate(
        "version = 1\n[mesh]\nid = \"e\"\nlisten = \"127.0.0.1:7400\"\nca_file = \"ca.pem\"\ncert_file = \"e.pem\"\nkey_file = \"e-key.pem\"\npeers = [{ id = \"r\", address = \"127.0.0.1:7401\" }]\n[edge]\nregions = [{ node = \"q\", url = \"ftp://x\" }]\n",
    );
    for field in ["edge.regions[0].node", "edge.regions[0].url"] {
        assert!(report.contains(field), "{field}: {report}");
    }
}

/// `Authorization: Bearer …` header line, signed under `secret`.
fn bearer(secret: &str) -> String {
    bearer_n(secret, 0)
}

/// [`bearer`] with claim `n`: a token no decision cache has seen.
fn bearer_n(secret: &str, n: u32) -> String {
    let claims = serde_json::json!({ "sub": "alice", "exp": 4_102_444_800_u64, "n": n });
    format!("Authorization: Bearer {}\r\n", sign(secret, &claims))
}

/// How often the guarded API's authorizer has run on `node`.
fn authorizer_calls(node: &Node) -> f64 {
    let (_, body) = get(node.admin, "localhost", "/metrics").expect("metrics");
    body.lines()
        .find(|l| l.starts_with("causeway_PluginCallCount_total{api=\"guarded\",plugin=\"hmac\","))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// An API with a WASM authorizer, deployed on a region, reaches the edge over the mesh
/// (stage and component); from then on the edge runs the authorizer itself: a missing
/// token (401) and a forged one (403) are answered at the edge, even with every region
/// gone and after the edge restarts; a good token is forwarded.
#[test]
fn the_edge_runs_a_routes_authorizer_before_forwarding() {
    let certs = mint(&[NEAR, EDGE]);
    let (region_udp, edge_udp) = (udp_addr(), udp_addr());
    let (region_cfg, mut region) = region(NEAR, region_udp, certs.path(), &[(EDGE, edge_udp)]);
    let edge_cfg = edge_config(
        edge_udp,
        certs.path(),
        &[(NEAR, region_udp)],
        &[(NEAR, region.addr)],
    );
    let mut edge = start_edge(edge_cfg.path());

    region_cfg.write_guarded_api();
    let out = region.cli(&["deploy"]);
    assert!(out.status.success(), "{}", text(&out));

    let host = "guarded.execute-api.localhost";
    let forged = bearer("not the secret");
    // Until the stage arrives the edge forwards and the region refuses (its name on the
    // answer); then the edge refuses by itself.
    eventually(
        "the edge answers a forged token itself",
        Duration::from_secs(20),
        || {
            let (status, region_name, _) = through_with(&edge, host, "/prod/private", &forged);
            status == 403 && region_name.is_empty()
        },
    );
    let (status, region_name, body) = through_with(&edge, host, "/prod/private", &forged);
    assert_eq!((status, region_name.as_str()), (403, ""), "{body}");
    assert_eq!(body, r#"{"message":"invalid token signature"}"#);
    let (status, region_name, body) = through_with(&edge, host, "/prod/private", "");
    assert_eq!(
        (status, region_name.as_str(), body.as_str()),
        (401, "", r#"{"message":"Unauthorized"}"#)
    );
    assert_eq!(
        through_with(&edge, host, "/prod/private", &bearer("s3cret")),
        (200, NEAR.to_owned(), "private".to_owned())
    );
    // Routes without an authorizer, and APIs the edge has not placed, go to the region.
    assert_eq!(through(&edge), (200, NEAR.to_owned(), "hello".to_owned()));

    // Once the edge's signing key reached the region over the mesh, the region takes the
    // edge's allow instead of running the authorizer again (new tokens: no cache hits).
    let mut n = 0;
    let mut good = || {
        n += 1;
        bearer_n("s3cret", n)
    };
    eventually(
        "the region takes the edge's word",
        Duration::from_secs(20),
        || {
            let before = authorizer_calls(&region);
            let answer = through_with(&edge, host, "/prod/private", &good());
            answer == (200, NEAR.to_owned(), "private".to_owned())
                && authorizer_calls(&region) == before
        },
    );
    let before = authorizer_calls(&region);
    for _ in 0..5 {
        assert_eq!(through_with(&edge, host, "/prod/private", &good()).0, 200);
    }
    assert_eq!(
        authorizer_calls(&region),
        before,
        "the edge vouched for all five"
    );
    // Asked directly, the region runs its authorizer.
    let direct = get_raw_with(region.addr, host, "/prod/private", &good());
    assert!(direct.starts_with("HTTP/1.1 200"), "{direct}");
    assert_eq!(authorizer_calls(&region), before + 1.0);
    // The region names the edge's client as the source, not the edge (127.0.0.1).
    let client: std::net::IpAddr = "127.0.0.7".parse().expect("ip");
    assert_eq!(
        get_from(client, edge.addr, HOST, "/prod/ip").expect("get"),
        (200, "127.0.0.7".to_owned())
    );

    // No region left: refusals still come from the edge; a good token has nowhere to go.
    region.kill9();
    assert_eq!(through_with(&edge, host, "/prod/private", &forged).0, 403);
    assert_eq!(
        through_with(&edge, host, "/prod/private", &bearer("s3cret")).0,
        503
    );

    // The edge kept what the region replicated: a restarted edge refuses at once.
    drop(edge);
    edge = start_edge(edge_cfg.path());
    assert_eq!(
        through_with(&edge, host, "/prod/private", "").0,
        401,
        "a restarted edge serves the stages it stored"
    );
}

/// With `[node.tls]` the edge terminates TLS (its certificate for the name the client
/// asks for) and forwards to the region as over plain HTTP. The region serves an API with
/// an authorizer from its start, before the edge joined: it tells the mesh what it serves
/// when its mesh member starts, so the edge runs that authorizer too.
#[test]
fn an_edge_terminates_tls_and_forwards() {
    let certs = mint(&[NEAR, EDGE, "localhost"]);
    let (region_udp, edge_udp) = (udp_addr(), udp_addr());
    let region_cfg = region_config(NEAR, region_udp, certs.path(), &[(EDGE, edge_udp)]);
    region_cfg.write_guarded_api();
    let region = Node::start(region_cfg.path());
    let edge_cfg = edge_config(
        edge_udp,
        certs.path(),
        &[(NEAR, region_udp)],
        &[(NEAR, region.addr)],
    );
    let node_file = edge_cfg.path().join("causeway.toml");
    let mut text = std::fs::read_to_string(&node_file).expect("read");
    text.push_str(&format!(
        "[node.tls]\nlisten = \"127.0.0.1:0\"\ncert_file = \"{0}/localhost.pem\"\nkey_file = \"{0}/localhost-key.pem\"\n",
        certs.path().display()
    ));
    std::fs::write(&node_file, text).expect("write");
    let edge = start_edge(edge_cfg.path());
    let https = edge.https.expect("the edge's HTTPS listener is printed");
    let ca = std::fs::read(certs.path().join("ca.pem")).expect("CA");
    let raw = crate::https::get_tls(https, &ca, HOST, "/prod/hello");
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains(&format!("x-causeway-region: {NEAR}")), "{raw}");
    assert!(raw.ends_with("hello"), "{raw}");
    // The plain listener goes on serving.
    assert_eq!(through(&edge).0, 200);
    eventually(
        "the edge learns the API the region started with",
        Duration::from_secs(20),
        || {
            through_with(&edge, "guarded.execute-api.localhost", "/prod/private", "")
                == (
                    401,
                    String::new(),
                    r#"{"message":"Unauthorized"}"#.to_owned(),
                )
        },
    );
}
