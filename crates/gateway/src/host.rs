//! The host a request is for (`Host`, or an h2 request's `:authority`), as the routing
//! table is keyed: lowercase, without port.

use std::sync::Arc;

/// The request's host, lowercase, without port.
///
/// The last answer is kept per thread with the bytes it came from: a node serves a few
/// hosts, and a request whose `Host` is byte for byte the previous one's on this thread
/// shares its text instead of lowercasing a copy.
pub(crate) fn host_of(parts: &http::request::Parts) -> Arc<str> {
    // h2 clients send `:authority` (the URI's); HTTP/1.1 clients send `Host`.
    let raw = match parts.headers.get(http::header::HOST) {
        Some(h) => h.as_bytes(),
        None => parts
            .uri
            .authority()
            .map_or(&b""[..], |a| a.as_str().as_bytes()),
    };
    thread_local! {
        static LAST_HOST: std::cell::RefCell<(Vec<u8>, Arc<str>)> =
            std::cell::RefCell::new((Vec::new(), Arc::from("")));
    }
    LAST_HOST.with(|last| {
        if let Ok(last) = last.try_borrow()
            && last.0 == raw
        {
            return last.1.clone();
        }
        let host: Arc<str> = Arc::from(lowercase_host(raw));
        // A DNS name and port fit in 262 bytes; a longer value is not kept (the copy
        // would stay with the thread).
        if raw.len() <= 262
            && let Ok(mut last) = last.try_borrow_mut()
        {
            last.0.clear();
            last.0.extend_from_slice(raw);
            last.1 = host.clone();
        }
        host
    })
}

/// The host part of a `Host` value (no port, no IPv6 brackets), lowercase; empty when
/// it is not UTF-8.
fn lowercase_host(raw: &[u8]) -> String {
    let host = match raw.split_first() {
        Some((b'[', rest)) => rest.split(|&b| b == b']').next().unwrap_or(rest),
        _ => match raw.iter().rposition(|&b| b == b':') {
            Some(i) => &raw[..i],
            None => raw,
        },
    };
    // Not UTF-8 (a header value may carry any byte): no API is named like that.
    std::str::from_utf8(host).map_or_else(|_| String::new(), str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    fn host(uri: &str, header: Option<&[u8]>) -> String {
        let mut req = http::Request::builder().uri(uri);
        if let Some(h) = header {
            req = req.header(http::header::HOST, h);
        }
        let (parts, ()) = req.body(()).expect("request").into_parts();
        super::host_of(&parts).to_string()
    }

    #[test]
    fn a_repeated_host_shares_its_text_and_a_new_one_replaces_it() {
        let parts = |h: &[u8]| {
            let req = http::Request::builder()
                .uri("/")
                .header(http::header::HOST, h);
            req.body(()).expect("request").into_parts().0
        };
        let a = super::host_of(&parts(b"A.example.com:80"));
        let again = super::host_of(&parts(b"A.example.com:80"));
        assert!(std::sync::Arc::ptr_eq(&a, &again));
        // Same host, other bytes: its own lowercased text, equal in value.
        assert_eq!(&*super::host_of(&parts(b"a.example.com")), "a.example.com");
        assert_eq!(&*super::host_of(&parts(b"B.example.com")), "b.example.com");
        assert_eq!(
            &*super::host_of(&parts(b"A.example.com:80")),
            "a.example.com"
        );
        // Longer than any DNS name: answered, not kept.
        let long = format!("{}.example.com", "X".repeat(300));
        let first = super::host_of(&parts(long.as_bytes()));
        assert_eq!(*first, long.to_ascii_lowercase());
        assert!(!std::sync::Arc::ptr_eq(
            &first,
            &super::host_of(&parts(long.as_bytes()))
        ));
    }

    #[test]
    fn host_is_lowercased_without_port() {
        assert_eq!(
            host("/", Some(b"Pets.Example.COM:8443")),
            "pets.example.com"
        );
        assert_eq!(host("/", Some(b"pets.example.com")), "pets.example.com");
        assert_eq!(host("/", Some(b"[::1]:8080")), "::1");
        assert_eq!(host("/", Some(b"[::1]")), "::1");
        // h2: no Host header, the authority of the URI.
        assert_eq!(
            host("https://API.example.com:443/x", None),
            "api.example.com"
        );
        assert_eq!(host("/", None), "");
        // Not UTF-8: matches nothing, never panics.
        assert_eq!(host("/", Some(b"\xffbad:1")), "");
    }
}
