//! Route-key syntax: `"GET /pets/{petId}"`, `"ANY /{proxy+}"`, `"$default"`.
//!
//! Parsing is pure validation; every error message says how to fix the key.

use std::fmt;

/// The method part of a route key. `Any` matches every request method that has no explicit
/// route on the same resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Any,
}

impl RouteMethod {
    /// Every method accepted in a route key, in slot order.
    pub const ALL: [RouteMethod; 8] = [
        RouteMethod::Get,
        RouteMethod::Post,
        RouteMethod::Put,
        RouteMethod::Patch,
        RouteMethod::Delete,
        RouteMethod::Head,
        RouteMethod::Options,
        RouteMethod::Any,
    ];

    /// Parses a route-key method. Case-sensitive, upper-case only, like API Gateway.
    pub fn parse(s: &str) -> Option<RouteMethod> {
        Some(match s {
            "GET" => RouteMethod::Get,
            "POST" => RouteMethod::Post,
            "PUT" => RouteMethod::Put,
            "PATCH" => RouteMethod::Patch,
            "DELETE" => RouteMethod::Delete,
            "HEAD" => RouteMethod::Head,
            "OPTIONS" => RouteMethod::Options,
            "ANY" => RouteMethod::Any,
            _ => return None,
        })
    }

    /// The upper-case spelling used in route keys.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteMethod::Get => "GET",
            RouteMethod::Post => "POST",
            RouteMethod::Put => "PUT",
            RouteMethod::Patch => "PATCH",
            RouteMethod::Delete => "DELETE",
            RouteMethod::Head => "HEAD",
            RouteMethod::Options => "OPTIONS",
            RouteMethod::Any => "ANY",
        }
    }

    /// Index into an endpoint's method slots (`Any` is last).
    pub(crate) fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RouteMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A syntactically valid route key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKey<'a> {
    /// `$default`: catches every request no other route matched (HTTP APIs only).
    Default,
    /// `METHOD /path`; `path` has been validated.
    Route { method: RouteMethod, path: &'a str },
}

/// One segment of a validated route path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    Literal(&'a str),
    Param(&'a str),
    Greedy(&'a str),
}

/// A fully parsed route key: method plus segments (empty for the root `/`).
#[derive(Debug)]
pub(crate) enum Parsed<'a> {
    Default,
    Route {
        method: RouteMethod,
        segments: Vec<Segment<'a>>,
    },
}

/// Validates a route key and splits it into method and path.
///
/// Accepts `$default` and `METHOD /path` where METHOD is one of GET, POST, PUT, PATCH,
/// DELETE, HEAD, OPTIONS, ANY. The error string explains how to fix the key.
pub fn parse_key(key: &str) -> Result<RouteKey<'_>, String> {
    if key == "$default" {
        return Ok(RouteKey::Default);
    }
    let (method, path) = split_key(key)?;
    parse_path(path)?;
    Ok(RouteKey::Route { method, path })
}

pub(crate) fn parse(key: &str) -> Result<Parsed<'_>, String> {
    if key == "$default" {
        return Ok(Parsed::Default);
    }
    let (method, path) = split_key(key)?;
    let segments = parse_path(path)?;
    Ok(Parsed::Route { method, segments })
}

fn split_key(key: &str) -> Result<(RouteMethod, &str), String> {
    if key.is_empty() {
        return Err(
            "empty route key; write `METHOD /path` (e.g. `GET /pets`) or `$default`".into(),
        );
    }
    if key.starts_with('$') {
        return Err(format!(
            "unknown special route `{key}`; the only one is `$default`"
        ));
    }
    let Some((method, path)) = key.split_once(' ') else {
        return Err(if key.starts_with('/') {
            "missing method; write `METHOD /path`, e.g. `GET /pets` or `ANY /pets`".into()
        } else {
            "missing space between method and path; write `METHOD /path`, e.g. `GET /pets`".into()
        });
    };
    let method = RouteMethod::parse(method).ok_or_else(|| unknown_method(method))?;
    Ok((method, path))
}

fn unknown_method(method: &str) -> String {
    let upper = method.to_ascii_uppercase();
    if RouteMethod::parse(&upper).is_some() {
        format!("method `{method}` must be upper-case; write `{upper}`")
    } else {
        format!(
            "unknown method `{method}`; use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY"
        )
    }
}

