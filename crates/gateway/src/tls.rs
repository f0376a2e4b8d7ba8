//! TLS to `https://` upstreams and JWKS URLs: the client settings (public web PKI roots
//! plus the node's or the authorizer's own CAs) and the byte stream under a connection,
//! plain TCP or TLS over TCP.

pub mod server;

use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
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

/// The TLS client settings for `https://` upstreams from `[node]`: the public roots plus
/// `upstream_ca_file`'s CAs, and `upstream_client_cert_file` / `upstream_client_key_file`
/// as the certificate presented to upstreams that ask for one. An error names the
/// setting (`causeway validate` and `serve` refuse the config with it).
pub fn upstream_tls(
    node: &causeway_model::NodeConfig,
) -> Result<Arc<ClientConfig>, causeway_model::ConfigError> {
    let fail = |field: &str, message: String| {
        causeway_model::ConfigError::new("causeway.toml", field, message)
    };
    let s = &node.node;
    let extra = match &s.upstream_ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            fail(
                "node.upstream_ca_file",
                format!("cannot read `{path}`: {e}"),
            )
        })?),
        None => None,
    };
    let identity = match (&s.upstream_client_cert_file, &s.upstream_client_key_file) {
        (Some(cert), Some(key)) => Some(
            client_identity(cert, key).map_err(|e| fail("node.upstream_client_cert_file", e))?,
        ),
        _ => None,
    };
    build_client_config(extra.as_deref(), identity).map_err(|e| fail("node.upstream_ca_file", e))
}

/// A certificate chain and its key, checked to belong together.
fn client_identity(
    cert_file: &str,
    key_file: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let (chain, key) = read_identity(cert_file, key_file)?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider)
        .map_err(|e| format!("`{key_file}` does not go with `{cert_file}`: {e}"))?;
    Ok((chain, key))
}

/// A PEM certificate chain (at least one certificate) and a PEM private key, read.
pub(crate) fn read_identity(
    cert_file: &str,
    key_file: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let read = |path: &str| std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"));
    let chain = CertificateDer::pem_slice_iter(&read(cert_file)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("`{cert_file}`: {e}"))?;
    if chain.is_empty() {
        return Err(format!("`{cert_file}` holds no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key_file)?)
        .map_err(|e| format!("`{key_file}`: no usable private key ({e})"))?;
    Ok((chain, key))
}

/// [`client_config`] with the extra CAs given as PEM text.
pub(crate) fn client_config_pem(extra_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, String> {
    build_client_config(extra_ca_pem, None)
}

fn build_client_config(
    extra_ca_pem: Option<&[u8]>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, String> {
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
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| e.to_string())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The name a TLS upstream is checked against (and sent as SNI): its host, a DNS name or
/// an IP address.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| format!("`{host}`: {e}"))
}
