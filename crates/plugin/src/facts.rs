//! [`AuthorizerFacts`]: what an authorizer is asked, read when the guest asks for it.
//!
//! A `causeway:plugin@0.2.0` guest reads the request through an `authorizer-request`
//! handle, one field at a time, and most authorizers read two or three fields. So the
//! caller does not build the whole [`AuthorizerRequest`] record up front: it hands over
//! anything that answers these questions (the gateway lends its request's own URI and
//! headers for the call and gets them back with the decision), and only a 0.1.0 guest,
//! whose export takes the record, gets one built.

use std::any::Any;
use std::borrow::Cow;

use crate::bindings::{AuthorizerKind, AuthorizerRequest};

/// A text field of the request (the record's field of the same name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactText {
    /// `route-id`: `api/stage/METHOD/path`, what a decision's `routes` patterns match.
    RouteId,
    /// The API's id.
    ApiId,
    /// The stage's name.
    Stage,
    /// The request method.
    HttpMethod,
    /// The route key (`GET /pets/{id}`).
    RouteKey,
    /// The resource path (`/pets/{id}`).
    ResourcePath,
    /// The request path, as sent.
    Path,
    /// The client's IP address.
    SourceIp,
    /// The request id.
    RequestId,
}

/// A list of name/value pairs of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactPairs {
    /// Request headers (names compare case-insensitively).
    Headers,
    /// Query-string parameters, percent-decoded.
    Query,
    /// Path parameters, percent-decoded.
    PathParameters,
    /// The stage's variables.
    StageVariables,
}

/// What an authorizer is asked. [`AuthorizerRequest`] implements it; so does the
/// gateway's view of the request it is serving.
pub trait AuthorizerFacts: Any + Send {
    /// TOKEN or REQUEST.
    fn kind(&self) -> AuthorizerKind;
    /// The identity source values, in the authorizer's order.
    fn identity_source(&self) -> &[String];
    /// A text field.
    fn text(&self, field: FactText) -> Cow<'_, str>;
    /// The first value named `name` in `pairs` (headers: any case).
    fn find(&self, pairs: FactPairs, name: &str) -> Option<Cow<'_, str>>;
    /// Every pair of `pairs`, in order.
    fn for_each(&self, pairs: FactPairs, f: &mut dyn FnMut(&str, &str));
}

/// Every pair of `pairs`, copied.
pub(crate) fn pairs(facts: &dyn AuthorizerFacts, pairs: FactPairs) -> Vec<(String, String)> {
    let mut out = Vec::new();
    facts.for_each(pairs, &mut |k, v| out.push((k.to_owned(), v.to_owned())));
    out
}

/// The whole record, for a 0.1.0 guest.
pub(crate) fn record(facts: &dyn AuthorizerFacts) -> AuthorizerRequest {
    let text = |f| facts.text(f).into_owned();
    AuthorizerRequest {
        kind: facts.kind(),
        identity_source: facts.identity_source().to_vec(),
        route_id: text(FactText::RouteId),
        api_id: text(FactText::ApiId),
        stage: text(FactText::Stage),
        http_method: text(FactText::HttpMethod),
        route_key: text(FactText::RouteKey),
        resource_path: text(FactText::ResourcePath),
        path: text(FactText::Path),
        path_parameters: pairs(facts, FactPairs::PathParameters),
        query: pairs(facts, FactPairs::Query),
        headers: pairs(facts, FactPairs::Headers),
        stage_variables: pairs(facts, FactPairs::StageVariables),
        source_ip: text(FactText::SourceIp),
        request_id: text(FactText::RequestId),
    }
}

impl AuthorizerRequest {
    fn list(&self, pairs: FactPairs) -> &[(String, String)] {
        match pairs {
            FactPairs::Headers => &self.headers,
            FactPairs::Query => &self.query,
            FactPairs::PathParameters => &self.path_parameters,
            FactPairs::StageVariables => &self.stage_variables,
        }
    }
}

impl AuthorizerFacts for AuthorizerRequest {
    fn kind(&self) -> AuthorizerKind {
        self.kind
    }

    fn identity_source(&self) -> &[String] {
        &self.identity_source
    }

    fn text(&self, field: FactText) -> Cow<'_, str> {
        Cow::Borrowed(match field {
            FactText::RouteId => &self.route_id,
            FactText::ApiId => &self.api_id,
            FactText::Stage => &self.stage,
            FactText::HttpMethod => &self.http_method,
            FactText::RouteKey => &self.route_key,
            FactText::ResourcePath => &self.resource_path,
            FactText::Path => &self.path,
            FactText::SourceIp => &self.source_ip,
            FactText::RequestId => &self.request_id,
        })
    }

    fn find(&self, pairs: FactPairs, name: &str) -> Option<Cow<'_, str>> {
        let headers = pairs == FactPairs::Headers;
        self.list(pairs)
            .iter()
            .find(|(k, _)| {
                if headers {
                    k.eq_ignore_ascii_case(name)
                } else {
                    k == name
                }
            })
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
    }

    fn for_each(&self, pairs: FactPairs, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self.list(pairs) {
            f(k, v);
        }
    }
}
