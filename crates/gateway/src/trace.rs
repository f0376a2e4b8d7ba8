//! OpenTelemetry traces: a server span per request (child of the client's W3C
//! `traceparent`, when it sends one) and a child span per pipeline phase, exported over
//! OTLP/HTTP by a batch processor on its own thread. The integration phase's span is what
//! HTTP integrations receive as their `traceparent`.

use std::borrow::Cow;
use std::time::Duration;

use causeway_model::TracingSection;
use http::{HeaderMap, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};

/// The node's tracer.
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    propagator: TraceContextPropagator,
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct TraceparentInjector(Option<HeaderValue>);

impl Injector for TraceparentInjector {
    fn set(&mut self, key: &str, value: String) {
        if key == "traceparent" {
            self.0 = HeaderValue::from_str(&value).ok();
        }
    }
}

impl Tracing {
    /// A tracer exporting to `cfg.otlp_endpoint`, or `None` when tracing is off.
    pub fn new(cfg: &TracingSection) -> Result<Option<Tracing>, String> {
        let Some(endpoint) = &cfg.otlp_endpoint else {
            return Ok(None);
        };
        let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(url)
            .with_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the OTLP exporter for {endpoint}: {e}"))?;
        let batch = BatchConfigBuilder::default()
            .with_scheduled_delay(Duration::from_millis(500))
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch)
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                cfg.sample_ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name(cfg.service_name.clone())
                    .build(),
            )
            .build();
        let tracer = provider.tracer("causeway-gateway");
        Ok(Some(Tracing {
            provider,
            tracer,
            propagator: TraceContextPropagator::new(),
        }))
    }

    /// The server span of a request, child of the client's `traceparent` if any.
    pub(crate) fn request_span(&self, headers: &HeaderMap, name: String) -> Context {
        let parent = self.propagator.extract(&HeaderExtractor(headers));
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .start_with_context(&self.tracer, &parent);
        parent.with_span(span)
    }

    /// A child span of `parent` for one phase.
    pub(crate) fn phase_span(&self, parent: &Context, name: &'static str) -> Context {
        let span = self
            .tracer
            .span_builder(Cow::Borrowed(name))
            .start_with_context(&self.tracer, parent);
        parent.with_span(span)
    }

    /// The `traceparent` header naming `cx`'s span.
    pub(crate) fn traceparent(&self, cx: &Context) -> Option<HeaderValue> {
        let mut inj = TraceparentInjector(None);
        self.propagator.inject_context(cx, &mut inj);
        inj.0
    }

    /// Flush what is buffered and stop exporting.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "flushing traces failed");
        }
    }
}

/// Finish a request span with the response status.
pub(crate) fn end_request(cx: &Context, status: u16, attributes: Vec<KeyValue>) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status),
    ));
    for kv in attributes {
        span.set_attribute(kv);
    }
    if status >= 500 {
        span.set_status(Status::error(format!("HTTP {status}")));
    }
    span.end();
}

/// Finish a phase span.
pub(crate) fn end_phase(cx: &Context, failed: Option<&str>) {
    let span = cx.span();
    if let Some(msg) = failed {
        span.set_status(Status::error(msg.to_owned()));
    }
    span.end();
}
