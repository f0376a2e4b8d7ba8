//! Access logs: one line per request, the stage's template over `$context` variables or a
//! default JSON object. Lines are formatted on the request path and handed to a writer
//! thread per destination through a bounded queue; when the queue is full the line is
//! dropped and counted, so logging can never stall a request.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use causeway_model::{AccessLogSpec, Template};

use crate::context::RequestCtx;

/// Lines waiting per destination before new ones are dropped.
const QUEUE: usize = 16 * 1024;

/// One destination's queue.
#[derive(Debug)]
pub(crate) struct Sink {
    tx: SyncSender<String>,
    dropped: AtomicU64,
}

/// Destinations shared by every stage that logs to them.
#[derive(Debug, Default)]
pub(crate) struct Sinks {
    by_destination: Mutex<HashMap<String, Arc<Sink>>>,
}

impl Sinks {
    fn get(&self, destination: &str) -> Arc<Sink> {
        let mut map = self
            .by_destination
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.entry(destination.to_owned())
            .or_insert_with(|| Sink::spawn(destination))
            .clone()
    }
}

impl Sink {
    fn spawn(destination: &str) -> Arc<Sink> {
        let (tx, rx) = sync_channel(QUEUE);
        let out: Box<dyn Write + Send> = match destination {
            "stdout" => Box::new(std::io::stdout()),
            "stderr" => Box::new(std::io::stderr()),
            path => match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => Box::new(f),
                Err(e) => {
                    tracing::error!(path, error = %e, "cannot open the access log; its lines are discarded");
                    Box::new(std::io::sink())
                }
            },
        };
        let name = format!("access-log {destination}");
        if let Err(e) = std::thread::Builder::new()
            .name(name)
            .spawn(move || write_loop(&rx, out))
        {
            tracing::error!(error = %e, "cannot start the access-log writer");
        }
        Arc::new(Sink {
            tx,
            dropped: AtomicU64::new(0),
        })
    }

    fn send(&self, line: String) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(line) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "access log cannot keep up; lines dropped");
            }
        }
    }
}

fn write_loop(rx: &Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(line) = rx.recv() {
        let mut ok = writeln!(out, "{line}").is_ok();
        // Drain what is already queued, then flush once.
        while let Ok(line) = rx.try_recv() {
            ok &= writeln!(out, "{line}").is_ok();
        }
        if !(ok && out.flush().is_ok()) {
            tracing::warn!("writing the access log failed");
        }
    }
}

/// A stage's access logger.
#[derive(Debug)]
pub(crate) struct AccessLogger {
    format: Option<Template>,
    sink: Arc<Sink>,
}

/// Fields of the default line: (JSON key, `$context` variable).
const DEFAULT_FIELDS: &[(&str, &str)] = &[
    ("requestId", "requestId"),
    ("extendedRequestId", "extendedRequestId"),
    ("ip", "identity.sourceIp"),
    ("requestTime", "requestTime"),
    ("httpMethod", "httpMethod"),
    ("path", "path"),
    ("resourcePath", "resourcePath"),
    ("routeKey", "routeKey"),
    ("stage", "stage"),
    ("status", "status"),
    ("protocol", "protocol"),
    ("responseLength", "responseLength"),
    ("responseLatency", "responseLatency"),
    ("integrationLatency", "integrationLatency"),
    ("integrationStatus", "integrationStatus"),
    ("principalId", "authorizer.principalId"),
    ("errorMessage", "error.message"),
];

impl AccessLogger {
    pub(crate) fn new(spec: &AccessLogSpec, sinks: &Sinks) -> AccessLogger {
        // The format was validated with the deployment; a bad one falls back to the default.
        let format = spec
            .format
            .as_deref()
            .and_then(|f| Template::parse(f, false).ok());
        AccessLogger {
            format,
            sink: sinks.get(&spec.destination),
        }
    }

    pub(crate) fn log(&self, ctx: &RequestCtx) {
        let mut line = String::with_capacity(384);
        match &self.format {
            Some(t) => crate::phases::integrate::render(ctx, t, &mut line),
            None => {
                let mut obj = serde_json::Map::with_capacity(DEFAULT_FIELDS.len());
                let mut value = String::new();
                for (key, var) in DEFAULT_FIELDS {
                    value.clear();
                    ctx.context_value(var, &mut value);
                    let v = if value.is_empty() {
                        serde_json::Value::Null
                    } else {
                        serde_json::Value::String(value.clone())
                    };
                    obj.insert((*key).to_owned(), v);
                }
                line = serde_json::Value::Object(obj).to_string();
            }
        }
        self.sink.send(line);
    }
}
