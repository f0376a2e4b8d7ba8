//! `wasi:http/proxy` components (`wasi:http/incoming-handler` exporters: spin-sdk,
//! `wasmtime serve` style): a fresh instance per request, the request and response
//! buffered (API Gateway's integrations are too), outbound HTTP only to allowed hosts.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpHooks, WasiHttpView};

use crate::error::{PluginError, PluginErrorKind};
use crate::plugin::Plugin;
use crate::state::HostState;

/// Outbound HTTP policy of one plugin: exact `host` or `host:port` matches only.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutboundPolicy {
    allowed: Arc<[String]>,
}

impl OutboundPolicy {
    pub(crate) fn new(allowed: &[String]) -> Self {
        OutboundPolicy {
            allowed: allowed.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    fn allows(&self, uri: &http::Uri) -> bool {
        let Some(authority) = uri.authority() else {
            return false;
        };
        let host = authority.host().to_ascii_lowercase();
        let with_port = authority.as_str().to_ascii_lowercase();
        self.allowed.iter().any(|a| *a == host || *a == with_port)
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        drop(fut);
        if !self.allows(request.uri()) {
            tracing::warn!(uri = %request.uri(), "plugin outbound request denied");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// How a `wasi:http` plugin is instantiated.
pub(crate) struct HttpHandler {
    pub(crate) pre: ProxyPre<HostState>,
}

impl HttpHandler {
    pub(crate) fn new(pre: wasmtime::component::InstancePre<HostState>) -> wasmtime::Result<Self> {
        Ok(HttpHandler {
            pre: ProxyPre::new(pre)?,
        })
    }
}

impl Plugin {
    /// Serve one HTTP request with a `wasi:http/incoming-handler` plugin, on a fresh
    /// instance. The request body is handed over whole and the response body collected
    /// (up to `max_output_bytes`); the deadline covers the whole exchange, outbound
    /// requests included. The guest's own error response is
    /// [`PluginErrorKind::FunctionError`].
    pub async fn handle_http(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, PluginError> {
        let Some(handler) = self.http_handler() else {
            return Err(self.error(
                PluginErrorKind::Config,
                format!(
                    "`handle_http` called on a plugin loaded as {}",
                    self.world()
                ),
            ));
        };
        let deadline = self.options().limits.deadline;
        let started = std::time::Instant::now();
        let served = tokio::time::timeout(deadline, self.serve_http(handler, request)).await;
        self.note_latency(started.elapsed());
        match served {
            Ok(result) => result,
            Err(_) => {
                self.note_discard(PluginErrorKind::Timeout);
                Err(self.error(
                    PluginErrorKind::Timeout,
                    format!("request exceeded its {deadline:?} deadline"),
                ))
            }
        }
    }

    async fn serve_http(
        &self,
        handler: &HttpHandler,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, PluginError> {
        let mut store = self.fresh_store()?;
        let host_err =
            |e: wasmtime::Error| self.error(PluginErrorKind::Host, crate::error::chain(&e));
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let request = request
            .map(|b| Full::new(b).map_err(|never| -> wasmtime_wasi_http::Error { match never {} }));
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(host_err)?;
        let outparam = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(host_err)?;

        // The guest may keep writing the body after it sets the response: run it
        // alongside the collection of the body. The store goes with the call, so a
        // guest that never sets a response closes the channel when it returns.
        let call = async move {
            let result = async {
                let proxy = handler.pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            }
            .await;
            result.map_err(|e| self.wasm_error(&e, &store))
        };
        let max = self.options().limits.max_output_bytes;
        let response = async move {
            let response: http::Response<HyperOutgoingBody> = match receiver.await {
                Ok(Ok(response)) => response,
                Ok(Err(code)) => return Err(guest_error(code)),
                Err(_) => return Err("the guest never set a response".to_owned()),
            };
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, max)
                .collect()
                .await
                .map_err(|e| format!("response body: {e}"))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body))
        };
        let (called, response) = tokio::join!(call, response);
        match (called, response) {
            (Err(e), _) => {
                self.note_discard(e.kind);
                Err(e)
            }
            (Ok(()), Ok(response)) => Ok(response),
            (Ok(()), Err(message)) => {
                let kind = if message.contains("length limit") {
                    PluginErrorKind::BadOutput
                } else {
                    PluginErrorKind::FunctionError
                };
                Err(self.error(kind, message))
            }
        }
    }
}

fn guest_error(code: ErrorCode) -> String {
    format!("the guest answered with an error: {code:?}")
}
