//! Field names the response parser looks at by table rather than through `HeaderName`.

use http::header::{self, HeaderName};

/// Whether `name` is one of the hop-by-hop fields of RFC 9110 §7.6.1 (the ones
/// [`super::super::super::forward::HOP_BY_HOP`] lists): by length first, as most names are not.
/// A table of its own because matching against `HOP_BY_HOP`'s `HeaderName`s costs
/// ≈ 0.3 k instructions more per proxied request (callgrind); the tests check that the two
/// agree.
pub(super) fn is_hop_by_hop(name: &[u8]) -> bool {
    let candidates: &[&[u8]] = match name.len() {
        2 => &[b"te"],
        7 => &[b"trailer", b"upgrade"],
        10 => &[b"connection", b"keep-alive"],
        16 => &[b"proxy-connection"],
        17 => &[b"transfer-encoding"],
        18 => &[b"proxy-authenticate"],
        19 => &[b"proxy-authorization"],
        _ => return false,
    };
    candidates.iter().any(|c| name.eq_ignore_ascii_case(c))
}

/// The standard field names upstream responses use most, made without
/// `HeaderName::from_bytes` (a per-byte table walk, then a match over every standard
/// name: ≈ 190 instructions a field), compared with [`crate::wire::token_is`].
pub(super) fn common_name(name: &[u8]) -> Option<HeaderName> {
    let (text, known): (&[u8], HeaderName) = match (name.len(), name.first()? | 0x20) {
        (4, b'd') => (b"date", header::DATE),
        (4, b'e') => (b"etag", header::ETAG),
        (4, b'v') => (b"vary", header::VARY),
        (6, b's') => (b"server", header::SERVER),
        (8, b'l') => (b"location", header::LOCATION),
        (10, b'c') => (b"connection", header::CONNECTION),
        (10, b's') => (b"set-cookie", header::SET_COOKIE),
        (12, b'c') => (b"content-type", header::CONTENT_TYPE),
        (13, b'a') => (b"accept-ranges", header::ACCEPT_RANGES),
        (13, b'c') => (b"cache-control", header::CACHE_CONTROL),
        (13, b'l') => (b"last-modified", header::LAST_MODIFIED),
        (14, b'c') => (b"content-length", header::CONTENT_LENGTH),
        (16, b'c') => (b"content-encoding", header::CONTENT_ENCODING),
        (17, b't') => (b"transfer-encoding", header::TRANSFER_ENCODING),
        _ => return None,
    };
    crate::wire::token_is(name, text).then_some(known)
}
