//! `causeway:plugin@0.2.0`'s imports: its `host` interface (0.1.0's functions, served by
//! the same code) and the `authorizer-request` resource, whose methods copy into the
//! guest only the field asked for.

use std::borrow::Cow;

use wasmtime::component::Resource;

use super::{HostState, now_ms};
use crate::bindings::v0_2::{AuthorizerKind, Host, HostAuthorizerRequest, Level, TypesHost};
use crate::bindings::{AuthorizerKind as Kind, LogLevel};
use crate::facts::{AuthorizerFacts, FactPairs, FactText};

/// What an `authorizer-request` handle refers to: the facts lent to the store for the
/// current `authorize` call ([`CallState::facts`](super::CallState)). The handle goes
/// stale when the call returns (a guest that keeps it — or, garbage-collected, drops it
/// late — holds a byte, and reading it then is a trap); the facts themselves never move
/// into the resource table, so a guest dropping its handle early cannot take them away.
#[derive(Debug)]
pub struct RequestFacts {
    live: bool,
}

/// Returned when a guest reads an `authorizer-request` after its call.
#[derive(Debug, thiserror::Error)]
#[error("authorizer-request used after the `authorize` call it was passed to returned")]
pub(crate) struct RequestGone;

impl HostState {
    /// A handle to the lent facts for a 0.2.0 `authorize` call.
    pub(crate) fn request_facts(&mut self) -> wasmtime::Result<Resource<RequestFacts>> {
        let facts = self.table.push(RequestFacts { live: true })?;
        self.held_requests = self.held_requests.saturating_add(1);
        Ok(facts)
    }

    /// Make handle `rep` stale once its call is over (the guest may have dropped it
    /// already).
    pub(crate) fn request_done(&mut self, rep: u32) {
        if let Ok(facts) = self
            .table
            .get_mut(&Resource::<RequestFacts>::new_borrow(rep))
        {
            facts.live = false;
        }
    }

    fn facts(&self, this: &Resource<RequestFacts>) -> wasmtime::Result<&dyn AuthorizerFacts> {
        match (self.table.get(this)?.live, &self.call.facts) {
            (true, Some(lent)) => Ok(&*lent.0),
            _ => Err(wasmtime::Error::new(RequestGone)),
        }
    }

    fn text(&self, this: &Resource<RequestFacts>, field: FactText) -> wasmtime::Result<String> {
        Ok(self.facts(this)?.text(field).into_owned())
    }

    fn pairs(
        &self,
        this: &Resource<RequestFacts>,
        pairs: FactPairs,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(crate::facts::pairs(self.facts(this)?, pairs))
    }

    fn lookup(
        &self,
        this: &Resource<RequestFacts>,
        pairs: FactPairs,
        name: &str,
    ) -> wasmtime::Result<Option<String>> {
        Ok(self.facts(this)?.find(pairs, name).map(Cow::into_owned))
    }
}

impl Host for HostState {
    fn log(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.guest_log(level, message, &fields);
        Ok(())
    }

    fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(now_ms())
    }

    fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.config_value(&key))
    }
}

impl TypesHost for HostState {}

impl HostAuthorizerRequest for HostState {
    fn kind(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<AuthorizerKind> {
        Ok(match self.facts(&this)?.kind() {
            Kind::Token => AuthorizerKind::Token,
            Kind::Request => AuthorizerKind::Request,
        })
    }

    fn identity_source(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<Vec<String>> {
        Ok(self.facts(&this)?.identity_source().to_vec())
    }

    fn route_id(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::RouteId)
    }

    fn api_id(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::ApiId)
    }

    fn stage(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::Stage)
    }

    fn http_method(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::HttpMethod)
    }

    fn route_key(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::RouteKey)
    }

    fn resource_path(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::ResourcePath)
    }

    fn path(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::Path)
    }

    fn source_ip(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::SourceIp)
    }

    fn request_id(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, FactText::RequestId)
    }

    fn header(
        &mut self,
        this: Resource<RequestFacts>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        self.lookup(&this, FactPairs::Headers, &name)
    }

    fn query_parameter(
        &mut self,
        this: Resource<RequestFacts>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        self.lookup(&this, FactPairs::Query, &name)
    }

    fn path_parameter(
        &mut self,
        this: Resource<RequestFacts>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        self.lookup(&this, FactPairs::PathParameters, &name)
    }

    fn stage_variable(
        &mut self,
        this: Resource<RequestFacts>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        self.lookup(&this, FactPairs::StageVariables, &name)
    }

    fn headers(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<Vec<(String, String)>> {
        self.pairs(&this, FactPairs::Headers)
    }

    fn query(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<Vec<(String, String)>> {
        self.pairs(&this, FactPairs::Query)
    }

    fn path_parameters(
        &mut self,
        this: Resource<RequestFacts>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        self.pairs(&this, FactPairs::PathParameters)
    }

    fn stage_variables(
        &mut self,
        this: Resource<RequestFacts>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        self.pairs(&this, FactPairs::StageVariables)
    }

    fn drop(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        self.held_requests = self.held_requests.saturating_sub(1);
        Ok(())
    }
}
