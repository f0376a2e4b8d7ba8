//! Where an integration URL goes: its authority's pool entry and the origin-form request
//! target, from the URL's text; each integration keeps the entry of the first authority
//! it resolved, so that later requests to that one skip the pool's lookup.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock, Weak};

use http::uri::Scheme;

use super::{Host, Inner, Pool, PoolError};

/// The pool entry an integration's URLs resolved to, with the `scheme://authority` text
/// it was resolved from. An integration URI is usually one authority, spelled out or from
/// a stage variable (`${stageVariables.backend}/pets`): a URL that starts with the same
/// text takes the entry without the scheme and authority checks and the pool's lookup (a
/// lock and a hash of the authority: ≈ 0.4 k instructions per proxied request). The first
/// authority resolved is kept; others (another stage's backend) take the pool's lookup.
#[derive(Debug, Default)]
pub(crate) struct KnownOrigin(OnceLock<Known>);

#[derive(Debug)]
struct Known {
    /// The pool that resolved it (a gateway has one; the entry is only used with it).
    pool: Weak<Inner>,
    /// `scheme://authority`, as the URL spelled it.
    origin: Box<str>,
    host: Arc<Host>,
}

impl Pool {
    /// Where `url` (an absolute `http://` URL) goes: its authority's pool entry and the
    /// origin-form request target (`/path?query`, the fragment left out), borrowed from
    /// `url` when it starts with `/`. Split by hand and checked byte by byte (no space or
    /// control character can reach the request line); an authority is validated once,
    /// when first seen. No `Uri` is built: the request line is written from the text.
    /// [`Pool::origin_of`] skips the lookup for an integration's usual authority.
    pub(crate) fn origin<'u>(&self, url: &'u str) -> Result<(Arc<Host>, Cow<'u, str>), PoolError> {
        let (host, path) = self.resolve(url)?;
        Ok((host, target(path)?))
    }

    /// The authority's entry and what follows the authority in `url`.
    fn resolve<'u>(&self, url: &'u str) -> Result<(Arc<Host>, &'u str), PoolError> {
        // `str::split_once("://")` sets up a substring searcher: ~300 instructions here.
        let (scheme, rest) = url
            .find(':')
            .and_then(|i| Some((&url[..i], url[i..].strip_prefix("://")?)))
            .ok_or_else(|| PoolError::InvalidUri("not an absolute URI".into()))?;
        let https = scheme.eq_ignore_ascii_case("https");
        if !https && !scheme.eq_ignore_ascii_case("http") {
            return Err(match Scheme::try_from(scheme) {
                Ok(_) => PoolError::Scheme(scheme.to_owned()),
                Err(e) => PoolError::InvalidUri(e.to_string()),
            });
        }
        // Byte scans: a `[char; 3]` pattern decodes every character (≈ 10 instructions each).
        let end = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.is_empty() {
            return Err(PoolError::NoHost);
        }
        Ok((self.host(authority, https)?, path))
    }

    /// [`Pool::origin`], taking the entry from `known` when `url` starts with the
    /// authority it holds, and keeping the first one resolved there.
    pub(crate) fn origin_of<'u>(
        &self,
        url: &'u str,
        known: &KnownOrigin,
    ) -> Result<(Arc<Host>, Cow<'u, str>), PoolError> {
        if let Some(k) = known.0.get()
            && std::ptr::eq(k.pool.as_ptr(), Arc::as_ptr(&self.inner))
            && let Some(path) = url.strip_prefix(&*k.origin)
            && path
                .as_bytes()
                .first()
                .is_none_or(|b| matches!(b, b'/' | b'?' | b'#'))
        {
            return Ok((k.host.clone(), target(path)?));
        }
        let (host, path) = self.resolve(url)?;
        let target = target(path)?;
        if known.0.get().is_none() {
            let _ = known.0.set(Known {
                pool: Arc::downgrade(&self.inner),
                origin: url[..url.len() - path.len()].into(),
                host: host.clone(),
            });
        }
        Ok((host, target))
    }
}

/// The origin-form request target of what follows the authority: up to the fragment,
/// with no byte that could split the request line.
fn target(path: &str) -> Result<Cow<'_, str>, PoolError> {
    let mut cut = path.len();
    for (i, b) in path.bytes().enumerate() {
        match b {
            b'#' => {
                cut = i;
                break;
            }
            0..=b' ' | 0x7f => {
                return Err(PoolError::InvalidUri(format!(
                    "byte {b:#04x} is not allowed in a request target"
                )));
            }
            _ => {}
        }
    }
    // `#` is ASCII: `cut` is on a character boundary.
    let path = &path[..cut];
    Ok(match path.as_bytes().first() {
        Some(b'/') => Cow::Borrowed(path),
        None => Cow::Borrowed("/"),
        Some(_) => Cow::Owned(format!("/{path}")),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tests::{config, tls};
    use super::{KnownOrigin, Pool, PoolError};

    #[test]
    fn an_integration_keeps_the_first_authority_it_resolves() {
        let pool = Pool::new(config(), tls());
        let known = KnownOrigin::default();
        let (first, t) = pool
            .origin_of("http://h.example/a?b#c", &known)
            .expect("ok");
        assert_eq!(t, "/a?b");
        let (again, t) = pool.origin_of("http://h.example?q", &known).expect("ok");
        assert_eq!(t, "/?q");
        assert!(Arc::ptr_eq(&first, &again));
        assert!(Arc::ptr_eq(
            &first,
            &pool.origin("http://h.example/").expect("ok").0
        ));
        assert_eq!(
            pool.origin_of("http://h.example", &known).expect("ok").1,
            "/"
        );
        // The kept entry still checks the request target.
        assert!(matches!(
            pool.origin_of("http://h.example/a b", &known),
            Err(PoolError::InvalidUri(_))
        ));
        // A longer authority with the same start, another port or scheme: not the entry.
        for other in [
            "http://h.example.org/",
            "http://h.example:8080/",
            "https://h.example/",
            "http://h.examplf/",
        ] {
            let (host, _) = pool.origin_of(other, &known).expect("ok");
            assert!(!Arc::ptr_eq(&first, &host), "{other}");
            assert!(Arc::ptr_eq(&host, &pool.origin(other).expect("ok").0));
        }
        // Another pool resolves its own entry; the kept one stays the first pool's.
        let other = Pool::new(config(), tls());
        let (theirs, _) = other.origin_of("http://h.example/", &known).expect("ok");
        assert!(!Arc::ptr_eq(&first, &theirs));
        let (ours, _) = pool.origin_of("http://h.example/", &known).expect("ok");
        assert!(Arc::ptr_eq(&first, &ours));
    }

    #[test]
    fn refused_urls_are_never_kept() {
        let pool = Pool::new(config(), tls());
        let known = KnownOrigin::default();
        for _ in 0..2 {
            assert!(matches!(
                pool.origin_of("ftp://h.example/x", &known),
                Err(PoolError::Scheme(_))
            ));
            assert!(matches!(
                pool.origin_of("http://h.example/a\r\nx: y", &known),
                Err(PoolError::InvalidUri(_))
            ));
        }
        assert!(known.0.get().is_none());
    }
}
