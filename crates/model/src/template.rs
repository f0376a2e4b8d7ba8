//! The template language of URIs, header values and mock bodies:
//! `${stageVariables.name}` (or `$stageVariables.name`), `$context.name` (or
//! `${context.name}`) and, where enabled, `{param}` path-parameter placeholders.

use serde::Serialize;

/// A parsed template: literal text and substitutions, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    /// The pieces.
    pub parts: Vec<TemplatePart>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TemplatePart {
    /// Text copied as is.
    Literal(String),
    /// `${stageVariables.NAME}`.
    StageVariable(String),
    /// `$context.NAME` (dotted names such as `identity.sourceIp` included).
    Context(String),
    /// `{NAME}` or `{NAME+}`: a route path parameter (only with `path_params = true`).
    PathParam(String),
}

/// `$context` variables the gateway fills in.
pub const CONTEXT_VARIABLES: &[&str] = &[
    "requestId",
    "extendedRequestId",
    "apiId",
    "stage",
    "httpMethod",
    "path",
    "resourcePath",
    "routeKey",
    "domainName",
    "domainPrefix",
    "protocol",
    "requestTime",
    "requestTimeEpoch",
    "identity.sourceIp",
    "identity.userAgent",
    // A mutual-TLS domain's client certificate (empty without one).
    "identity.clientCert.clientCertPem",
    "identity.clientCert.subjectDN",
    "identity.clientCert.issuerDN",
    "identity.clientCert.serialNumber",
    "identity.clientCert.validity.notBefore",
    "identity.clientCert.validity.notAfter",
    "deploymentId",
    "status",
    "responseLength",
    "responseLatency",
    "integrationLatency",
    "integrationStatus",
    "authorizer.principalId",
    "error.message",
    "error.messageString",
    "error.responseType",
    "error.validationErrorString",
    // WEBSOCKET APIs (empty on REST and HTTP requests).
    "connectionId",
    "connectedAt",
    "eventType",
    "messageId",
];

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl Template {
    /// Parse `src`. With `path_params`, `{name}` is a path-parameter placeholder; without it
    /// braces are literal text (e.g. JSON in a mock body).
    pub fn parse(src: &str, path_params: bool) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = src;
        while let Some(c) = rest.chars().next() {
            let (part, used) = if let Some(after) = rest.strip_prefix("${") {
                let end = after.find('}').ok_or_else(|| {
                    format!("unclosed `${{` in `{src}`; write `${{stageVariables.name}}`")
                })?;
                let inner = &after[..end];
                (Some(variable(inner, src)?), 2 + end + 1)
            } else if rest.starts_with("$stageVariables.") || rest.starts_with("$context.") {
                let body = &rest[1..];
                let (ns, tail) = body.split_once('.').unwrap_or((body, ""));
                let mut len = 0;
                for (i, ch) in tail.char_indices() {
                    let dotted =
                        ch == '.' && tail[i + 1..].starts_with(|n: char| n.is_ascii_alphabetic());
                    if is_ident(ch) || (ns == "context" && dotted) {
                        len = i + ch.len_utf8();
                    } else {
                        break;
                    }
                }
                let inner = &body[..ns.len() + 1 + len];
                (Some(variable(inner, src)?), 1 + inner.len())
            } else if path_params && c == '{' {
                let end = rest
                    .find('}')
                    .ok_or_else(|| format!("unclosed `{{` in `{src}`"))?;
                let name = rest[1..end].trim_end_matches('+');
                if name.is_empty() || !name.chars().all(is_ident) {
                    return Err(format!(
                        "`{}` in `{src}` is not a path parameter; write `{{name}}`",
                        &rest[..=end]
                    ));
                }
                (Some(TemplatePart::PathParam(name.to_owned())), end + 1)
            } else {
                (None, c.len_utf8())
            };
            match part {
                Some(p) => {
                    if !lit.is_empty() {
                        parts.push(TemplatePart::Literal(std::mem::take(&mut lit)));
                    }
                    parts.push(p);
                }
                None => lit.push_str(&rest[..used]),
            }
            rest = &rest[used..];
        }
        if !lit.is_empty() {
            parts.push(TemplatePart::Literal(lit));
        }
        Ok(Template { parts })
    }

    /// True when the template has no substitutions.
    pub fn is_literal(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, TemplatePart::Literal(_)))
    }

    /// Render with a resolver for each substitution; unresolved ones render empty, as
    /// API Gateway renders an unset stage variable.
    pub fn render(&self, out: &mut String, mut resolve: impl FnMut(&TemplatePart, &mut String)) {
        for part in &self.parts {
            match part {
                TemplatePart::Literal(s) => out.push_str(s),
                other => resolve(other, out),
            }
        }
    }

    /// Stage variable names referenced.
    pub fn stage_variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::StageVariable(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// Path parameter names referenced.
    pub fn path_params(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::PathParam(n) => Some(n.as_str()),
            _ => None,
        })
    }
}

fn variable(inner: &str, src: &str) -> Result<TemplatePart, String> {
    if let Some(name) = inner.strip_prefix("stageVariables.") {
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Ok(TemplatePart::StageVariable(name.to_owned()));
        }
    } else if let Some(name) = inner.strip_prefix("context.") {
        let authorizer_key = name
            .strip_prefix("authorizer.")
            .is_some_and(|k| !k.is_empty());
        if CONTEXT_VARIABLES.contains(&name) || authorizer_key {
            return Ok(TemplatePart::Context(name.to_owned()));
        }
        return Err(format!(
            "unknown context variable `$context.{name}` in `{src}`; known: {}",
            CONTEXT_VARIABLES.join(", ")
        ));
    }
    Err(format!(
        "`{inner}` in `{src}` is not a template variable; use `${{stageVariables.name}}` or `$context.name`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use TemplatePart::*;

    #[test]
    fn parses_all_forms() {
        let t = Template::parse(
            "${stageVariables.backend}/pets/{petId}?r=$context.requestId",
            true,
        )
        .expect("valid");
        assert_eq!(
            t.parts,
            vec![
                StageVariable("backend".into()),
                Literal("/pets/".into()),
                PathParam("petId".into()),
                Literal("?r=".into()),
                Context("requestId".into()),
            ]
        );
        let t = Template::parse("{\"ip\": \"$context.identity.sourceIp\"}", false).expect("valid");
        assert_eq!(t.parts[1], Context("identity.sourceIp".into()));
        assert_eq!(t.parts[2], Literal("\"}".into()));
    }

    #[test]
    fn rejects_bad_variables() {
        assert!(Template::parse("${stageVariables.}", false).is_err());
        assert!(Template::parse("${nope}", false).is_err());
        assert!(Template::parse("$context.bogus", false).is_err());
        assert!(Template::parse("${stageVariables.a", false).is_err());
        assert!(Template::parse("/x/{", true).is_err());
        assert!(
            Template::parse("plain $ text {x}", false)
                .expect("valid")
                .is_literal()
        );
    }

    #[test]
    fn renders() {
        let t = Template::parse("a${stageVariables.v}b", false).expect("valid");
        let mut out = String::new();
        t.render(&mut out, |_, o| o.push('X'));
        assert_eq!(out, "aXb");
    }
}
