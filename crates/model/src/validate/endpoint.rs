//! `[endpoint]`: the type fits the API's kind, and a PRIVATE API names valid networks;
//! `[resource_policy]`: valid networks.

use super::Report;
use crate::api::{ApiSpec, ApiType};
use crate::endpoint::{EndpointType, Network};

pub(super) fn check(r: &mut Report<'_>, api: &ApiSpec) {
    let e = &api.endpoint;
    if api.kind != ApiType::Rest && e.kind != EndpointType::Regional {
        r.err(
            "endpoint.type",
            format!(
                "{} APIs are REGIONAL (as in API Gateway), not {}; make it a REST API to serve it privately or through edges",
                api.kind.as_str(),
                e.kind.as_str()
            ),
        );
    }
    match e.kind {
        EndpointType::Private if e.source_networks.is_empty() => r.err(
            "endpoint.source_networks",
            "a PRIVATE API needs the client networks allowed to call it, e.g. `source_networks = [\"10.0.0.0/8\"]`",
        ),
        EndpointType::Private => {}
        other if !e.source_networks.is_empty() => r.err(
            "endpoint.source_networks",
            format!(
                "only PRIVATE APIs are limited to source networks; a {} API is served to every client (set `type = \"PRIVATE\"`)",
                other.as_str()
            ),
        ),
        _ => {}
    }
    for (i, n) in e.source_networks.iter().enumerate() {
        if let Err(why) = Network::parse(n) {
            r.err(format!("endpoint.source_networks[{i}]"), why);
        }
    }
    if e.disable_execute_api_endpoint && e.kind == EndpointType::Private {
        r.err(
            "endpoint.disable_execute_api_endpoint",
            "a PRIVATE API is reached at its execute-api host on the private listener; leave it enabled",
        );
    }
    let p = &api.resource_policy;
    for (field, list) in [
        ("allow_source_networks", &p.allow_source_networks),
        ("deny_source_networks", &p.deny_source_networks),
    ] {
        for (i, n) in list.iter().enumerate() {
            if let Err(why) = Network::parse(n) {
                r.err(format!("resource_policy.{field}[{i}]"), why);
            }
        }
    }
}
