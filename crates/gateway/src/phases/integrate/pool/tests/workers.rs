//! The pool and the connection workers: who gets which idle connection.

use super::super::Pool;
use super::super::conn::Conn;
use super::{config, echo_server, tls};

/// A worker gets back an idle connection it opened (whose socket its own runtime drives)
/// before a newer one another worker opened, and another's when it has none.
#[tokio::test]
async fn a_worker_gets_back_the_connections_it_opened_first() {
    let (addr, _) = echo_server().await;
    let pool = Pool::new(config(), tls());
    let host = pool.host(&addr.to_string(), false).unwrap();
    let opened_by = |worker: usize| async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut conn = Conn::new(crate::tls::Stream::Left(stream));
        conn.worker = worker;
        conn
    };
    let id = |conn: &Conn| std::ptr::from_ref(conn) as usize;
    let (one, two) = (opened_by(1).await, opened_by(2).await);
    let (one_id, two_id) = (id(&one), id(&two));
    host.checkin(one);
    host.checkin(two);
    crate::server::workers::pretend_to_be(1);
    let got = host.checkout().unwrap();
    assert_eq!(id(&got), one_id, "worker 1's own, though older");
    host.checkin(got);
    crate::server::workers::pretend_to_be(3);
    let got = host.checkout().unwrap();
    assert_eq!(id(&got), one_id, "worker 3 has none: the newest");
    let got = host.checkout().unwrap();
    assert_eq!(id(&got), two_id);
    assert!(host.checkout().is_none());
}
