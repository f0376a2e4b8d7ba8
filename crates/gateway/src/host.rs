//! The host a request is for (`Host`, or an h2 request's `:authority`), as the routing
//! table is keyed: lowercase, without port.

use std::sync::Arc;

/// The request's host, lowercase, without port: the target's authority (an h2 request's
/// `:authority`, an absolute-form HTTP/1 target's: RFC 9112 §3.2.2 has the server ignore
/// `Host` then), else the `Host` field. A request with two `Host` fields, an h2 one whose
/// `Host` names another host than its `:authority`, or an HTTP/1.1 one with no host at
/// all is refused before routing ([`host_problem`]).
///
/// The last answer is kept per thread with the bytes it came from: a node serves a few
/// hosts, and a request whose host is byte for byte the previous one's on this thread
/// shares its text instead of lowercasing a copy.
pub(crate) fn host_of(parts: &http::request::Parts) -> Arc<str> {
    let authority = parts.uri.authority().map(|a| a.as_str().as_bytes());
    let field = parts.headers.get(http::header::HOST).map(|h| h.as_bytes());
    let raw = authority.or(field).unwrap_or_default();
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

/// Why the request's host cannot be trusted, if it cannot (a 400 with this message):
/// two `Host` fields (which one a proxy in front routed by is anyone's guess: RFC 9112
/// §3.2 has servers refuse it, as nginx does), or an HTTP/1.1 request that names no host
/// at all, or an h2 request whose `Host` field names another host than its `:authority`
/// (RFC 9113 §8.3.1: a proxy in front may have routed by either). `host` is the
/// request's [`host_of`].
///
/// Every request is asked, so the common one costs no header lookup: a header map whose
/// names are all distinct has no second `Host`, and an HTTP/1.1 request's empty `host`
/// says it named none (or one with no host in it).
pub(crate) fn host_problem(parts: &http::request::Parts, host: &str) -> Option<&'static str> {
    let headers = &parts.headers;
    if headers.len() != headers.keys_len()
        && headers.get_all(http::header::HOST).iter().nth(1).is_some()
    {
        return Some("Multiple Host headers: send exactly one Host header");
    }
    if parts.version >= http::Version::HTTP_2
        && let (Some(field), Some(authority)) =
            (headers.get(http::header::HOST), parts.uri.authority())
        && lowercase_host(field.as_bytes()) != lowercase_host(authority.as_str().as_bytes())
    {
        return Some(
            "Host header differs from :authority: name the API's host in :authority and leave Host out or equal to it",
        );
    }
    if host.is_empty() && parts.version == http::Version::HTTP_11 && parts.uri.authority().is_none()
    {
        return Some("Missing Host header: HTTP/1.1 requests must name the API's host");
    }
    None
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
        // An absolute-form target's authority, not the `Host` field (RFC 9112 §3.2.2);
        // h2's `:authority` likewise (a `Host` beside it that differs is a problem).
        assert_eq!(
            host("http://Pets.example.com/x", Some(b"other.example.com")),
            "pets.example.com"
        );
        let (h2, ()) = http::Request::builder()
            .uri("http://Pets.example.com:8080/x")
            .version(http::Version::HTTP_2)
            .header(http::header::HOST, "pets.example.com")
            .body(())
            .expect("request")
            .into_parts();
        assert_eq!(&*super::host_of(&h2), "pets.example.com");
        assert_eq!(super::host_problem(&h2, &super::host_of(&h2)), None);
    }

    #[test]
    fn two_hosts_none_in_http_1_1_or_two_in_h2_are_problems() {
        let parts = |uri: &str, version: http::Version, hosts: &[&str]| {
            let mut req = http::Request::builder().uri(uri).version(version);
            for h in hosts {
                req = req.header(http::header::HOST, *h);
            }
            req.body(()).expect("request").into_parts().0
        };
        let problem = |p: &http::request::Parts| super::host_problem(p, &super::host_of(p));
        let v11 = http::Version::HTTP_11;
        assert_eq!(problem(&parts("/", v11, &["a.example"])), None);
        assert!(
            problem(&parts("/", v11, &["a.example", "b.example"]))
                .is_some_and(|m| m.starts_with("Multiple Host headers"))
        );
        assert!(
            problem(&parts("/", v11, &[])).is_some_and(|m| m.starts_with("Missing Host header"))
        );
        // HTTP/1.0 needs none; an absolute-form target or h2's `:authority` names it.
        // A host field with no host in it is no host either.
        assert!(problem(&parts("/", v11, &[":8080"])).is_some_and(|m| m.starts_with("Missing")));
        // Another repeated field is not a second `Host`.
        let mut repeated = parts("/", v11, &["a.example"]);
        for v in ["a", "b"] {
            repeated
                .headers
                .append(http::header::ACCEPT, http::HeaderValue::from_static(v));
        }
        assert_eq!(problem(&repeated), None);
        repeated.headers.append(
            http::header::HOST,
            http::HeaderValue::from_static("b.example"),
        );
        assert!(problem(&repeated).is_some_and(|m| m.starts_with("Multiple")));
        assert_eq!(problem(&parts("/", http::Version::HTTP_10, &[])), None);
        assert_eq!(problem(&parts("http://a.example/", v11, &[])), None);
        let v2 = http::Version::HTTP_2;
        assert_eq!(problem(&parts("https://a.example/", v2, &[])), None);
        // h2: a `Host` beside `:authority` must name the same host (case and port aside).
        assert_eq!(
            problem(&parts("https://a.example/", v2, &["A.example:443"])),
            None
        );
        assert!(
            problem(&parts("http://127.0.0.1:8080/", v2, &["a.example"]))
                .is_some_and(|m| m.starts_with("Host header differs from :authority"))
        );
        // No `:authority`: the `Host` field names it.
        assert_eq!(problem(&parts("/", v2, &["a.example"])), None);
    }
}
