//! TLS to `https://` upstreams and JWKS URLs: the client settings (public web PKI roots
//! plus the node's or the authorizer's own CAs) and the byte stream under a connection,
//! plain TCP or TLS over TCP.

pub mod server;

use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_util::either::Either;

/// A connected upstream: plain TCP (`Left`) or TLS over TCP (`Right`).
pub(crate) type Stream = Either<TcpStream, Box<TlsStream<TcpStream>>>;

/// TLS client settings: the public web PKI's roots (Mozilla's, through `webpki-roots`)
/// and the CAs in `extra_ca_file`, HTTP/1.1 by ALPN.
pub(crate) fn client_config(extra_ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    match extra_ca_file {
        None => client_config_pem(None),
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            client_config_pem(Some(&pem)).map_err(|e| format!("`{}`: {e}", path.display()))
        }
    }
}

/// [`client_config`] with the extra CAs given as PEM text.
pub(crate) fn client_config_pem(extra_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| e.to_string())?;
            roots.add(cert).map_err(|e| e.to_string())?;
            added += 1;
        }
        if added == 0 {
            return Err("no PEM certificate in it".to_owned());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The name a TLS upstream is checked against (and sent as SNI): its host, a DNS name or
/// an IP address.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| format!("`{host}`: {e}"))
}
