//! `wasi:http/proxy` components (`wasi:http/incoming-handler` exporters: spin-sdk,
//! `wasmtime serve` style): a fresh instance per request, the request body handed over
//! whole, the response streamed as the guest writes it, outbound HTTP only to allowed
//! hosts.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
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
    /// Serve one HTTP request with a `wasi:http/incoming-handler` plugin and collect the
    /// whole response (up to `max_output_bytes`): [`Plugin::handle_http_streaming`] for
    /// callers that want the answer in one piece (`causeway plugin invoke`, tests).
    pub async fn handle_http(
        self: &Arc<Self>,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, PluginError> {
        let deadline = self.options().limits.deadline;
        let (parts, body) = self
            .handle_http_streaming(request, deadline)
            .await?
            .into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }

    /// Serve one HTTP request with a `wasi:http/incoming-handler` plugin, on a fresh
    /// instance, streaming the answer: this returns as soon as the guest sets its
    /// response, and the body yields what the guest writes as it writes it (a guest that
    /// writes for a long time, or server-sent events, reach the client as they go).
    ///
    /// The instance runs in a task of its own, within `deadline` (at most the plugin's
    /// own), which covers the whole exchange, outbound requests and body included. An
    /// error before the response is set is returned here (a guest error response is
    /// [`PluginErrorKind::FunctionError`]); one after it (a trap, the deadline, more than
    /// `max_output_bytes`) ends the body with that error instead of a clean end, so a cut
    /// answer is never passed on as a complete one.
    pub async fn handle_http_streaming(
        self: &Arc<Self>,
        request: http::Request<Bytes>,
        deadline: std::time::Duration,
    ) -> Result<http::Response<HttpBody>, PluginError> {
        let deadline = deadline.min(self.options().limits.deadline);
        let Some(handler) = self.http_handler() else {
            return Err(self.error(
                PluginErrorKind::Config,
                format!(
                    "`handle_http` called on a plugin loaded as {}",
                    self.world()
                ),
            ));
        };
        let pre = handler.pre.clone();
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

        let (done, called) = tokio::sync::oneshot::channel();
        let plugin = self.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let call = async {
                let mut reclaimed = 0;
                let proxy = loop {
                    match pre.instantiate_async(&mut store).await {
                        Ok(proxy) => break proxy,
                        // Out of instance slots and one taken back: again, in the same
                        // store (it holds the request).
                        Err(e) if plugin.slot_freed(&e, &mut reclaimed) => {}
                        Err(e) => return Err(e),
                    }
                };
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            };
            let result = match tokio::time::timeout(deadline, call).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(plugin.wasm_error(&e, &store)),
                Err(_) => Err(plugin.error(
                    PluginErrorKind::Timeout,
                    format!("request exceeded its {deadline:?} deadline"),
                )),
            };
            plugin.note_latency(started.elapsed());
            if let Err(e) = &result {
                plugin.note_discard(e.kind);
            }
            // The outcome first: the body sees its end when the store goes.
            let _ = done.send(result);
            drop(store);
        });

        let failed = |called: tokio::sync::oneshot::Receiver<Result<(), PluginError>>| async {
            match called.await {
                Ok(Err(e)) => e,
                _ => self.error(
                    PluginErrorKind::FunctionError,
                    "the guest never set a response",
                ),
            }
        };
        match receiver.await {
            Ok(Ok(response)) => {
                let (parts, body) = response.into_parts();
                let body = HttpBody {
                    inner: sync_wrapper::SyncWrapper::new(body),
                    left: self.options().limits.max_output_bytes,
                    called: Some(called),
                    plugin: self.clone(),
                };
                Ok(http::Response::from_parts(parts, body))
            }
            Ok(Err(code)) => Err(self.error(PluginErrorKind::FunctionError, guest_error(code))),
            Err(_) => Err(failed(called).await),
        }
    }
}

/// The body of a `wasi-http` plugin's response, as the guest writes it (see
/// [`Plugin::handle_http_streaming`]).
pub struct HttpBody {
    /// (Sync for the request context that holds it; only ever used through `&mut`.)
    inner: sync_wrapper::SyncWrapper<HyperOutgoingBody>,
    /// Bytes the guest may still write.
    left: usize,
    /// How the guest's call ended; awaited when the body ends.
    called: Option<tokio::sync::oneshot::Receiver<Result<(), PluginError>>>,
    plugin: Arc<Plugin>,
}

impl std::fmt::Debug for HttpBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBody")
            .field("plugin", &self.plugin.name())
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

impl http_body::Body for HttpBody {
    type Data = Bytes;
    type Error = PluginError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, PluginError>>> {
        use std::task::Poll;
        let this = &mut *self;
        if this.called.is_some() {
            match std::pin::Pin::new(this.inner.get_mut()).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    let len = frame.data_ref().map_or(0, Bytes::len);
                    if len > this.left {
                        this.called = None;
                        this.plugin.note_discard(PluginErrorKind::BadOutput);
                        return Poll::Ready(Some(Err(this.plugin.error(
                            PluginErrorKind::BadOutput,
                            format!(
                                "the response body is over the plugin's {} byte limit",
                                this.plugin.options().limits.max_output_bytes
                            ),
                        ))));
                    }
                    this.left -= len;
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.called = None;
                    return Poll::Ready(Some(Err(this.plugin.error(
                        PluginErrorKind::FunctionError,
                        format!("the guest's response body failed: {e:?}"),
                    ))));
                }
                // The guest finished the body, or its store went: the call says which.
                Poll::Ready(None) => {}
            }
        }
        let Some(called) = this.called.as_mut() else {
            return Poll::Ready(None);
        };
        let outcome = std::task::ready!(std::pin::Pin::new(called).poll(cx));
        this.called = None;
        match outcome {
            Ok(Err(e)) => Poll::Ready(Some(Err(e))),
            _ => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.called.is_none()
    }
}

fn guest_error(code: ErrorCode) -> String {
    format!("the guest answered with an error: {code:?}")
}
