//! HTTP APIs' parameter mapping on an HTTP_PROXY integration: keys and values parse
//! ([`crate::param_mapping`]), only HTTP APIs use that form, response mappings are keyed
//! by a status code and a static status they set is one.

use super::Report;
use crate::api::{ApiType, HttpProxyIntegration};
use crate::param_mapping::{MapOp, MapPart, MapTarget, is_http_api_key, parse_key, parse_value};

pub(super) fn check(r: &mut Report<'_>, i: usize, kind: ApiType, h: &HttpProxyIntegration) {
    let at = |f: &str| format!("routes[{i}].integration.{f}");
    for (k, v) in &h.request_parameters {
        if !is_http_api_key(k) {
            continue; // REST's form, checked with the integration
        }
        let field = at(&format!("request_parameters.{k}"));
        if kind != ApiType::Http {
            r.err(
                field,
                "`op:target` mappings are HTTP APIs'; on a REST API write `integration.request.{path|querystring|header}.NAME`",
            );
            continue;
        }
        match parse_key(k, false) {
            Err(e) => r.err(field, e),
            Ok((MapOp::Remove, _)) => {}
            Ok(_) => {
                if let Err(e) = parse_value(v, false) {
                    r.err(field, e);
                }
            }
        }
    }
    if !h.response_parameters.is_empty() && kind != ApiType::Http {
        r.err(
            at("response_parameters"),
            "response mappings of an HTTP_PROXY integration are HTTP APIs'; a REST API's proxy passes the response as it is",
        );
        return;
    }
    for (status, mappings) in &h.response_parameters {
        let here = at(&format!("response_parameters.{status}"));
        if !status
            .parse::<u16>()
            .is_ok_and(|s| (100..=599).contains(&s))
        {
            r.err(
                here.clone(),
                format!("`{status}` is not a status code: key response mappings by the integration's status (100..599)"),
            );
        }
        for (k, v) in mappings {
            let field = format!("{here}.{k}");
            let (op, target) = match parse_key(k, true) {
                Ok(t) => t,
                Err(e) => {
                    r.err(field, e);
                    continue;
                }
            };
            if op == MapOp::Remove {
                continue;
            }
            match parse_value(v, true) {
                Err(e) => r.err(field, e),
                Ok(parts) if target == MapTarget::StatusCode => {
                    let fixed: Option<String> = parts
                        .iter()
                        .map(|p| match p {
                            MapPart::Text(t) => Some(t.as_str()),
                            _ => None,
                        })
                        .collect();
                    if fixed
                        .is_some_and(|s| !s.parse::<u16>().is_ok_and(|n| (100..=599).contains(&n)))
                    {
                        r.err(field, format!("`{v}` is not a status code (100..599)"));
                    }
                }
                Ok(_) => {}
            }
        }
    }
}
