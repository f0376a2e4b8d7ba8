//! Mutual TLS 1.3 for the mesh: one private CA, one certificate per node naming the node's
//! id (a DNS name), both sides verified. [`mint`] makes such a set (`causeway mesh certs`).

use std::path::Path;
use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;

use super::MeshError;

const ALPN: &[u8] = b"causeway-mesh/1";

/// A node's credentials: the mesh CA, its certificate chain and key.
#[derive(Debug)]
pub struct MeshTls {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl MeshTls {
    /// Reads PEM files: the CA certificate, the node's certificate (chain) and its key.
    pub fn from_pem_files(ca: &Path, cert: &Path, key: &Path) -> Result<MeshTls, MeshError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|e| MeshError::Tls(format!("cannot read {}: {e}", path.display())))
        };
        MeshTls::from_pem(&read(ca)?, &read(cert)?, &read(key)?)
    }

    /// Parses PEM text: the CA certificate, the node's certificate (chain) and its key.
    pub fn from_pem(ca: &str, cert: &str, key: &str) -> Result<MeshTls, MeshError> {
        let certs = |what: &str, pem: &str| {
            let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| MeshError::Tls(format!("{what}: not PEM certificates: {e}")))?;
            if certs.is_empty() {
                return Err(MeshError::Tls(format!(
                    "{what}: no certificate in the PEM text"
                )));
            }
            Ok(certs)
        };
        let mut ca = certs("mesh CA", ca)?;
        let chain = certs("node certificate", cert)?;
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
            .map_err(|e| MeshError::Tls(format!("node key: not a PEM private key: {e}")))?;
        Ok(MeshTls {
            ca: ca.swap_remove(0),
            chain,
            key,
        })
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, MeshError> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca.clone())
            .map_err(|e| MeshError::Tls(format!("mesh CA: {e}")))?;
        Ok(Arc::new(roots))
    }

    pub(super) fn server_config(&self) -> Result<quinn::ServerConfig, MeshError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(self.roots()?, provider.clone())
            .build()
            .map_err(|e| MeshError::Tls(format!("client verifier: {e}")))?;
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| MeshError::Tls(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| MeshError::Tls(format!("node certificate and key: {e}")))?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let quic =
            QuicServerConfig::try_from(tls).map_err(|e| MeshError::Tls(format!("QUIC: {e}")))?;
        Ok(quinn::ServerConfig::with_crypto(Arc::new(quic)))
    }

    /// The endpoint's settings, with keys derived from this node's private key: the
    /// stateless-reset key and the key its connection ids are made and recognized with.
    /// A node that crashed and restarted on its address therefore still recognizes the
    /// connection ids its previous life gave out and answers a packet on one of them with
    /// a reset its peer accepts (RFC 9000 §10.3), so the peer drops that dead connection
    /// and dials again at once instead of writing into it until QUIC's idle timeout.
    pub(super) fn endpoint_config(&self) -> quinn::EndpointConfig {
        let secret = |label: &[u8]| {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            ctx.update(b"causeway mesh ");
            ctx.update(label);
            ctx.update(self.key.secret_der());
            ctx.finish()
        };
        let reset = secret(b"stateless reset");
        let mut config = quinn::EndpointConfig::new(Arc::new(ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            reset.as_ref(),
        )));
        let mut cid_key = [0u8; 8];
        cid_key.copy_from_slice(&secret(b"connection ids").as_ref()[..8]);
        let cid_key = u64::from_le_bytes(cid_key);
        config.cid_generator(move || {
            Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key))
        });
        config
    }

    pub(super) fn client_config(&self) -> Result<quinn::ClientConfig, MeshError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| MeshError::Tls(e.to_string()))?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| MeshError::Tls(format!("node certificate and key: {e}")))?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let quic =
            QuicClientConfig::try_from(tls).map_err(|e| MeshError::Tls(format!("QUIC: {e}")))?;
        let mut config = quinn::ClientConfig::new(Arc::new(quic));
        // Pings may be a minute apart (`mesh.ping_interval_ms`); QUIC's idle timeout is 30 s.
        let mut transport = quinn::TransportConfig::default();
        transport.keep_alive_interval(Some(std::time::Duration::from_secs(10)));
        config.transport_config(Arc::new(transport));
        Ok(config)
    }
}

/// Whether `id` can be a node id: a DNS name (it is the name in the node's certificate).
pub fn valid_node_id(id: &str) -> bool {
    matches!(ServerName::try_from(id), Ok(ServerName::DnsName(_)))
}

/// Which of `candidates` the peer's (already CA-verified) certificate names.
pub(super) fn identify<'a>(
    connection: &quinn::Connection,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let identity = connection.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    let leaf = webpki::EndEntityCert::try_from(chain.first()?).ok()?;
    candidates.into_iter().find(|id| {
        ServerName::try_from(*id)
            .is_ok_and(|name| leaf.verify_is_valid_for_subject_name(&name).is_ok())
    })
}

/// A mesh CA and one certificate per node, as PEM text.
#[derive(Debug)]
pub struct Minted {
    pub ca_cert: String,
    pub ca_key: String,
    /// (node id, certificate, key)
    pub nodes: Vec<(String, String, String)>,
}

/// Mints a CA named `ca_name` and a certificate for each node id.
pub fn mint(ca_name: &str, nodes: &[&str]) -> Result<Minted, MeshError> {
    let err = |e: rcgen::Error| MeshError::Tls(format!("cannot mint certificates: {e}"));
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, ca_name);
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_key_pem = ca_key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(params, ca_key).map_err(err)?;
    let mut minted = Minted {
        ca_cert: ca.pem(),
        ca_key: ca_key_pem,
        nodes: Vec::new(),
    };
    for &id in nodes {
        if !valid_node_id(id) {
            return Err(MeshError::Tls(format!(
                "node id {id:?} is not a DNS name (letters, digits, '-' and '.')"
            )));
        }
        let mut params = CertificateParams::new(vec![id.to_owned()]).map_err(err)?;
        params.distinguished_name.push(DnType::CommonName, id);
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &ca).map_err(err)?;
        minted
            .nodes
            .push((id.to_owned(), cert.pem(), key.serialize_pem()));
    }
    Ok(minted)
}
