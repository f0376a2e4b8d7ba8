//! Access logs: the default JSON line and a custom `$context` format, written to files.

use std::time::{Duration, Instant};

use crate::support::{self, get};

fn api(default_log: &str, custom_log: &str) -> String {
    format!(
        r#"
version = 1
id = "logged"
name = "Logged"
type = "REST"
[[stages]]
name = "prod"
access_log = {{ destination = "{default_log}" }}
[[stages]]
name = "custom"
access_log = {{ destination = "{custom_log}", format = "$context.httpMethod $context.resourcePath $context.status $context.error.message" }}
[[routes]]
key = "GET /pets/{{id}}"
integration = {{ type = "MOCK", status = 200, body = "12345" }}
"#
    )
}

/// Wait until `path` has `n` lines.
pub(crate) fn lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{n} lines not written in 10 s: {text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn default_and_custom_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (default_log, custom_log) = (dir.path().join("prod.log"), dir.path().join("custom.log"));
    let text = api(
        &default_log.display().to_string(),
        &custom_log.display().to_string(),
    );
    let gw = support::gateway(&[&text]).await;
    let c = support::client();
    let h = "logged.execute-api.localhost";
    let ok = get(&c, gw.addr, h, "/prod/pets/7").await;
    assert_eq!(get(&c, gw.addr, h, "/prod/nothing").await.status, 403);
    assert_eq!(get(&c, gw.addr, h, "/custom/pets/1").await.status, 200);
    assert_eq!(get(&c, gw.addr, h, "/custom/zzz").await.status, 403);

    let prod = lines(&default_log, 2);
    let first: serde_json::Value = serde_json::from_str(&prod[0]).expect("JSON line");
    assert_eq!(
        first["requestId"],
        ok.header("x-amzn-requestid").expect("id")
    );
    assert_eq!(first["ip"], "127.0.0.1");
    assert_eq!(first["httpMethod"], "GET");
    assert_eq!(first["resourcePath"], "/pets/{id}");
    assert_eq!(first["path"], "/prod/pets/7");
    assert_eq!(first["status"], "200");
    assert_eq!(first["responseLength"], "5");
    assert_eq!(first["protocol"], "HTTP/1.1");
    assert!(
        first["requestTime"]
            .as_str()
            .is_some_and(|t| t.ends_with(" +0000")),
        "{first}"
    );
    assert!(first["errorMessage"].is_null());
    let second: serde_json::Value = serde_json::from_str(&prod[1]).expect("JSON line");
    assert_eq!(second["status"], "403");
    assert_eq!(second["errorMessage"], "Missing Authentication Token");

    let custom = lines(&custom_log, 2);
    assert_eq!(custom[0], "GET /pets/{id} 200 ");
    assert_eq!(custom[1], "GET  403 Missing Authentication Token");
}
