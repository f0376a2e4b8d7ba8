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
    format!("{api_id}/{stage}/{method}/{path}")
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

/// Wildcard match in O(pattern × text) worst case, without recursion.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
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
    }
}
