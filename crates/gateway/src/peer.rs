//! Who is on the other end of a connection: its address (and IP as text, made once per
//! connection), which listener it came in on, and, for a mutual-TLS custom domain, the
//! name it asked for and the certificate it proved (`$context.identity.clientCert`).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::context::push_ip;

/// A connection's client: its address, and its IP as text (what `X-Forwarded-For` gets),
/// made once per connection rather than per request.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    pub(crate) ip: http::HeaderValue,
    /// Whether it came in on the private listener (PRIVATE APIs).
    pub private: bool,
    /// Whether it came in on the HTTPS listener.
    pub https: bool,
    /// The domain whose truststore verified this connection's client certificate, and
    /// the certificate (`None`: no client certificate).
    pub tls_client: Option<Arc<TlsClient>>,
}

impl Peer {
    pub fn new(addr: SocketAddr) -> Peer {
        let mut text = String::with_capacity(15);
        push_ip(&mut text, addr.ip());
        let ip = http::HeaderValue::from_maybe_shared(bytes::Bytes::from(text))
            .unwrap_or_else(|_| http::HeaderValue::from_static(""));
        Peer {
            addr,
            ip,
            private: false,
            https: false,
            tls_client: None,
        }
    }

    /// A client of the HTTPS listener (with the certificate it proved, if any).
    pub fn over_tls(self, tls_client: Option<Arc<TlsClient>>) -> Peer {
        Peer {
            https: true,
            tls_client,
            ..self
        }
    }

    /// A client of the private listener.
    pub fn private(addr: SocketAddr) -> Peer {
        Peer {
            private: true,
            ..Peer::new(addr)
        }
    }
}

/// A client certificate verified against a custom domain's truststore during the TLS
/// handshake.
#[derive(Debug)]
pub struct TlsClient {
    /// The domain (lowercase) the client named in SNI, whose truststore verified it.
    pub domain: Box<str>,
    pub cert: ClientCert,
}

/// What API Gateway tells integrations of a client certificate
/// (`$context.identity.clientCert.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// The certificate, DER (what an edge passes on to the region it forwards to).
    pub der: Vec<u8>,
    /// The certificate, PEM.
    pub pem: String,
    /// Subject, as `CN=…, O=…`.
    pub subject_dn: String,
    /// Issuer, as `CN=…, O=…`.
    pub issuer_dn: String,
    /// Serial number, hex bytes separated by `:` (as API Gateway writes it).
    pub serial_number: String,
    /// Validity bounds, as OpenSSL prints them (`Nov 29 14:00:00 2026 GMT`).
    pub not_before: String,
    pub not_after: String,
}

impl ClientCert {
    /// Reads a certificate (DER) the handshake already verified; `None` if it cannot be
    /// parsed (it could not have been verified then).
    pub fn from_der(der: &[u8]) -> Option<ClientCert> {
        use base64::Engine;
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut pem = String::with_capacity(b64.len() + b64.len() / 64 + 60);
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        let validity = cert.validity();
        Some(ClientCert {
            der: der.to_vec(),
            pem,
            subject_dn: cert.subject().to_string(),
            issuer_dn: cert.issuer().to_string(),
            serial_number: cert.raw_serial_as_string(),
            not_before: openssl_time(validity.not_before.timestamp()),
            not_after: openssl_time(validity.not_after.timestamp()),
        })
    }
}

/// `Nov  9 14:00:00 2026 GMT`, as OpenSSL (and API Gateway's `validity`) prints times.
fn openssl_time(secs: i64) -> String {
    let (year, name, day, rem) = crate::context::calendar(u64::try_from(secs).unwrap_or(0));
    format!(
        "{name} {day:>2} {:02}:{:02}:{:02} {year} GMT",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_print_as_openssl_does() {
        assert_eq!(super::openssl_time(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(
            super::openssl_time(1_764_424_800),
            "Nov 29 14:00:00 2025 GMT"
        );
        assert_eq!(super::openssl_time(-5), "Jan  1 00:00:00 1970 GMT");
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(super::ClientCert::from_der(b"not DER").is_none());
        assert!(super::ClientCert::from_der(&[]).is_none());
    }
}
