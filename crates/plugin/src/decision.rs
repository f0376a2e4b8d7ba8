//! Which routes an authorizer decision covers (for caching one decision across routes,
//! like the `Resource` list of an IAM policy), and the route ids it is matched against.

use crate::bindings::AuthorizerDecision;

/// The method-ARN-like id of a route, as put in
/// [`AuthorizerRequest::route_id`](crate::AuthorizerRequest::route_id):
/// `{api_id}/{stage}/{METHOD}/{path without its leading slash}`.
///
/// ```
/// assert_eq!(causeway_plugin::route_id("a1b2", "prod", "GET", "/pets/42"), "a1b2/prod/GET/pets/42");
/// ```
pub fn route_id(api_id: &str, stage: &str, method: &str, path: &str) -> String {
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut id = String::with_capacity(api_id.len() + stage.len() + method.len() + path.len() + 3);
    for (i, part) in [api_id, stage, method, path].into_iter().enumerate() {
        if i > 0 {
            id.push('/');
        }
        id.push_str(part);
    }
    id
}

impl AuthorizerDecision {
    /// Whether this decision, made for the route `asked`, also answers for `route_id`:
    /// with no `routes` only `asked` itself; otherwise any pattern matching (`*` any run
    /// of characters, `/` included; `?` one character).
    pub fn covers(&self, asked: &str, route_id: &str) -> bool {
        if self.routes.is_empty() {
            return asked == route_id;
        }
        self.routes.iter().any(|p| glob_match(p, route_id))
    }
}

/// Wildcard match in O(pattern × text) worst case, without recursion or allocation: bytes
/// are compared (equal UTF-8 strings are equal bytes) and `?` takes one whole character.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    // Bytes of the UTF-8 character that starts with `b`.
    let width = |b: u8| match b {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    };
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(b'?') => {
                pi += 1;
                ti += width(t[ti]);
            }
            Some(&c) if c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    let next = st + width(t[st]);
                    pi = sp + 1;
                    ti = next;
                    star = Some((sp, next));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "a/b/c"));
        assert!(glob_match("api/prod/GET/*", "api/prod/GET/pets/1"));
        assert!(!glob_match("api/prod/GET/*", "api/prod/POST/pets/1"));
        assert!(glob_match("api/*/GET/pets/?", "api/dev/GET/pets/1"));
        assert!(!glob_match("api/*/GET/pets/?", "api/dev/GET/pets/12"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        // `?` is one character, however many bytes it takes.
        assert!(glob_match("api/prod/GET/caf?", "api/prod/GET/café"));
        assert!(glob_match("*/caf?", "api/prod/GET/café"));
        assert!(!glob_match("api/prod/GET/caf??", "api/prod/GET/café"));
        assert!(glob_match("*é*", "xxéyy"));
        assert!(glob_match("??", "日本"));
        assert!(!glob_match("?", "日本"));
    }
}
