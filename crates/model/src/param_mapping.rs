//! HTTP APIs' parameter mapping (API Gateway's `requestParameters` / `responseParameters`
//! of an HTTP API integration): keys such as `append:header.x-user`,
//! `overwrite:querystring.page`, `remove:header.x-internal`, `overwrite:path` and (on
//! responses) `overwrite:statuscode`; values mixing text with `$request.header.NAME`,
//! `$request.querystring.NAME`, `$request.path`, `$request.path.NAME`, `$context.NAME`,
//! `$stageVariables.NAME` and (on responses) `$response.header.NAME`, each also written
//! `${…}`. Parsed here once; the gateway compiles them.

/// What a mapping does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapOp {
    /// Add a value (a header field, a query parameter) after those already there.
    Append,
    /// Replace every value with this one.
    Overwrite,
    /// Take every value out.
    Remove,
}

/// What a mapping changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapTarget {
    /// A header field (lowercase name).
    Header(String),
    /// A query-string parameter (case-sensitive name).
    Query(String),
    /// The request path sent to the integration.
    Path,
    /// The response's status code.
    StatusCode,
}

/// One piece of a mapping's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapPart {
    Text(String),
    /// `$request.header.NAME` (lowercase; several fields joined with `,`).
    RequestHeader(String),
    /// `$request.querystring.NAME` (several values joined with `,`).
    RequestQuery(String),
    /// `$request.path`: the request's path without the stage.
    RequestPath,
    /// `$request.path.NAME`: a path parameter.
    PathParam(String),
    /// `$context.NAME`.
    Context(String),
    /// `$stageVariables.NAME`.
    StageVariable(String),
    /// `$response.header.NAME` (response mappings only).
    ResponseHeader(String),
}

/// Whether `key` is written in HTTP APIs' form (`op:target`), not REST APIs'.
pub fn is_http_api_key(key: &str) -> bool {
    key.contains(':')
}

/// Parses a request (`response == false`) or response mapping key.
pub fn parse_key(key: &str, response: bool) -> Result<(MapOp, MapTarget), String> {
    let (op, target) = key
        .split_once(':')
        .ok_or_else(|| format!("`{key}`: write `append|overwrite|remove:header.NAME`, `…:querystring.NAME` or `overwrite:path`"))?;
    let op = match op {
        "append" => MapOp::Append,
        "overwrite" => MapOp::Overwrite,
        "remove" => MapOp::Remove,
        other => {
            return Err(format!(
                "`{other}` is not an operation: use append, overwrite or remove"
            ));
        }
    };
    let target = if let Some(name) = target.strip_prefix("header.") {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(format!(
                "`{name}` is not a header name (letters, digits, `-`, `_`)"
            ));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str())
            || lower.starts_with("x-amzn-")
            || lower.starts_with("apigw-")
        {
            return Err(format!(
                "`{name}` is a header the gateway sets itself; it cannot be mapped"
            ));
        }
        MapTarget::Header(lower)
    } else if let Some(name) = target.strip_prefix("querystring.") {
        if response {
            return Err("a response has no query string: map `header.NAME` or `statuscode`".into());
        }
        if name.is_empty() {
            return Err("name the query-string parameter: `querystring.NAME`".into());
        }
        MapTarget::Query(name.to_owned())
    } else if target == "path" && !response {
        MapTarget::Path
    } else if target == "statuscode" && response {
        MapTarget::StatusCode
    } else {
        let what = if response {
            "`header.NAME` or `statuscode`"
        } else {
            "`header.NAME`, `querystring.NAME` or `path`"
        };
        return Err(format!("`{target}` cannot be mapped: map {what}"));
    };
    if matches!(target, MapTarget::Path | MapTarget::StatusCode) && op != MapOp::Overwrite {
        return Err(format!(
            "`{target:?}` can only be overwritten: write `overwrite:{}`",
            if response { "statuscode" } else { "path" }
        ));
    }
    Ok((op, target))
}

/// Headers no mapping may touch: the connection's own and what the gateway sets.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
    "x-forwarded-for",
    "x-forwarded-proto",
    "traceparent",
];

