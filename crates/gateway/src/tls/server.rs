//! The HTTPS listener's TLS settings: rustls on ring (TLS 1.2 and 1.3), HTTP/1.1 and h2 by
//! ALPN, the listener's certificate for any name and each custom domain's own certificate
//! for clients whose SNI names it (API Gateway's custom domain certificates).

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use causeway_model::{ConfigError, NodeConfig};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};

/// The HTTPS listener's settings, ready to accept with ([`crate::Gateway::serve_https`]);
/// clones share them, so a [`reload`](Self::reload) reaches every listener at once.
#[derive(Clone, Debug)]
pub struct HttpsConfig(Arc<ArcSwap<ServerConfig>>);

impl HttpsConfig {
    /// An acceptor on the current settings (taken per connection: a handshake already
    /// started keeps the certificate it began with).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.0.load_full())
    }

    /// Reads the certificates again (renewed files, say); on any error the current ones
    /// stay in use and the error names the setting.
    pub fn reload(&self, node: &NodeConfig) -> Result<(), ConfigError> {
        match https_config(node)? {
            Some(fresh) => {
                self.0.store(fresh.0.load_full());
                Ok(())
            }
            None => Err(ConfigError::new(
                "causeway.toml",
                "node.tls",
                "the HTTPS listener cannot be removed while the node runs; restart it",
            )),
        }
    }
}

/// Reads `[node.tls]` and the domains' certificates (paths as `load_dir` resolved them).
/// `Ok(None)`: no HTTPS listener. An error names the setting and the file.
pub fn https_config(node: &NodeConfig) -> Result<Option<HttpsConfig>, ConfigError> {
    https_config_inner(node)
        .map_err(|(field, message)| ConfigError::new("causeway.toml", field, message))
}

fn https_config_inner(node: &NodeConfig) -> Result<Option<HttpsConfig>, (String, String)> {
    let Some(tls) = &node.node.tls else {
        return Ok(None);
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let default = certified(&provider, &tls.cert_file, &tls.key_file)
        .map_err(|e| ("node.tls".to_owned(), e))?;
    let mut names = hashbrown::HashMap::new();
    for (i, d) in node.domains.iter().enumerate() {
        if let (Some(cert), Some(key)) = (&d.cert_file, &d.key_file) {
            let k = certified(&provider, cert, key).map_err(|e| (format!("domains[{i}]"), e))?;
            names.insert(d.name.to_ascii_lowercase(), k);
        }
    }
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ("node.tls".to_owned(), e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(BySni { default, names }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(HttpsConfig(Arc::new(ArcSwap::from_pointee(config)))))
}

/// A certificate chain and its key, checked to belong together.
fn certified(
    provider: &CryptoProvider,
    cert_file: &str,
    key_file: &str,
) -> Result<Arc<CertifiedKey>, String> {
    let read = |path: &str| {
        std::fs::read(Path::new(path)).map_err(|e| format!("cannot read `{path}`: {e}"))
    };
    let chain = CertificateDer::pem_slice_iter(&read(cert_file)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("`{cert_file}`: {e}"))?;
    if chain.is_empty() {
        return Err(format!("`{cert_file}` holds no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key_file)?)
        .map_err(|e| format!("`{key_file}`: no usable private key ({e})"))?;
    CertifiedKey::from_der(chain, key, provider)
        .map(Arc::new)
        .map_err(|e| format!("`{key_file}` does not go with `{cert_file}`: {e}"))
}

/// The domain's own certificate when the client's SNI names one, else the listener's.
#[derive(Debug)]
struct BySni {
    default: Arc<CertifiedKey>,
    names: hashbrown::HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let named = hello
            .server_name()
            .and_then(|n| self.names.get(&n.to_ascii_lowercase()));
        Some(named.unwrap_or(&self.default).clone())
    }
}
