//! Response compression on a REST API with `minimum_compression_size` (API Gateway's
//! `minimumCompressionSize`): buffered and streamed answers, both codings, and what is
//! left alone.

use std::io::Read;

use crate::support::{self, send};

const HOST: &str = "zip.execute-api.localhost";

fn api(upstream: &str) -> String {
    let big = "All the pets, listed at length. ".repeat(64);
    format!(
        r#"
version = 1
id = "zip"
name = "Zip"
type = "REST"
minimum_compression_size = 1000
[[stages]]
name = "prod"
[[routes]]
key = "GET /big"
integration = {{ type = "MOCK", headers = {{ "content-type" = "text/plain" }}, body = "{big}" }}
[[routes]]
key = "GET /encoded"
integration = {{ type = "MOCK", headers = {{ "content-encoding" = "br" }}, body = "{big}" }}
[[routes]]
key = "GET /as-is"
integration = {{ type = "MOCK", headers = {{ "cache-control" = "public, No-Transform" }}, body = "{big}" }}
[[routes]]
key = "GET /small"
integration = {{ type = "MOCK", body = "tiny" }}
[[routes]]
key = "ANY /up/{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/{{proxy}}" }}
"#
    )
}

/// `method path` with `Accept-Encoding: accept`.
async fn ask(
    c: &support::TestClient,
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    accept: &str,
) -> support::Reply {
    send(
        c,
        addr,
        method,
        HOST,
        path,
        &[("accept-encoding", accept)],
        "",
    )
    .await
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gzip stream");
    out
}

#[tokio::test]
async fn answers_are_compressed_for_clients_that_accept_it() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let c = support::client();
    let big = "All the pets, listed at length. ".repeat(64);
    let header = |r: &support::Reply, name: &str| {
        r.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("?").to_owned())
    };

    // gzip: encoded, no stale length, `Vary` for caches in front.
    let r = ask(&c, gw.addr, "GET", "/prod/big", "br, gzip").await;
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(header(&r, "vary").as_deref(), Some("accept-encoding"));
    assert_eq!(header(&r, "content-type").as_deref(), Some("text/plain"));
    assert!(r.body.len() < big.len() / 4, "{} bytes", r.body.len());
    assert_eq!(String::from_utf8(gunzip(&r.body)).expect("text"), big);

    // deflate (the zlib format), when gzip is refused.
    let r = ask(&c, gw.addr, "GET", "/prod/big", "gzip;q=0, deflate").await;
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("deflate"));
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .expect("zlib stream");
    assert_eq!(text, big);

    // No coding accepted, or a body under the minimum: as it was. `Vary` only where
    // another client would have got it compressed (as nginx's `gzip_vary`).
    for (path, accept, vary) in [
        ("/prod/big", "identity", Some("accept-encoding")),
        ("/prod/small", "gzip", None),
    ] {
        let r = ask(&c, gw.addr, "GET", path, accept).await;
        assert_eq!(r.status, 200);
        assert_eq!(header(&r, "content-encoding"), None, "{path}");
        assert_eq!(header(&r, "vary").as_deref(), vary, "{path}");
        assert_eq!(header(&r, "content-length"), Some(r.body.len().to_string()));
    }
    // Already encoded (by an upstream), or marked `no-transform`: passed on as it is.
    for path in ["/prod/encoded", "/prod/as-is"] {
        let r = ask(&c, gw.addr, "GET", path, "gzip").await;
        assert_eq!(r.status, 200);
        assert_ne!(
            header(&r, "content-encoding").as_deref(),
            Some("gzip"),
            "{path}"
        );
        assert_eq!(r.body.len(), big.len(), "{path}");
    }
    // HEAD: the length of the plain answer, nothing encoded.
    let r = ask(&c, gw.addr, "HEAD", "/prod/big", "gzip").await;
    assert_eq!(header(&r, "content-encoding"), None);

    // A streamed upstream answer (8 MiB, chunk by chunk) is encoded as it streams.
    let n = 8 * 1024 * 1024;
    let r = ask(
        &c,
        gw.addr,
        "GET",
        &format!("/prod/up/big?bytes={n}"),
        "gzip",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gunzip(&r.body).len(), n);
}

/// Without `minimum_compression_size` nothing is compressed and no `Vary` is added.
#[tokio::test]
async fn apis_without_the_setting_answer_as_before() {
    let api = api("http://127.0.0.1:9").replace("minimum_compression_size = 1000\n", "");
    let gw = support::gateway(&[&api]).await;
    let c = support::client();
    let r = ask(&c, gw.addr, "GET", "/prod/big", "gzip").await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("content-encoding").is_none());
    assert!(r.headers.get("vary").is_none());
}

/// The stage cache keeps the plain answer: a hit is compressed for a client that accepts
/// it and plain for one that does not, whichever filled the cache.
#[tokio::test]
async fn cached_answers_are_compressed_per_client() {
    let up = support::upstream().await;
    let api = api(&up.url())
        .replace(
            "[[stages]]\nname = \"prod\"\n",
            "[[stages]]\nname = \"prod\"\ncache = { capacity_bytes = 4194304, ttl_seconds = 300 }\n",
        )
        .replace(
            "key = \"ANY /up/{proxy+}\"\n",
            "key = \"ANY /up/{proxy+}\"\ncache = { enabled = true }\n",
        );
    let gw = support::gateway(&[&api]).await;
    let c = support::client();
    let path = "/prod/up/big?bytes=20000";
    let gz = [("accept-encoding", "gzip")];
    let first = send(&c, gw.addr, "GET", HOST, path, &gz, "").await;
    assert_eq!(first.headers["x-causeway-cache"], "miss");
    assert_eq!(first.headers["content-encoding"], "gzip");
    let plain = send(&c, gw.addr, "GET", HOST, path, &[], "").await;
    assert_eq!(plain.headers["x-causeway-cache"], "hit");
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(plain.body.len(), 20000);
    let again = send(&c, gw.addr, "GET", HOST, path, &gz, "").await;
    assert_eq!(again.headers["x-causeway-cache"], "hit");
    assert_eq!(again.headers["content-encoding"], "gzip");
    assert_eq!(gunzip(&again.body), plain.body);
    assert_eq!(gunzip(&first.body), plain.body);
}
