//! What [`Router::lookup`](crate::Router::lookup) returns.

use crate::RouteId;
use crate::trie::ParamVec;

/// The result of matching one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'r, 'p> {
    /// A route matched.
    Matched(Match<'r, 'p>),
    /// The path matched a resource but no method on it (REST semantics).
    MethodNotAllowed,
    /// Nothing matched (and, for HTTP APIs, there is no `$default` route).
    NotFound,
}

impl<'r, 'p> Lookup<'r, 'p> {
    /// The match, if any.
    pub fn matched(self) -> Option<Match<'r, 'p>> {
        match self {
            Lookup::Matched(m) => Some(m),
            Lookup::MethodNotAllowed | Lookup::NotFound => None,
        }
    }

    /// The matched route id, if any.
    pub fn route(&self) -> Option<RouteId> {
        match self {
            Lookup::Matched(m) => Some(m.route),
            Lookup::MethodNotAllowed | Lookup::NotFound => None,
        }
    }
}

/// A matched route and its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<'r, 'p> {
    /// Index of the matching key in the input to [`Router::build`](crate::Router::build).
    pub route: RouteId,
    /// Path parameters of the matched route.
    pub params: Params<'r, 'p>,
}

/// Path parameters in declaration order: names borrowed from the router, values raw (still
/// percent-encoded) slices of the request path. A greedy `{proxy+}` value is the rest of the
/// path without the leading slash, e.g. `"a/b/c"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'r, 'p>(pub(crate) ParamVec<'r, 'p>);

impl<'r, 'p> Params<'r, 'p> {
    /// The raw value of the parameter `name`.
    pub fn get(&self, name: &str) -> Option<&'p str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// `(name, raw value)` pairs in declaration order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'r str, &'p str)> + '_ {
        self.0.iter().copied()
    }

    /// The pairs as a slice, in declaration order.
    pub fn as_slice(&self) -> &[(&'r str, &'p str)] {
        &self.0
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the route has no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'r, 'p> IntoIterator for Params<'r, 'p> {
    type Item = (&'r str, &'p str);
    type IntoIter = smallvec::IntoIter<[(&'r str, &'p str); 4]>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, 'r, 'p> IntoIterator for &'a Params<'r, 'p> {
    type Item = (&'r str, &'p str);
    type IntoIter = std::iter::Copied<std::slice::Iter<'a, (&'r str, &'p str)>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().copied()
    }
}