/// Parses a mapping's value for a request (`response == false`) or response mapping. An
/// unbraced variable's name runs over letters, digits, `.`, `_` and `-` (write `${…}` to
/// end it sooner); a `$` that starts no variable is text.
pub fn parse_value(value: &str, response: bool) -> Result<Vec<MapPart>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        text.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (expr, len) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("`{value}`: `${{` is not closed with `}}`"))?;
            (&braced[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
                .unwrap_or(after.len());
            let expr = after[..end].trim_end_matches('.');
            (expr, expr.len())
        };
        match variable(expr, response).map_err(|e| format!("`{value}`: {e}"))? {
            Some(part) => {
                if !text.is_empty() {
                    parts.push(MapPart::Text(std::mem::take(&mut text)));
                }
                parts.push(part);
                rest = &after[len..];
            }
            None => {
                text.push('$');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(MapPart::Text(text));
    }
    Ok(parts)
}

/// The variable `expr` (without `$`), `None` when it names no variable family at all.
fn variable(expr: &str, response: bool) -> Result<Option<MapPart>, String> {
    let named = |prefix: &str| expr.strip_prefix(prefix).filter(|n| !n.is_empty());
    Ok(Some(if expr == "request.path" {
        MapPart::RequestPath
    } else if let Some(n) = named("request.header.") {
        MapPart::RequestHeader(n.to_ascii_lowercase())
    } else if let Some(n) = named("request.querystring.") {
        MapPart::RequestQuery(n.to_owned())
    } else if let Some(n) = named("request.path.") {
        MapPart::PathParam(n.to_owned())
    } else if expr.starts_with("request.body") {
        return Err(
            "`$request.body…` is not mapped by Causeway: transform bodies with a `mapper` plugin"
                .into(),
        );
    } else if let Some(n) = named("context.") {
        if !crate::template::CONTEXT_VARIABLES.contains(&n) && !n.starts_with("authorizer.") {
            return Err(format!("`$context.{n}` is not a context variable"));
        }
        MapPart::Context(n.to_owned())
    } else if let Some(n) = named("stageVariables.") {
        MapPart::StageVariable(n.to_owned())
    } else if let Some(n) = named("response.header.") {
        if !response {
            return Err("`$response.header.…` is only known in a response mapping".into());
        }
        MapPart::ResponseHeader(n.to_ascii_lowercase())
    } else if expr.starts_with("request.") || expr.starts_with("response.") {
        return Err(format!(
            "`${expr}` is not a value: use $request.header.NAME, $request.querystring.NAME, $request.path[.NAME], $context.NAME or $stageVariables.NAME"
        ));
    } else {
        return Ok(None);
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_bad_ones_say_why() {
        assert_eq!(
            parse_key("append:header.X-User", false),
            Ok((MapOp::Append, MapTarget::Header("x-user".into())))
        );
        assert_eq!(
            parse_key("overwrite:querystring.Page", false),
            Ok((MapOp::Overwrite, MapTarget::Query("Page".into())))
        );
        assert_eq!(
            parse_key("overwrite:path", false),
            Ok((MapOp::Overwrite, MapTarget::Path))
        );
        assert_eq!(
            parse_key("overwrite:statuscode", true),
            Ok((MapOp::Overwrite, MapTarget::StatusCode))
        );
        for (key, response, why) in [
            ("add:header.x", false, "not an operation"),
            ("append:path", false, "only be overwritten"),
            ("overwrite:header.Host", false, "sets itself"),
            ("overwrite:header.x-amzn-trace-id", false, "sets itself"),
            ("overwrite:querystring.a", true, "no query string"),
            ("overwrite:statuscode", false, "cannot be mapped"),
            ("overwrite:header.a b", false, "not a header name"),
            ("header.x", false, "write `append"),
        ] {
            let err = parse_key(key, response).expect_err(key);
            assert!(err.contains(why), "{key}: {err}");
        }
    }

    #[test]
    fn values_mix_text_and_variables() {
        assert_eq!(
            parse_value("Bearer $request.header.Token", false),
            Ok(vec![
                MapPart::Text("Bearer ".into()),
                MapPart::RequestHeader("token".into())
            ])
        );
        assert_eq!(
            parse_value("/v2/${request.path.id}/items?$x", false),
            Ok(vec![
                MapPart::Text("/v2/".into()),
                MapPart::PathParam("id".into()),
                MapPart::Text("/items?$x".into()),
            ])
        );
        assert_eq!(
            parse_value("$request.path.", false),
            Ok(vec![MapPart::RequestPath, MapPart::Text(".".into())])
        );
        assert_eq!(
            parse_value("${context.requestId}-$stageVariables.env", false),
            Ok(vec![
                MapPart::Context("requestId".into()),
                MapPart::Text("-".into()),
                MapPart::StageVariable("env".into()),
            ])
        );
        for (value, why) in [
            ("$request.body.name", "mapper"),
            ("$response.header.x", "only known in a response"),
            ("$context.nope", "not a context variable"),
            ("${request.header.x", "not closed"),
            ("$request.cookie.x", "not a value"),
        ] {
            let err = parse_value(value, false).expect_err(value);
            assert!(err.contains(why), "{value}: {err}");
        }
        assert_eq!(
            parse_value("$response.header.Etag", true),
            Ok(vec![MapPart::ResponseHeader("etag".into())])
        );
        assert_eq!(parse_value("", false), Ok(vec![]));
        assert_eq!(
            parse_value("costs $5", false),
            Ok(vec![MapPart::Text("costs $5".into())])
        );
    }
}