/// Splits a route path into segments, validating each.
pub(crate) fn parse_path(path: &str) -> Result<Vec<Segment<'_>>, String> {
    let Some(body) = path.strip_prefix('/') else {
        return Err(if path.is_empty() {
            "missing path after the method; write e.g. `GET /pets`".into()
        } else if path.starts_with(' ') {
            "more than one space after the method; write `METHOD /path` with a single space".into()
        } else {
            format!("path `{path}` must start with `/`; write `/{path}`")
        });
    };
    if let Some(c) = path
        .chars()
        .find(|c| c.is_whitespace() || *c == '?' || *c == '#')
    {
        return Err(match c {
            '?' => "route paths take no query string; remove the `?...` part".into(),
            '#' => "route paths take no fragment; remove the `#...` part".into(),
            _ => {
                "path contains whitespace; route paths are `/segment/{param}` with no spaces".into()
            }
        });
    }
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let count = body.split('/').count();
    let mut segments = Vec::with_capacity(count);
    for (i, raw) in body.split('/').enumerate() {
        let last = i + 1 == count;
        if raw.is_empty() {
            return Err(if last {
                format!(
                    "trailing `/` in `{path}`; write `{}` (requests with one trailing slash match it anyway)",
                    path.trim_end_matches('/')
                )
            } else {
                format!("empty segment (`//`) in `{path}`; remove the extra `/`")
            });
        }
        let seg = parse_segment(raw)?;
        if let Segment::Greedy(name) = seg
            && !last
        {
            return Err(format!(
                "greedy parameter `{{{name}+}}` must be the last segment of the path"
            ));
        }
        if let Segment::Param(name) | Segment::Greedy(name) = seg
            && segments
                .iter()
                .any(|s| matches!(s, Segment::Param(n) | Segment::Greedy(n) if *n == name))
        {
            return Err(format!(
                "path parameter `{name}` appears more than once; give each parameter a distinct name"
            ));
        }
        segments.push(seg);
    }
    Ok(segments)
}

fn parse_segment(raw: &str) -> Result<Segment<'_>, String> {
    let opens = raw.matches('{').count();
    let closes = raw.matches('}').count();
    if opens == 0 && closes == 0 {
        return Ok(Segment::Literal(raw));
    }
    let hint = "write path parameters as `{name}`";
    if opens != closes || opens > 1 {
        return Err(if opens > closes {
            format!("unbalanced `{{` in segment `{raw}`; {hint}")
        } else if closes > opens {
            format!("unbalanced `}}` in segment `{raw}`; {hint}")
        } else {
            format!(
                "more than one parameter in segment `{raw}`; a parameter must be a whole segment"
            )
        });
    }
    let Some(inner) = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return Err(if raw.find('{') > raw.find('}') {
            format!("unbalanced `}}` in segment `{raw}`; {hint}")
        } else {
            format!(
                "segment `{raw}` mixes text and a parameter; a parameter must be a whole segment, e.g. `/{{id}}`"
            )
        });
    };
    let (name, greedy) = match inner.strip_suffix('+') {
        Some(name) => (name, true),
        None => (inner, false),
    };
    if name.is_empty() {
        return Err(if greedy {
            format!("empty parameter name in `{raw}`; write a greedy parameter as `{{name+}}`")
        } else {
            format!("empty parameter name in `{raw}`; {hint}")
        });
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "invalid character `{c}` in parameter name `{name}`; use letters, digits, `_`, `-` or `.`"
        ));
    }
    Ok(if greedy {
        Segment::Greedy(name)
    } else {
        Segment::Param(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(key: &str) -> String {
        parse_key(key).expect_err("key should be rejected")
    }

    #[test]
    fn parses_valid_keys() {
        assert_eq!(parse_key("$default"), Ok(RouteKey::Default));
        assert_eq!(
            parse_key("GET /pets/{petId}"),
            Ok(RouteKey::Route {
                method: RouteMethod::Get,
                path: "/pets/{petId}"
            })
        );
        assert_eq!(
            parse_key("ANY /{proxy+}"),
            Ok(RouteKey::Route {
                method: RouteMethod::Any,
                path: "/{proxy+}"
            })
        );
        assert!(parse_key("POST /").is_ok());
        for m in RouteMethod::ALL {
            assert_eq!(RouteMethod::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn segments_of_a_path() {
        let segs = parse_path("/a/{b}/{c+}").expect("valid");
        assert_eq!(
            segs,
            vec![
                Segment::Literal("a"),
                Segment::Param("b"),
                Segment::Greedy("c")
            ]
        );
        assert!(parse_path("/").expect("root").is_empty());
    }

    #[test]
    fn rejects_bad_syntax_with_fix_hints() {
        assert!(err("GET /a/{x").contains("unbalanced `{` in segment `{x`"));
        assert!(err("GET /a/x}").contains("unbalanced `}`"));
        assert!(err("GET /a/}x{").contains("unbalanced `}`"));
        assert!(err("GET /a/{}").contains("empty parameter name"));
        assert!(err("GET /a/{+}").contains("empty parameter name"));
        assert!(err("GET /a/{{x}}").contains("more than one parameter"));
        assert!(err("GET /a/x{id}").contains("whole segment"));
        assert!(err("GET /{p+}/a").contains("must be the last segment"));
        assert!(err("GET /a//b").contains("empty segment"));
        assert!(err("GET /a/").contains("trailing `/`"));
        assert!(err("GET pets").contains("must start with `/`"));
        assert!(err("GET").contains("missing space"));
        assert!(err("/pets").contains("missing method"));
        assert!(err("GET  /pets").contains("single space"));
        assert!(err("GET ").contains("missing path"));
        assert!(err("get /pets").contains("write `GET`"));
        assert!(err("TRACE /pets").contains("unknown method"));
        assert!(err("GET /a/{id}/{id}").contains("more than once"));
        assert!(err("GET /a?x=1").contains("query string"));
        assert!(err("GET /a b").contains("whitespace"));
        assert!(err("GET /{a b}").contains("whitespace"));
        assert!(err("GET /{a/b}").contains("unbalanced"));
        assert!(err("GET /{a*}").contains("invalid character"));
        assert!(err("$catchall").contains("`$default`"));
        assert!(err("").contains("empty route key"));
    }
}
