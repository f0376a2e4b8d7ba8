//! A request's path as routing sees it: empty segments merged (`//` is `/`) and dot
//! segments resolved (RFC 3986 §5.2.4), as nginx does by default (`merge_slashes`, its
//! URI normalization) and Envoy with `merge_slashes` and `normalize_path`.
//!
//! Routed as written, `/prod/public/../admin` would match `ANY /{proxy+}` (an open route,
//! say) and reach the upstream as `/public/../admin`, which the upstream resolves to
//! `/admin`: a route with an authorizer on `/admin` is bypassed, and an integration URI's
//! prefix (`http://backend/public/{proxy}`) escaped. `/prod/admin//users` would do the
//! same past `GET /admin/users` to an upstream that merges slashes. So `.` and `..`
//! segments, also when percent-encoded (`%2e`: an encoded unreserved character means the
//! same), are resolved and empty segments dropped first (a trailing slash stays), and
//! everything after the route phase (the route, its parameters, the upstream's path,
//! `$context.path`) sees the result. A `..` that would climb above the root is a 400, as
//! nginx answers. Encoded slashes (`%2F`) are left as they are: they do not separate
//! segments here, and an upstream that decodes them sees what the client sent.

use http::Uri;
use http::uri::PathAndQuery;

/// Why a path is refused.
pub(crate) const ABOVE_ROOT: &str =
    "Invalid path: a '..' segment climbs above the root; send the path it resolves to";

/// Normalize the request's path in place (see [`normalized`]).
pub(crate) fn normalize(parts: &mut http::request::Parts) -> Result<(), &'static str> {
    if let Some(uri) = normalized(&parts.uri)? {
        parts.uri = uri;
    }
    Ok(())
}

/// `uri` with its path's empty segments merged and dot segments removed: `Ok(None)` when
/// it has neither (the common case, found by one scan without allocating), `Err` when a
/// `..` climbs above the root.
pub(crate) fn normalized(uri: &Uri) -> Result<Option<Uri>, &'static str> {
    let path = uri.path();
    if !needs_work(path) {
        return Ok(None);
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match dots(segment) {
            // A trailing slash stays: `/a/` is a directory.
            None if segment.is_empty() && !last => {}
            None => kept.push(segment),
            Some(dots) => {
                if let Dots::Two = dots {
                    kept.pop().ok_or(ABOVE_ROOT)?;
                }
                // `/a/b/..` is `/a/`, `/a/.` is `/a/`: a directory.
                if last {
                    kept.push("");
                }
            }
        }
    }
    let mut text = String::with_capacity(path.len() + uri.query().map_or(0, |q| q.len() + 1));
    text.push('/');
    text.push_str(&kept.join("/"));
    if let Some(query) = uri.query() {
        text.push('?');
        text.push_str(query);
    }
    // The same characters as before, fewer of them: `http` takes them back (were it ever
    // to refuse, the request is refused, not routed by its unresolved path).
    const INVALID: &str =
        "Invalid path: it cannot be resolved; send it without `.` and `..` segments";
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(text).map_err(|_| INVALID)?);
    Uri::from_parts(parts).map(Some).map_err(|_| INVALID)
}

/// Whether `path` has an empty or a dot segment: one pass over its bytes, looking only
/// at what follows each `/` (a request's path is short; this runs for every request).
fn needs_work(path: &str) -> bool {
    // Pairs of bytes: a `/` and what follows it.
    path.as_bytes()
        .windows(2)
        .enumerate()
        .any(|(i, pair)| match pair {
            [b'/', b'/'] => true,
            [b'/', b'.' | b'%'] => path
                .get(i + 1..)
                .is_some_and(|rest| dots(rest.split('/').next().unwrap_or(rest)).is_some()),
            _ => false,
        })
}

enum Dots {
    One,
    Two,
}

/// Whether `segment` is `.` or `..`, literally or percent-encoded (`%2e`, any case).
fn dots(segment: &str) -> Option<Dots> {
    let one = |s: &str| s == "." || s.eq_ignore_ascii_case("%2e");
    if one(segment) {
        return Some(Dots::One);
    }
    let (a, b) = match segment.len() {
        2 => segment.split_at_checked(1)?,
        4 if segment.ends_with('.') => segment.split_at_checked(3)?,
        4 => segment.split_at_checked(1)?,
        6 => segment.split_at_checked(3)?,
        _ => return None,
    };
    (one(a) && one(b)).then_some(Dots::Two)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(uri: &str) -> Result<Option<String>, &'static str> {
        let uri: Uri = uri.parse().expect("uri");
        normalized(&uri).map(|u| u.map(|u| u.to_string()))
    }

    #[test]
    fn paths_without_dot_or_empty_segments_are_left_alone() {
        for uri in [
            "/",
            "/prod/pets/1",
            "/prod/file.json",
            "/prod/...",
            "/prod/.well-known/x",
            "/prod/a..b/%2e%2e%2e",
            "/prod/a%2F..",
            "/prod/pets/",
        ] {
            assert_eq!(resolved(uri), Ok(None), "{uri}");
        }
    }

    #[test]
    fn dot_segments_resolve_as_rfc_3986_says_and_slashes_merge() {
        for (uri, expected) in [
            ("/prod/public/../admin", "/prod/admin"),
            ("/prod/./pets", "/prod/pets"),
            ("/prod/pets/1/..", "/prod/pets/"),
            ("/prod/pets/.", "/prod/pets/"),
            ("/prod/../dev/x?a=1&b=..", "/dev/x?a=1&b=.."),
            ("/prod/a/%2e%2E/b", "/prod/b"),
            ("/prod/a/.%2e/b", "/prod/b"),
            ("/prod/a/%2E./b", "/prod/b"),
            ("/prod/a/%2e/b", "/prod/a/b"),
            ("/prod/a//../b", "/prod/b"),
            ("/prod//admin///users", "/prod/admin/users"),
            ("//prod/x//", "/prod/x/"),
            ("//", "/"),
            (
                "http://api.example/prod/x/../y",
                "http://api.example/prod/y",
            ),
        ] {
            assert_eq!(resolved(uri), Ok(Some(expected.to_owned())), "{uri}");
        }
    }

    /// Mangled paths never panic, and what comes back has no dot or empty segment left.
    #[test]
    fn mangled_paths_resolve_or_are_refused_never_a_panic() {
        let seeds: [&[u8]; 3] = [
            b"/prod/a/../b/./c",
            b"/p/%2e%2E/.%2e/%2e./x?q=..",
            b"/a//b/",
        ];
        let mut rng = crate::mutate::SplitMix::new(0xd075);
        for round in 0..20_000_usize {
            let bytes = crate::mutate::mutate(seeds[round % seeds.len()], &mut rng);
            let Ok(uri) = Uri::try_from(bytes.as_slice()) else {
                continue;
            };
            // The one-pass check agrees with the definition.
            let path = uri.path();
            let plain = !path.contains("//") && path.split('/').all(|s| dots(s).is_none());
            assert_eq!(needs_work(path), !plain, "{path}");
            if let Ok(Some(resolved)) = normalized(&uri) {
                assert!(
                    resolved.path().split('/').all(|s| dots(s).is_none()),
                    "{uri} -> {resolved}"
                );
                assert!(!resolved.path().contains("//"), "{uri} -> {resolved}");
                assert_eq!(resolved.query(), uri.query());
            }
        }
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        for uri in [
            "/..",
            "/../x",
            "/prod/../../x",
            "/%2e%2e/prod",
            "/a/./../..",
        ] {
            assert_eq!(resolved(uri), Err(ABOVE_ROOT), "{uri}");
        }
    }
}
