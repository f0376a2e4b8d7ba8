#![forbid(unsafe_code)]
//! `causeway-router` owns route matching for one API: given the route keys written in its
//! config (`"GET /pets/{petId}"`, `"ANY /{proxy+}"`, `"$default"`), it compiles a segment trie
//! and maps a request's method and path to one route, with Amazon API Gateway's REST or HTTP
//! API semantics, plus the raw path parameters.
//!
//! It is sans-IO and must stay that way: no I/O, no tokio/hyper/http types, no config parsing
//! or serde. Callers hand in plain `&str`s (a method and a path whose query string is already
//! stripped) and get back a [`RouteId`] (the index of the key in the input) and borrowed
//! parameter slices, still percent-encoded. Lookups do not allocate for up to four parameters.
//!
//! # Matching rules
//! - Segments are literals, `{name}` (one non-empty segment) or a greedy last `{name+}` (one
//!   or more segments; `/{proxy+}` does not match `/`). The root `/` is its own resource.
//! - Precedence is literal > `{param}` > `{greedy+}`, with backtracking. An explicit method
//!   beats `ANY` on the same resource.
//! - [`ApiKind::Rest`]: the most specific resource (path only) wins; if it has neither the
//!   method nor `ANY`, the answer is [`Lookup::MethodNotAllowed`].
//! - [`ApiKind::Http`]: the method takes part in backtracking, and `$default` catches the rest.
//! - One trailing slash in the request is ignored; an empty segment (`//`) matches no
//!   parameter.

mod error;
mod key;
mod lookup;
mod trie;

#[cfg(test)]
mod tests;

pub use error::RouteError;
pub use key::{RouteKey, RouteMethod, parse_key};
pub use lookup::{Lookup, Match, Params};

use key::Parsed;
use trie::{Hit, InsertError, Mode, Node, ParamVec};

/// Index of a route key in the input to [`Router::build`].
pub type RouteId = usize;

/// Which API Gateway flavour of matching to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKind {
    /// REST API: resource first, then method; no `$default`.
    Rest,
    /// HTTP API: method participates in backtracking; `$default` allowed.
    Http,
}

/// A compiled set of route keys for one API.
///
/// Route keys are written as in config: `"GET /pets/{petId}"`, `"ANY /{proxy+}"`, `"POST /"`,
/// or `"$default"` (HTTP APIs only).
///
/// ```
/// use causeway_router::{ApiKind, Lookup, Router};
///
/// let router = Router::build(ApiKind::Http, ["GET /pets/{petId}", "ANY /{proxy+}"])
///     .expect("valid route keys");
/// let Lookup::Matched(m) = router.lookup("GET", "/pets/42/") else {
///     panic!("should match");
/// };
/// assert_eq!(m.route, 0);
/// assert_eq!(m.params.get("petId"), Some("42"));
/// assert_eq!(router.lookup("GET", "/a/b").route(), Some(1));
/// assert_eq!(router.lookup("GET", "/"), Lookup::NotFound);
/// ```
#[derive(Debug)]
pub struct Router {
    kind: ApiKind,
    root: Node,
    default: Option<RouteId>,
    len: usize,
}

impl Router {
    /// Builds a router from route keys; the index of each key in the input is its [`RouteId`].
    ///
    /// Every invalid or conflicting key is reported, in input order.
    pub fn build<'a>(
        kind: ApiKind,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> Result<Router, Vec<RouteError>> {
        let mut router = Router {
            kind,
            root: Node::default(),
            default: None,
            len: 0,
        };
        let mut seen: Vec<&'a str> = Vec::new();
        let mut errors = Vec::new();
        for (index, key) in keys.into_iter().enumerate() {
            seen.push(key);
            if let Err(reason) = router.add(index, key, &seen) {
                errors.push(RouteError {
                    index,
                    key: key.to_owned(),
                    reason,
                });
            }
        }
        router.len = seen.len();
        if errors.is_empty() {
            Ok(router)
        } else {
            Err(errors)
        }
    }

    fn add(&mut self, index: RouteId, key: &str, seen: &[&str]) -> Result<(), String> {
        let earlier = |id: RouteId| seen.get(id).copied().unwrap_or("?");
        match key::parse(key)? {
            Parsed::Default => match (self.kind, self.default) {
                (ApiKind::Rest, _) => Err("`$default` is only supported by HTTP APIs; \
                     for a REST catch-all use `ANY /{proxy+}` (plus `ANY /` for the root)"
                    .into()),
                (ApiKind::Http, Some(first)) => Err(format!(
                    "duplicate of route #{first} `$default`; declare `$default` once"
                )),
                (ApiKind::Http, None) => {
                    self.default = Some(index);
                    Ok(())
                }
            },
            Parsed::Route { method, segments } => self
                .root
                .insert(&segments, method, index)
                .map_err(|e| match e {
                    InsertError::Duplicate(first) => format!(
                        "duplicate of route #{first} `{}`; each method may appear once per path",
                        earlier(first)
                    ),
                    InsertError::ParamName {
                        existing,
                        ours,
                        origin,
                    } => format!(
                        "path parameter `{ours}` conflicts with `{existing}` at the same position \
                             in route #{origin} `{}`; parameters at the same position must share a \
                             name, so rename it to `{existing}`",
                        earlier(origin)
                    ),
                }),
        }
    }

    /// Matches a request. `method` is the request method as sent (e.g. `"GET"`; methods no
    /// route key can name only match `ANY`), `path` the request path without query string.
    /// Never panics.
    pub fn lookup<'r, 'p>(&'r self, method: &str, path: &'p str) -> Lookup<'r, 'p> {
        if let Some(body) = path.strip_prefix('/') {
            // `None` = the root; otherwise drop one trailing slash.
            let rest = (!body.is_empty()).then(|| body.strip_suffix('/').unwrap_or(body));
            let mode = match self.kind {
                ApiKind::Rest => Mode::Resource,
                ApiKind::Http => Mode::Method,
            };
            let mut params = ParamVec::new();
            match self
                .root
                .walk(rest, RouteMethod::parse(method), mode, &mut params)
            {
                Some(Hit::Route(route)) => {
                    return Lookup::Matched(Match {
                        route,
                        params: Params(params),
                    });
                }
                Some(Hit::NoMethod) => return Lookup::MethodNotAllowed,
                None => {}
            }
        }
        match self.default {
            Some(route) => Lookup::Matched(Match {
                route,
                params: Params::default(),
            }),
            None => Lookup::NotFound,
        }
    }

    /// Number of route keys (including `$default`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the router has no routes at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The matching semantics this router was built with.
    pub fn kind(&self) -> ApiKind {
        self.kind
    }
}
