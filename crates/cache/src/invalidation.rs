//! Client-requested cache invalidation (`Cache-Control: max-age=0`) and who may ask for it.

/// What to do with an invalidation request from a caller not authorized to invalidate, as
/// API Gateway's `unauthorizedCacheControlHeaderStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidationPolicy {
    /// Refuse the request with 403 Forbidden (`FAIL_WITH_403`).
    FailWith403,
    /// Ignore the header, serve the request, and say so in a response header
    /// (`SUCCEED_WITH_RESPONSE_HEADER`).
    SucceedWithResponseHeader,
    /// Ignore the header and serve the request silently (`SUCCEED_WITHOUT_RESPONSE_HEADER`).
    SucceedWithoutResponseHeader,
}

/// The decision of [`InvalidationPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidationOutcome {
    /// No invalidation was asked for: serve normally (from the cache if possible).
    NotRequested,
    /// Authorized: skip the cached entry, call the integration and cache the fresh response.
    Invalidate,
    /// Unauthorized, policy `FailWith403`: respond 403.
    Forbidden,
    /// Unauthorized: serve normally and add a response header saying the request to
    /// invalidate was ignored.
    IgnoreWithHeader,
    /// Unauthorized: serve normally.
    Ignore,
}

impl InvalidationPolicy {
    /// Decides from whether invalidation was `requested` and whether the caller is
    /// `authorized` to invalidate.
    pub fn decide(self, requested: bool, authorized: bool) -> InvalidationOutcome {
        match (requested, authorized, self) {
            (false, _, _) => InvalidationOutcome::NotRequested,
            (true, true, _) => InvalidationOutcome::Invalidate,
            (true, false, InvalidationPolicy::FailWith403) => InvalidationOutcome::Forbidden,
            (true, false, InvalidationPolicy::SucceedWithResponseHeader) => {
                InvalidationOutcome::IgnoreWithHeader
            }
            (true, false, InvalidationPolicy::SucceedWithoutResponseHeader) => {
                InvalidationOutcome::Ignore
            }
        }
    }
}

/// Whether a `Cache-Control` header value asks to invalidate: it has a `max-age=0`
/// directive (case-insensitive, among comma-separated directives).
pub fn requests_invalidation(cache_control: &[u8]) -> bool {
    cache_control.split(|&b| b == b',').any(|directive| {
        let directive = directive.trim_ascii();
        let Some((name, value)) = split_once(directive, b'=') else {
            return false;
        };
        name.trim_ascii().eq_ignore_ascii_case(b"max-age") && {
            let value = value.trim_ascii();
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            !value.is_empty() && value.iter().all(|&b| b == b'0')
        }
    })
}

fn split_once(bytes: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == sep)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}
