//! The world-specific calls: lower the input, call the export, lift and check the output.
//! `run_*` do one call on a leased instance; the public methods add leasing and settling.

use std::any::Any;

use wasmtime::component::ComponentExportIndex;

use crate::bindings::{
    AuthorizerDecision, AuthorizerRequest, Effect, HttpRequest, HttpResponse, MappingError,
};
use crate::engine::{AuthorizerAbi, Exports};
use crate::error::{PluginError, PluginErrorKind};
use crate::facts::{AuthorizerFacts, FactText};
use crate::plugin::check::{Probe, local_token_request};
use crate::plugin::pool::Lease;
use crate::plugin::{CallError, Plugin, validate};
use crate::proxy_response::ProxyAnswer;
use crate::state::Lent;

/// What a `function` returned: its proxy response JSON and what was read from it when it
/// was checked. Reads as the JSON text (`Deref<Target = str>`, `Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionOutput {
    /// The JSON text as the function wrote it.
    pub json: String,
    /// `json`, read.
    pub answer: ProxyAnswer,
}

impl std::ops::Deref for FunctionOutput {
    type Target = str;

    fn deref(&self) -> &str {
        &self.json
    }
}

impl std::fmt::Display for FunctionOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.json)
    }
}

impl Plugin {
    fn wrong_world(&self, call: &str) -> PluginError {
        self.error(
            PluginErrorKind::Config,
            format!("`{call}` called on a plugin loaded as {}", self.world),
        )
    }

    /// Run an authorizer: the Lambda authorizer call. `config(key)` inside the plugin
    /// sees the plugin's config, then `request.stage_variables`.
    pub async fn authorize(
        &self,
        request: AuthorizerRequest,
    ) -> Result<AuthorizerDecision, PluginError> {
        self.authorize_with(request).await.1
    }

    /// [`authorize`](Self::authorize) over facts lent for the call: a 0.2.0 guest reads
    /// only the fields it asks for (nothing else is copied), and the facts come back with
    /// the decision — `None` only if the call was never started with them.
    pub async fn authorize_with<F: AuthorizerFacts>(
        &self,
        facts: F,
    ) -> (Option<F>, Result<AuthorizerDecision, PluginError>) {
        let Exports::Authorizer { authorize, abi } = &self.exports else {
            return (Some(facts), Err(self.wrong_world("authorize")));
        };
        let mut lease = match self.acquire().await {
            Ok(lease) => lease,
            Err(e) => return (Some(facts), Err(e)),
        };
        lease.for_request(&facts.text(FactText::RequestId));
        let (lent, outcome) = self
            .run_authorize(&mut lease, authorize, *abi, Box::new(facts))
            .await;
        let facts = lent.and_then(|lent| {
            let any: Box<dyn Any> = lent;
            any.downcast::<F>().ok().map(|f| *f)
        });
        (facts, self.finish(lease, outcome))
    }

    /// Run a mapper on a request before it reaches the integration. `Ok(Err(_))` is the
    /// mapper refusing the request (answer its status and message).
    pub async fn map_request(
        &self,
        request: &HttpRequest,
    ) -> Result<Result<HttpRequest, MappingError>, PluginError> {
        self.map_request_for(request, "").await
    }

    /// [`map_request`](Self::map_request) for request `request_id` (named in the guest's
    /// log lines).
    pub async fn map_request_for(
        &self,
        request: &HttpRequest,
        request_id: &str,
    ) -> Result<Result<HttpRequest, MappingError>, PluginError> {
        let Exports::Mapper { map_request, .. } = &self.exports else {
            return Err(self.wrong_world("map_request"));
        };
        let mut lease = self.acquire().await?;
        lease.for_request(request_id);
        let outcome = self.run_map_request(&mut lease, map_request, request).await;
        self.finish(lease, outcome)
    }

    /// Run a mapper on the integration's response before it reaches the client.
    pub async fn map_response(
        &self,
        response: &HttpResponse,
    ) -> Result<Result<HttpResponse, MappingError>, PluginError> {
        self.map_response_for(response, "").await
    }

    /// [`map_response`](Self::map_response) for request `request_id`.
    pub async fn map_response_for(
        &self,
        response: &HttpResponse,
        request_id: &str,
    ) -> Result<Result<HttpResponse, MappingError>, PluginError> {
        let Exports::Mapper { map_response, .. } = &self.exports else {
            return Err(self.wrong_world("map_response"));
        };
        let mut lease = self.acquire().await?;
        lease.for_request(request_id);
        let outcome = self
            .run_map_response(&mut lease, map_response, response)
            .await;
        self.finish(lease, outcome)
    }

    /// Run a function integration on an API Gateway proxy event (JSON, payload 1.0 or
    /// 2.0) and return its proxy response JSON, checked to be JSON of the proxy
    /// response shape (and parsed once, for the caller). A function's own
    /// `err(message)` is [`PluginErrorKind::FunctionError`].
    pub async fn invoke_function(
        &self,
        event_json: impl Into<String>,
    ) -> Result<FunctionOutput, PluginError> {
        self.invoke_function_for(event_json, "").await
    }

    /// [`invoke_function`](Self::invoke_function) for request `request_id`.
    pub async fn invoke_function_for(
        &self,
        event_json: impl Into<String>,
        request_id: &str,
    ) -> Result<FunctionOutput, PluginError> {
        let Exports::Function { handle } = &self.exports else {
            return Err(self.wrong_world("invoke_function"));
        };
        let mut lease = self.acquire().await?;
        lease.for_request(request_id);
        let outcome = self
            .run_function(&mut lease, handle, event_json.into())
            .await;
        self.finish(lease, outcome)
    }

