//! The `@connections` callback API of a WEBSOCKET API: push to, read and close a
//! connection over HTTP, only from the API's callback networks.

use super::{HOST, backend, chat_api, close_code, connect, next_text, wait_for, whoami};
use crate::support::{self, send};

#[tokio::test]
async fn the_callback_api_pushes_to_reads_and_closes_a_connection() {
    let (backend, seen) = backend().await;
    let gw = support::gateway(&[&chat_api(backend, "")]).await;
    let client = support::client();
    let mut ws = connect(gw.addr, "/prod", "").await.expect("connected");
    let id = whoami(&mut ws).await;
    let at = format!("/prod/@connections/{id}");

    let pushed = send(&client, gw.addr, "POST", HOST, &at, &[], "from the backend").await;
    assert_eq!(pushed.status, 200, "{}", pushed.text());
    assert_eq!(next_text(&mut ws).await, "from the backend");

    let facts = send(&client, gw.addr, "GET", HOST, &at, &[], "").await;
    assert_eq!(facts.status, 200);
    let facts = facts.json();
    assert_eq!(facts["identity"]["sourceIp"], "127.0.0.1");
    let connected = facts["connectedAt"].as_str().expect("connectedAt");
    assert!(
        connected.ends_with('Z') && connected.len() == 24,
        "{connected}"
    );

    let closed = send(&client, gw.addr, "DELETE", HOST, &at, &[], "").await;
    assert_eq!(closed.status, 204);
    assert_eq!(close_code(&mut ws).await, Some(1000));
    assert_eq!(
        wait_for(&seen, "/disconnect").await.headers["connectionid"],
        id.as_str()
    );

    // Gone, for every verb, and for an id that never was.
    for method in ["GET", "POST", "DELETE"] {
        let r = send(&client, gw.addr, method, HOST, &at, &[], "late").await;
        assert_eq!(r.status, 410, "{method}");
        assert_eq!(r.header("x-amzn-errortype"), Some("GoneException"));
    }
    let r = send(
        &client,
        gw.addr,
        "PUT",
        HOST,
        "/prod/@connections/x",
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST, DELETE"));
}

#[tokio::test]
async fn only_the_callback_networks_may_call_connections() {
    let (backend, _) = backend().await;
    let api = chat_api(backend, r#"callback_networks = ["10.0.0.0/8"]"#);
    let gw = support::gateway(&[&api]).await;
    let mut ws = connect(gw.addr, "/prod", "").await.expect("connected");
    let id = whoami(&mut ws).await;
    let r = send(
        &support::client(),
        gw.addr,
        "POST",
        HOST,
        &format!("/prod/@connections/{id}"),
        &[],
        "sneaky",
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("callback_networks"), "{}", r.text());
    // Nothing reached the client: its next answer is the one it asks for.
    assert_eq!(whoami(&mut ws).await, id);
}
