//! The pool against real loopback servers.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::conn::Conn;
use super::{Config, Pool, PoolError};
use crate::body::Body;

/// A hyper HTTP/1.1 server answering `<Host header> <request target>`, after
/// `?delay_ms=N` if given; counts connections opened, closed and requests.
#[derive(Clone, Default)]
struct Counts {
    opened: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

async fn echo_server() -> (SocketAddr, Counts) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Counts::default();
    let c = counts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            c.opened.fetch_add(1, Ordering::SeqCst);
            let c = c.clone();
            tokio::spawn(async move {
                let requests = c.requests.clone();
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    requests.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let delay = req
                            .uri()
                            .query()
                            .and_then(|q| q.strip_prefix("delay_ms="))
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                        let host = req.headers().get("host").map(|h| h.to_str().unwrap());
                        let text = format!("{} {}", host.unwrap_or("-"), req.uri());
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                            text,
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
                c.closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (addr, counts)
}

/// A deadline no test reaches.
fn far() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(60)
}

/// GET `url` through `pool`.
async fn get(pool: &Pool, url: &str) -> Result<Response<Body>, PoolError> {
    let (host, target) = pool.target(url)?;
    pool.send(host, Request::get(target).body(Body::Empty).unwrap(), far())
        .await
}

async fn text(pool: &Pool, url: &str) -> Result<String, PoolError> {
    let resp = get(pool, url).await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Ok(String::from_utf8(body.to_vec()).unwrap())
}

/// Idle connections of `addr`, once the returns in flight have landed (bounded wait).
async fn idle_settles(pool: &Pool, addr: SocketAddr, want: usize) -> usize {
    let key = addr.to_string();
    let mut n = 0;
    for _ in 0..200 {
        n = pool.inner.hosts.lock().unwrap()[0]
            .get(key.as_str())
            .map_or(0, |h| h.idle.lock().unwrap().len());
        if n == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    n
}

pub(super) fn tls() -> std::sync::Arc<tokio_rustls::rustls::ClientConfig> {
    super::client_config(None).unwrap()
}

pub(super) fn config() -> Config {
    Config {
        idle_timeout: Duration::from_secs(30),
        max_idle_per_host: 16,
        connect_timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let (addr, counts) = echo_server().await;
    let pool = Pool::new(config(), tls());
    for i in 0..5 {
        let got = text(&pool, &format!("http://{addr}/a/b?i={i}"))
            .await
            .unwrap();
        // Origin-form target, `Host` from the authority.
        assert_eq!(got, format!("{addr} /a/b?i={i}"));
    }
    assert_eq!(counts.opened.load(Ordering::SeqCst), 1);
    assert_eq!(pool.stats().connects.load(Ordering::SeqCst), 1);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkouts_get_their_own_connections() {
    let (addr, counts) = echo_server().await;
    let pool = Pool::new(
        Config {
            max_idle_per_host: 6,
            ..config()
        },
        tls(),
    );
    let wave = |pool: Pool| async move {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                let url = format!("http://{addr}/slow?delay_ms=100");
                tokio::spawn(async move { text(&pool, &url).await.unwrap() })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), format!("{addr} /slow?delay_ms=100"));
        }
    };
    wave(pool.clone()).await;
    // Eight exchanges overlapped: eight connections, of which six are kept.
    assert_eq!(counts.opened.load(Ordering::SeqCst), 8);
    assert_eq!(idle_settles(&pool, addr, 6).await, 6);
    wave(pool.clone()).await;
    // The second wave reused the six and opened two.
    assert_eq!(counts.opened.load(Ordering::SeqCst), 10);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 16);
}