    /// One authorizer call with `facts` lent to the store (`config`'s stage variables
    /// come from them); they are handed back with the outcome.
    async fn run_authorize(
        &self,
        lease: &mut Lease,
        index: &ComponentExportIndex,
        abi: AuthorizerAbi,
        facts: Box<dyn AuthorizerFacts>,
    ) -> (
        Option<Box<dyn AuthorizerFacts>>,
        Result<AuthorizerDecision, CallError>,
    ) {
        // A 0.1.0 export takes the whole record.
        let record = match abi {
            AuthorizerAbi::Record => Some(crate::facts::record(&*facts)),
            AuthorizerAbi::Resource => None,
        };
        lease.store.data_mut().call.facts = Some(Lent(facts));
        let outcome = self.call_authorize(lease, index, record).await;
        let facts = lease.store.data_mut().call.facts.take().map(|l| l.0);
        (facts, outcome)
    }

    async fn call_authorize(
        &self,
        lease: &mut Lease,
        index: &ComponentExportIndex,
        record: Option<AuthorizerRequest>,
    ) -> Result<AuthorizerDecision, CallError> {
        let (decision,) = match record {
            Some(request) => {
                let func = lease.export(|e| &mut e.authorize, index)?;
                func.call_async(&mut lease.store, (request,)).await?
            }
            None => {
                let func = lease.export(|e| &mut e.authorize_v0_2, index)?;
                let facts = lease.store.data_mut().request_facts()?;
                let rep = facts.rep();
                let answer = func.call_async(&mut lease.store, (facts,)).await;
                lease.store.data_mut().request_done(rep);
                answer?
            }
        };
        validate::decision(decision, self.options.limits.max_output_bytes)
            .map_err(CallError::BadOutput)
    }

    async fn run_map_request(
        &self,
        lease: &mut Lease,
        index: &ComponentExportIndex,
        request: &HttpRequest,
    ) -> Result<Result<HttpRequest, MappingError>, CallError> {
        let func = lease
            .instance
            .get_typed_func::<(&HttpRequest,), (Result<HttpRequest, MappingError>,)>(
                &mut lease.store,
                index,
            )?;
        let (mapped,) = func.call_async(&mut lease.store, (request,)).await?;
        validate::mapped_request(mapped, self.options.limits.max_output_bytes)
            .map_err(CallError::BadOutput)
    }

    async fn run_map_response(
        &self,
        lease: &mut Lease,
        index: &ComponentExportIndex,
        response: &HttpResponse,
    ) -> Result<Result<HttpResponse, MappingError>, CallError> {
        let func = lease
            .instance
            .get_typed_func::<(&HttpResponse,), (Result<HttpResponse, MappingError>,)>(
                &mut lease.store,
                index,
            )?;
        let (mapped,) = func.call_async(&mut lease.store, (response,)).await?;
        validate::mapped_response(mapped, self.options.limits.max_output_bytes)
            .map_err(CallError::BadOutput)
    }

    async fn run_function(
        &self,
        lease: &mut Lease,
        index: &ComponentExportIndex,
        event_json: String,
    ) -> Result<FunctionOutput, CallError> {
        let func = lease.export(|e| &mut e.handle, index)?;
        let (result,) = func.call_async(&mut lease.store, (event_json,)).await?;
        let max = self.options.limits.max_output_bytes;
        match result {
            Ok(json) => {
                let answer = validate::proxy_response(&json, max).map_err(CallError::BadOutput)?;
                Ok(FunctionOutput { json, answer })
            }
            Err(mut message) => {
                validate::cap(&mut message, max);
                Err(CallError::Function(message))
            }
        }
    }

    /// One call with the probe's input, or a synthetic, empty one (for
    /// [`Plugin::check_report_with`]): what it answered, in a word.
    pub(crate) async fn run_probe(
        &self,
        lease: &mut Lease,
        probe: &Probe,
    ) -> Result<String, CallError> {
        match &self.exports {
            Exports::Authorizer { authorize, abi } => {
                let request = local_token_request(probe.token.as_deref().unwrap_or("probe"));
                let (_, decision) = self
                    .run_authorize(lease, authorize, *abi, Box::new(request))
                    .await;
                let decision = decision?;
                Ok(match decision.effect {
                    Effect::Allow => "allow",
                    Effect::Deny => "deny",
                    Effect::Unauthorized => "unauthorized",
                }
                .to_owned())
            }
            Exports::Mapper { map_request, .. } => {
                let request = HttpRequest {
                    method: "GET".to_owned(),
                    path: "/".to_owned(),
                    query: Vec::new(),
                    headers: Vec::new(),
                    body: Vec::new(),
                };
                let mapped = self.run_map_request(lease, map_request, &request).await?;
                Ok(if mapped.is_ok() { "mapped" } else { "refused" }.to_owned())
            }
            Exports::Function { handle } => {
                let event = probe.event.as_deref().unwrap_or(
                    r#"{"version":"2.0","routeKey":"GET /","rawPath":"/","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"GET","path":"/"},"requestId":"check-report"},"isBase64Encoded":false}"#,
                );
                let out = self.run_function(lease, handle, event.to_owned()).await?;
                Ok(match out.answer {
                    ProxyAnswer::Response(r) => format!("statusCode {}", r.status_code),
                    ProxyAnswer::Other => "JSON without statusCode".to_owned(),
                })
            }
            // Probing a handler would need a request it understands: instantiation only.
            Exports::Http(_) => Ok("not called".to_owned()),
        }
    }
}
