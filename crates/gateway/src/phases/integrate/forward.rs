//! What every integration that passes the client's request on (HTTP, HTTP_PROXY,
//! WASI_HTTP) does to its headers: hop-by-hop ones dropped (RFC 9110 §7.6.1, and those
//! `Connection` names), `X-Forwarded-For` extended with the client's address,
//! `X-Forwarded-Proto` set. Header names are parsed once, not per request. HTTP and
//! HTTP_PROXY write these fields straight into the upstream request's head
//! (`upstream::write_headers`); WASI_HTTP builds a header map with [`passed_on`].

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;

/// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded.
pub(super) static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

pub(super) static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(super) static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(super) static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The header names `Connection` lists (hop-by-hop by declaration); usually none.
pub(super) fn connection_listed(h: &HeaderMap) -> SmallVec<[HeaderName; 4]> {
    h.get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| crate::wire::tokens(v.as_bytes()))
        .filter_map(|n| HeaderName::from_bytes(n).ok())
        .collect()
}

/// Remove the hop-by-hop headers: the fixed list and whatever `Connection` names. For a
/// map known to hold one (the upstream client notes it while parsing a response head).
pub(super) fn strip_hop_by_hop(h: &mut HeaderMap) {
    for n in &connection_listed(h) {
        h.remove(n);
    }
    for n in &HOP_BY_HOP {
        h.remove(n);
    }
}

/// Each of the client's fields that is passed on, handed to `emit` in order: all but
/// hop-by-hop ones, `X-Forwarded-*` (the caller sets them) and those `skip` names, in one
/// pass. Returns the client's first `X-Forwarded-For`, found on the way (no lookup).
pub(super) fn each_passed_on<'a>(
    src: &'a HeaderMap,
    skip: impl Fn(&HeaderName) -> bool,
    mut emit: impl FnMut(&'a HeaderName, &'a HeaderValue),
) -> Option<&'a HeaderValue> {
    let listed = if src.contains_key(header::CONNECTION) {
        connection_listed(src)
    } else {
        SmallVec::new()
    };
    let mut xff = None;
    for (name, value) in src {
        if name == X_FORWARDED_FOR {
            xff = xff.or(Some(value));
            continue;
        }
        if name == X_FORWARDED_PROTO
            || HOP_BY_HOP.contains(name)
            || listed.contains(name)
            || skip(name)
        {
            continue;
        }
        emit(name, value);
    }
    xff
}

/// [`each_passed_on`] into a new header map.
pub(super) fn passed_on(
    src: &HeaderMap,
    skip: impl Fn(&HeaderName) -> bool,
) -> (HeaderMap, Option<&HeaderValue>) {
    let mut h = HeaderMap::with_capacity(src.len() + 4);
    let xff = each_passed_on(src, skip, |name, value| {
        h.append(name.clone(), value.clone());
    });
    (h, xff)
}

/// `X-Forwarded-For`: the client's value, if any, with the client's address (`ip`, as
/// text) appended.
pub(super) fn forwarded_for(prev: Option<&HeaderValue>, ip: &HeaderValue) -> Option<HeaderValue> {
    let Some(prev) = prev else {
        return Some(ip.clone());
    };
    let mut out = Vec::with_capacity(prev.len() + 2 + ip.len());
    out.extend_from_slice(prev.as_bytes());
    out.extend_from_slice(b", ");
    out.extend_from_slice(ip.as_bytes());
    HeaderValue::from_maybe_shared(Bytes::from(out)).ok()
}