#[tokio::test]
async fn idle_connections_expire() {
    let (addr, counts) = echo_server().await;
    let pool = Pool::new(
        Config {
            idle_timeout: Duration::from_millis(200),
            ..config()
        },
        tls(),
    );
    let url = format!("http://{addr}/");
    text(&pool, &url).await.unwrap();
    // The reaper closes the idle connection without any new request.
    for _ in 0..100 {
        if counts.closed.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(counts.closed.load(Ordering::SeqCst), 1, "reaped");
    text(&pool, &url).await.unwrap();
    assert_eq!(counts.opened.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn expired_connection_is_not_checked_out() {
    let (addr, counts) = echo_server().await;
    let pool = Pool::new(config(), tls());
    let url = format!("http://{addr}/");
    text(&pool, &url).await.unwrap();
    assert_eq!(idle_settles(&pool, addr, 1).await, 1);
    // Age the idle entry past the timeout (the reaper runs every 15 s here).
    let key = addr.to_string();
    if let Some(h) = pool.inner.hosts.lock().unwrap()[0].get(key.as_str()) {
        for e in h.idle.lock().unwrap().iter_mut() {
            e.since -= Duration::from_secs(31);
        }
    }
    text(&pool, &url).await.unwrap();
    assert_eq!(counts.opened.load(Ordering::SeqCst), 2);
}

/// A connection whose upstream has closed it, by now known to the I/O driver but not yet
/// to the connection (nobody polled it since).
async fn closed_by_upstream() -> Box<Conn> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stream = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (far, _) = listener.accept().await.unwrap();
    let conn = Conn::new(crate::tls::Stream::Left(stream));
    drop(far);
    tokio::time::sleep(Duration::from_millis(20)).await;
    conn
}

/// An idle connection the upstream closed is looked at before the request is written
/// on it: the request goes, unsent until then, on a fresh connection.
#[tokio::test]
async fn idle_connection_closed_by_the_upstream_is_not_written_to() {
    let (addr, counts) = echo_server().await;
    let pool = Pool::new(config(), tls());
    pool.host(&addr.to_string(), false)
        .unwrap()
        .checkin(closed_by_upstream().await);
    assert_eq!(idle_settles(&pool, addr, 1).await, 1);
    let url = format!("http://{addr}/");
    assert_eq!(text(&pool, &url).await.unwrap(), format!("{addr} /"));
    assert_eq!(pool.stats().retries.load(Ordering::SeqCst), 1);
    assert_eq!(pool.stats().connects.load(Ordering::SeqCst), 1);
    assert_eq!(counts.opened.load(Ordering::SeqCst), 1);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 1);
}

/// A raw HTTP/1.1 server on a thread: answers the first request with keep-alive, then, on
/// a message from `close`, reads the next request and closes the connection unanswered.
fn raw_server() -> (SocketAddr, std::sync::mpsc::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (close_tx, close_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        if close_rx.recv().is_ok() {
            let _ = s.read(&mut buf);
        }
    });
    (addr, close_tx)
}

