//! The HTTPS listener's TLS settings: rustls on ring (TLS 1.2 and 1.3), HTTP/1.1 and h2 by
//! ALPN, the listener's certificate for any name and each custom domain's own certificate
//! for clients whose SNI names it (API Gateway's custom domain certificates). A domain
//! with a truststore (mutual TLS) has settings of its own that require a client
//! certificate chaining to it; the client's SNI picks them before the handshake goes on.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use causeway_model::{ConfigError, NodeConfig};
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;

use crate::peer::{ClientCert, TlsClient};

/// The HTTPS listener's settings, ready to accept with ([`crate::Gateway::serve_https`]);
/// clones share them, so a [`reload`](Self::reload) reaches every listener at once.
#[derive(Clone, Debug)]
pub struct HttpsConfig(Arc<ArcSwap<Settings>>);

#[derive(Debug)]
struct Settings {
    /// For every client but those of mutual-TLS domains.
    open: Arc<ServerConfig>,
    /// Per mutual-TLS domain (lowercase): its settings, which require a client
    /// certificate chaining to its truststore.
    mutual: hashbrown::HashMap<String, Arc<ServerConfig>>,
}

impl HttpsConfig {
    /// Completes the TLS handshake of a client on the current settings (a handshake
    /// already started keeps the ones it began with). With mutual-TLS domains, the
    /// client's SNI picks the settings; a client of such a domain must present a
    /// certificate chaining to its truststore, returned verified.
    pub async fn accept(
        &self,
        stream: TcpStream,
    ) -> std::io::Result<(TlsStream<TcpStream>, Option<Arc<TlsClient>>)> {
        let settings = self.0.load_full();
        if settings.mutual.is_empty() {
            let tls = tokio_rustls::TlsAcceptor::from(settings.open.clone())
                .accept(stream)
                .await?;
            return Ok((tls, None));
        }
        let start =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream)
                .await?;
        let chosen = start
            .client_hello()
            .server_name()
            .map(str::to_ascii_lowercase)
            .and_then(|name| Some((settings.mutual.get(&name)?.clone(), name)));
        let Some((config, domain)) = chosen else {
            return Ok((start.into_stream(settings.open.clone()).await?, None));
        };
        let tls = start.into_stream(config).await?;
        // The verifier required a certificate: there is one, and it chains to the store.
        let cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| ClientCert::from_der(leaf));
        let Some(cert) = cert else {
            return Err(std::io::Error::other("client certificate unreadable"));
        };
        let client = TlsClient {
            domain: domain.into_boxed_str(),
            cert,
        };
        Ok((tls, Some(Arc::new(client))))
    }

    /// Reads the certificates again (renewed files, say); on any error the current ones
    /// stay in use and the error names the setting.
    pub fn reload(&self, node: &NodeConfig) -> Result<(), ConfigError> {
        match https_config(node)? {
            Some(fresh) => {
                // Which domains require a client certificate is also known to the routing
                // table, built at start: changing it here alone could let a request for a
                // domain that now requires one in over another name.
                let fresh = fresh.0.load_full();
                let mutual = |s: &Settings| {
                    let mut names: Vec<&String> = s.mutual.keys().collect();
                    names.sort_unstable();
                    names.into_iter().cloned().collect::<Vec<String>>()
                };
                if mutual(&fresh) != mutual(&self.0.load()) {
                    return Err(ConfigError::new(
                        "causeway.toml",
                        "domains[].truststore_file",
                        "mutual TLS is turned on or off for a domain: that takes a restart (the certificates in use stay; truststores of domains that already have one are reloaded)",
                    ));
                }
                self.0.store(fresh);
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
    let resolver = Arc::new(BySni { default, names });
    let builder = || {
        ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ("node.tls".to_owned(), e.to_string()))
    };
    let finish = |mut config: ServerConfig| {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    };
    let open = finish(
        builder()?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone()),
    );
    let mut mutual = hashbrown::HashMap::new();
    for (i, d) in node.domains.iter().enumerate() {
        let Some(trust) = &d.truststore_file else {
            continue;
        };
        let field = || format!("domains[{i}].truststore_file");
        let roots = truststore(trust).map_err(|e| (field(), e))?;
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| (field(), format!("`{trust}`: {e}")))?;
        let config = builder()?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(resolver.clone());
        mutual.insert(d.name.to_ascii_lowercase(), finish(config));
    }
    let settings = Settings { open, mutual };
    Ok(Some(HttpsConfig(Arc::new(ArcSwap::from_pointee(settings)))))
}

/// The CA certificates in a truststore file (PEM, one or more).
fn truststore(path: &str) -> Result<Arc<RootCertStore>, String> {
    let pem = std::fs::read(Path::new(path)).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("`{path}`: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("`{path}`: not a CA certificate rustls can use: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("`{path}` holds no certificate"));
    }
    Ok(Arc::new(roots))
}

/// A certificate chain and its key, checked to belong together.
fn certified(
    provider: &CryptoProvider,
    cert_file: &str,
    key_file: &str,
) -> Result<Arc<CertifiedKey>, String> {
    let (chain, key) = super::read_identity(cert_file, key_file)?;
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

/// The reason a failed handshake is counted under (`TlsHandshakeErrorCount`): a client certificate that was missing or
/// not from the domain's truststore, else the handshake itself.
pub fn handshake_error_reason(e: &std::io::Error) -> &'static str {
    use tokio_rustls::rustls::Error as Tls;
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Tls>()) {
        Some(Tls::NoCertificatesPresented | Tls::InvalidCertificate(_)) => "client_certificate",
        _ => "handshake",
    }
}
