//! `causeway:plugin@0.2.0`'s imports: its `host` interface (0.1.0's functions, served by
//! the same code) and the `authorizer-request` resource, whose methods copy into the
//! guest only the field asked for.

use wasmtime::component::Resource;

use super::{HostState, now_ms};
use crate::bindings::v0_2::{AuthorizerKind, Host, HostAuthorizerRequest, Level, TypesHost};
use crate::bindings::{AuthorizerKind as Kind, AuthorizerRequest, LogLevel};

/// What an `authorizer-request` handle refers to: the request, moved into the store's
/// resource table for one `authorize` call and emptied when the call returns (a guest
/// that keeps the handle — or, garbage-collected, drops it late — holds a few bytes, and
/// reading it then is a trap).
#[derive(Debug)]
pub struct RequestFacts(Option<AuthorizerRequest>);

/// Returned when a guest reads an `authorizer-request` after its call.
#[derive(Debug, thiserror::Error)]
#[error("authorizer-request used after the `authorize` call it was passed to returned")]
pub(crate) struct RequestGone;

impl HostState {
    /// Put `request` into the table for a 0.2.0 `authorize` call.
    pub(crate) fn request_facts(
        &mut self,
        request: AuthorizerRequest,
    ) -> wasmtime::Result<Resource<RequestFacts>> {
        let facts = self.table.push(RequestFacts(Some(request)))?;
        self.held_requests = self.held_requests.saturating_add(1);
        Ok(facts)
    }

    /// Empty the request behind handle `rep` once its call is over (the guest may have
    /// dropped it already).
    pub(crate) fn request_done(&mut self, rep: u32) {
        if let Ok(facts) = self
            .table
            .get_mut(&Resource::<RequestFacts>::new_borrow(rep))
        {
            facts.0 = None;
        }
    }

    fn facts(&self, this: &Resource<RequestFacts>) -> wasmtime::Result<&AuthorizerRequest> {
        self.table
            .get(this)?
            .0
            .as_ref()
            .ok_or_else(|| wasmtime::Error::new(RequestGone))
    }

    fn text(
        &self,
        this: &Resource<RequestFacts>,
        field: impl FnOnce(&AuthorizerRequest) -> &String,
    ) -> wasmtime::Result<String> {
        Ok(field(self.facts(this)?).clone())
    }

    fn pairs(
        &self,
        this: &Resource<RequestFacts>,
        field: impl FnOnce(&AuthorizerRequest) -> &Vec<(String, String)>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(field(self.facts(this)?).clone())
    }

    fn lookup(
        &self,
        this: &Resource<RequestFacts>,
        field: impl FnOnce(&AuthorizerRequest) -> &Vec<(String, String)>,
        matches: impl Fn(&str) -> bool,
    ) -> wasmtime::Result<Option<String>> {
        Ok(field(self.facts(this)?)
            .iter()
            .find(|(k, _)| matches(k))
            .map(|(_, v)| v.clone()))
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
        Ok(match self.facts(&this)?.kind {
            Kind::Token => AuthorizerKind::Token,
            Kind::Request => AuthorizerKind::Request,
        })
    }

    fn identity_source(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<Vec<String>> {
        Ok(self.facts(&this)?.identity_source.clone())
    }

    fn route_id(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.route_id)
    }

    fn api_id(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.api_id)
    }

    fn stage(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.stage)
    }

    fn http_method(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.http_method)
    }

    fn route_key(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.route_key)
    }

    fn resource_path(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.resource_path)
    }

    fn path(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.path)
    }

    fn source_ip(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.source_ip)
    }

    fn request_id(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<String> {
        self.text(&this, |r| &r.request_id)
    }

    fn header(
        &mut self,
        this: Resource<RequestFacts>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        self.lookup(&this, |r| &r.headers, |k| k.eq_ignore_ascii_case(&name))
    }

    fn query_parameter(
        &mut self,
        this: Resource<RequestFacts>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        self.lookup(&this, |r| &r.query, |k| k == name)
    }

    fn path_parameter(
        &mut self,
        this: Resource<RequestFacts>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        self.lookup(&this, |r| &r.path_parameters, |k| k == name)
    }

    fn stage_variable(
        &mut self,
        this: Resource<RequestFacts>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        self.lookup(&this, |r| &r.stage_variables, |k| k == name)
    }

    fn headers(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<Vec<(String, String)>> {
        self.pairs(&this, |r| &r.headers)
    }

    fn query(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<Vec<(String, String)>> {
        self.pairs(&this, |r| &r.query)
    }

    fn path_parameters(
        &mut self,
        this: Resource<RequestFacts>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        self.pairs(&this, |r| &r.path_parameters)
    }

    fn stage_variables(
        &mut self,
        this: Resource<RequestFacts>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        self.pairs(&this, |r| &r.stage_variables)
    }

    fn drop(&mut self, this: Resource<RequestFacts>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        self.held_requests = self.held_requests.saturating_sub(1);
        Ok(())
    }
}