#[tokio::test]
async fn request_already_written_is_not_retried() {
    let (addr, close) = raw_server();
    let pool = Pool::new(config(), tls());
    let url = format!("http://{addr}/");
    let first = get(&pool, &url).await.unwrap();
    first.into_body().collect().await.unwrap();
    assert_eq!(idle_settles(&pool, addr, 1).await, 1);
    // The server reads the next request, then closes without answering.
    close.send(()).unwrap();
    let err = get(&pool, &url).await.unwrap_err();
    assert!(matches!(err, PoolError::Http(_)), "{err}");
    assert_eq!(pool.stats().retries.load(Ordering::SeqCst), 0);
    assert_eq!(pool.stats().connects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn host_names_resolve_and_refused_connects_fail() {
    let (addr, counts) = echo_server().await;
    let pool = Pool::new(config(), tls());
    // `localhost` may resolve to ::1 first, where nothing listens: the next address is tried.
    let got = text(&pool, &format!("http://localhost:{}/x", addr.port()))
        .await
        .unwrap();
    assert_eq!(got, format!("localhost:{} /x", addr.port()));
    assert_eq!(counts.opened.load(Ordering::SeqCst), 1);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let err = get(&pool, &format!("http://{dead}/")).await.unwrap_err();
    assert!(matches!(err, PoolError::Connect { .. }), "{err}");
}

#[test]
fn urls_split_into_authority_and_origin_form() {
    let pool = Pool::new(config(), tls());
    let target = |url: &str| {
        pool.target(url)
            .map(|(h, t)| format!("{} {t}", h.authority))
    };
    assert_eq!(
        target("http://h.example:81/a/b?c=d").unwrap(),
        "h.example:81 /a/b?c=d"
    );
    assert_eq!(target("HTTP://h.example").unwrap(), "h.example /");
    assert_eq!(target("http://h.example?x=1").unwrap(), "h.example /?x=1");
    assert_eq!(target("http://h.example/p#frag").unwrap(), "h.example /p");
    assert_eq!(target("https://h.example/x").unwrap(), "h.example /x");
    assert!(matches!(
        target("ftp://h.example/"),
        Err(PoolError::Scheme(_))
    ));
    // http:// and https:// to one authority are two pool entries; the Host header drops
    // the scheme's default port only.
    let host = |url: &str| pool.target(url).map(|(h, _)| h).unwrap();
    assert!(!Arc::ptr_eq(
        &host("http://h.example/"),
        &host("https://h.example/")
    ));
    assert!(Arc::ptr_eq(
        &host("https://h.example/a"),
        &host("https://h.example/b")
    ));
    assert_eq!(host("https://h.example:443/").host_header, "h.example");
    assert_eq!(host("https://h.example:80/").host_header, "h.example:80");
    assert!(matches!(target("http:///p"), Err(PoolError::NoHost)));
    assert!(matches!(target("/p"), Err(PoolError::InvalidUri(_))));
    assert!(matches!(
        target("http://h.example/a b"),
        Err(PoolError::InvalidUri(_))
    ));
    assert!(matches!(
        target("http://h ost/"),
        Err(PoolError::InvalidUri(_))
    ));
    // The text the request line is written from: borrowed when it can be, no byte that
    // could split the request line.
    let origin = |url: &'static str| pool.origin(url).map(|(_, t)| t);
    assert!(matches!(
        origin("http://h.example/a?b=c#f"),
        Ok(std::borrow::Cow::Borrowed("/a?b=c"))
    ));
    assert_eq!(origin("http://h.example?q").unwrap(), "/?q");
    assert_eq!(origin("http://h.example#f").unwrap(), "/");
    for bad in [
        "http://h.example/a\r\nX-Injected: 1",
        "http://h.example/a\tb",
        "http://h.example/\u{7f}",
        "http://h.example/a HTTP/1.1",
    ] {
        assert!(
            matches!(origin(bad), Err(PoolError::InvalidUri(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn authorities_split_into_host_and_port() {
    assert_eq!(
        super::connect::split_authority("a.example:8080", 80),
        ("a.example", 8080)
    );
    assert_eq!(
        super::connect::split_authority("a.example", 443),
        ("a.example", 443)
    );
    assert_eq!(
        super::connect::split_authority("u:p@[::1]:81", 80),
        ("::1", 81)
    );
    assert_eq!(super::connect::split_authority("[::1]", 80), ("::1", 80));
}

/// An upstream that streams the request body back as it reads it: the request body is
/// still being written when the response starts, and both go on together (no deadlock
/// when neither side's buffers can hold it all); the connection is reused afterwards.
#[tokio::test]
async fn a_body_echoed_while_it_uploads_streams_both_ways() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<hyper::body::Incoming>| async move {
                    Ok::<_, std::convert::Infallible>(Response::new(req.into_body()))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let pool = Pool::new(config(), tls());
    let sent: Vec<u8> = (0..16 * 1024 * 1024)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    for _ in 0..2 {
        let (host, target) = pool.target(&format!("http://{addr}/echo")).unwrap();
        let req = Request::post(target)
            .body(Body::from(Bytes::from(sent.clone())))
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(20), async {
            let resp = pool.send(host, req, far()).await.unwrap();
            resp.into_body().collect().await.unwrap().to_bytes()
        })
        .await
        .expect("no deadlock");
        assert_eq!(resp.len(), sent.len());
        assert!(resp == sent[..], "the echo differs");
    }
    assert_eq!(pool.stats().connects.load(Ordering::SeqCst), 1);
    assert_eq!(idle_settles(&pool, addr, 1).await, 1);
    let kept = pool.inner.hosts.lock().unwrap()[0]
        .get(addr.to_string().as_str())
        .map(|h| h.idle.lock().unwrap()[0].conn.write_capacity());
    assert!(
        kept.is_some_and(|c| c <= 64 * 1024),
        "idle write buffer: {kept:?}"
    );
}

/// An upstream that answers before reading the body (a 413 for an upload it refuses) has
/// its answer passed on while the upload is still blocked; the connection, with half a
/// request on it, is not reused.
#[tokio::test]
async fn an_early_answer_during_an_upload_is_passed_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 4\r\n\r\nnope");
        // Read nothing more and keep the connection open until the test is done.
        let _ = done_rx.recv();
    });
    let pool = Pool::new(config(), tls());
    let (host, target) = pool.target(&format!("http://{addr}/upload")).unwrap();
    let big = Bytes::from(vec![b'u'; 32 * 1024 * 1024]);
    let req = Request::post(target).body(Body::from(big)).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), pool.send(host, req, far()))
        .await
        .expect("answered while the upload is blocked")
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"nope");
    assert_eq!(
        idle_settles(&pool, addr, 0).await,
        0,
        "half-sent: not reused"
    );
    let _ = done_tx.send(());
}

/// A response head late past the deadline is a timeout; the connection, with an answer
/// still to come on it, is closed, and the next request (on time) gets a fresh one.
#[tokio::test]
async fn a_late_answer_times_out_and_its_connection_is_not_reused() {
    let (addr, counts) = echo_server().await;
    let pool = Pool::new(config(), tls());
    // A first exchange leaves an idle connection (its timer registered).
    text(&pool, &format!("http://{addr}/warm")).await.unwrap();
    assert_eq!(idle_settles(&pool, addr, 1).await, 1);
    let (host, target) = pool
        .target(&format!("http://{addr}/slow?delay_ms=400"))
        .unwrap();
    let started = tokio::time::Instant::now();
    let req = Request::get(target).body(Body::Empty).unwrap();
    let err = pool
        .send(host, req, started + Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(err, PoolError::Timeout), "{err}");
    // Not before the deadline (the answer itself, 400 ms late, is what `Timeout` rules out).
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert_eq!(idle_settles(&pool, addr, 0).await, 0);
    // The same connection timer, moved later for the next request, does not fire early.
    let got = text(&pool, &format!("http://{addr}/slow?delay_ms=150"))
        .await
        .unwrap();
    assert_eq!(got, format!("{addr} /slow?delay_ms=150"));
    assert_eq!(counts.opened.load(Ordering::SeqCst), 2);
}

mod workers;
