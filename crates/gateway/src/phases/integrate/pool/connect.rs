//! TCP connections to an upstream authority.

use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpStream;

use super::PoolError;

/// TCP to `authority` (`host:port`, port `default_port` when absent): IP literals
/// directly, names through DNS, each address in turn.
pub(super) async fn tcp(authority: &str, default_port: u16) -> Result<TcpStream, PoolError> {
    let (host, port) = split_authority(authority, default_port);
    let connect_err = |source| PoolError::Connect {
        authority: authority.to_owned(),
        source,
    };
    let stream = if let Ok(ip) = host.parse::<IpAddr>() {
        TcpStream::connect(SocketAddr::new(ip, port))
            .await
            .map_err(connect_err)?
    } else {
        let addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| PoolError::Resolve {
                host: host.to_owned(),
                source,
            })?;
        let mut last = None;
        let mut found = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    found = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        match found {
            Some(s) => s,
            None => {
                return Err(connect_err(last.unwrap_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
                })));
            }
        }
    };
    stream.set_nodelay(true).map_err(connect_err)?;
    Ok(stream)
}

/// `user@[::1]:8080` → (`::1`, 8080); the port defaults to `default_port`.
pub(super) fn split_authority(authority: &str, default_port: u16) -> (&str, u16) {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((h, after)) => (h, after.strip_prefix(':')),
            None => (rest, None),
        },
        None => match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    (
        host,
        port.and_then(|p| p.parse().ok()).unwrap_or(default_port),
    )
}
