//! Field names clients send most, made without `HeaderName::from_bytes` (a per-byte table
//! walk and a match over every standard name, then an allocation for a name outside
//! the standard ones, such as `x-api-key`).

use http::header::{self, HeaderName};

static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The name for `name` when it is a common one, in any case (compared with
/// [`crate::wire::token_is`]).
pub(super) fn common_name(name: &[u8]) -> Option<HeaderName> {
    let lower = |i: usize| name.get(i).map_or(0, |b| b | 0x20);
    let (text, known): (&[u8], &HeaderName) = match (name.len(), lower(0)) {
        (4, b'h') => (b"host", &header::HOST),
        (6, b'a') => (b"accept", &header::ACCEPT),
        (6, b'c') => (b"cookie", &header::COOKIE),
        (6, b'o') => (b"origin", &header::ORIGIN),
        (7, b'r') => (b"referer", &header::REFERER),
        (9, b'x') => (b"x-api-key", &X_API_KEY),
        (10, b'c') => (b"connection", &header::CONNECTION),
        (10, b'u') => (b"user-agent", &header::USER_AGENT),
        (12, b'c') => (b"content-type", &header::CONTENT_TYPE),
        (12, b'x') => (b"x-request-id", &X_REQUEST_ID),
        (13, b'a') => (b"authorization", &header::AUTHORIZATION),
        (13, b'c') => (b"cache-control", &header::CACHE_CONTROL),
        (13, b'i') => (b"if-none-match", &header::IF_NONE_MATCH),
        (14, b'c') => (b"content-length", &header::CONTENT_LENGTH),
        (15, b'a') if lower(7) == b'e' => (b"accept-encoding", &header::ACCEPT_ENCODING),
        (15, b'a') => (b"accept-language", &header::ACCEPT_LANGUAGE),
        (15, b'x') if lower(2) == b'f' => (b"x-forwarded-for", &X_FORWARDED_FOR),
        (15, b'x') => (b"x-amzn-trace-id", &X_AMZN_TRACE_ID),
        (17, b'i') => (b"if-modified-since", &header::IF_MODIFIED_SINCE),
        (17, b'x') => (b"x-forwarded-proto", &X_FORWARDED_PROTO),
        _ => return None,
    };
    crate::wire::token_is(name, text).then(|| known.clone())
}
