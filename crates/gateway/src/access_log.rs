//! Access logs: one line per request, the stage's template over `$context` variables or a
//! default JSON object. Lines are formatted on the request path straight into a shared
//! per-destination buffer; a writer thread per destination swaps the buffer out and writes
//! it every [`FLUSH_EVERY`] (or sooner once [`FLUSH_AT`] bytes wait). No per-line wake-up,
//! channel hop or allocation. When [`MAX_BUFFERED`] bytes wait (the disk cannot keep up),
//! new lines are dropped and counted, so logging never stalls or bloats a request.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use causeway_model::{AccessLogSpec, Template};

use crate::context::{ContextVar, RequestCtx};

/// The writer writes what is buffered at least this often.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// The writer is woken early once this many bytes wait.
const FLUSH_AT: usize = 256 * 1024;
/// Lines arriving while this many bytes wait are dropped.
const MAX_BUFFERED: usize = 16 * 1024 * 1024;

/// One destination: the buffer the request path appends to and the writer's wake-up.
#[derive(Debug, Default)]
struct Shared {
    buf: Mutex<Vec<u8>>,
    wake: Condvar,
    closed: AtomicBool,
    dropped: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A destination's handle; the writer thread ends (after a last write) when every handle
/// is gone.
#[derive(Debug)]
pub(crate) struct Sink {
    shared: Arc<Shared>,
}

/// Destinations shared by every stage that logs to them.
#[derive(Debug, Default)]
pub(crate) struct Sinks {
    by_destination: Mutex<HashMap<String, Arc<Sink>>>,
}

impl Sinks {
    fn get(&self, destination: &str) -> Arc<Sink> {
        lock(&self.by_destination)
            .entry(destination.to_owned())
            .or_insert_with(|| Sink::spawn(destination))
            .clone()
    }
}

impl Sink {
    fn spawn(destination: &str) -> Arc<Sink> {
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
        let shared = Arc::new(Shared::default());
        let writer = shared.clone();
        if let Err(e) = std::thread::Builder::new()
            .name(format!("access-log {destination}"))
            .spawn(move || write_loop(&writer, out))
        {
            tracing::error!(error = %e, "cannot start the access-log writer");
        }
        Arc::new(Sink { shared })
    }

    /// Append one line (`line` has no newline yet).
    fn send(&self, line: &str) {
        let mut buf = lock(&self.shared.buf);
        if buf.len() + line.len() >= MAX_BUFFERED {
            drop(buf);
            let n = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "access log cannot keep up; lines dropped");
            }
            return;
        }
        let before = buf.len();
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        if before < FLUSH_AT && buf.len() >= FLUSH_AT {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

fn write_loop(shared: &Shared, out: Box<dyn Write + Send>) {
    let mut out = out;
    let mut spare = Vec::new();
    loop {
        let closed = {
            let buf = lock(&shared.buf);
            let (mut buf, _) = shared
                .wake
                .wait_timeout_while(buf, FLUSH_EVERY, |b| {
                    b.len() < FLUSH_AT && !shared.closed.load(Ordering::Acquire)
                })
                .unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut *buf, &mut spare);
            shared.closed.load(Ordering::Acquire)
        };
        if !spare.is_empty() {
            if out.write_all(&spare).and_then(|()| out.flush()).is_err() {
                tracing::warn!("writing the access log failed");
            }
            spare.clear();
        }
        if closed {
            return;
        }
    }
}

/// A stage's access logger.
#[derive(Debug)]
pub(crate) struct AccessLogger {
    format: Option<Template>,
    sink: Arc<Sink>,
}

/// Fields of the default line: the JSON text before the value, the `$context` variable,
/// and whether its value may need JSON escaping (numbers, addresses, times, methods and
/// request ids never do, and are written without a second pass).
const DEFAULT_FIELDS: &[(&str, ContextVar, bool)] = &[
    ("{\"requestId\":", ContextVar::RequestId, false),
    (",\"extendedRequestId\":", ContextVar::RequestId, false),
    (",\"ip\":", ContextVar::SourceIp, false),
    (",\"requestTime\":", ContextVar::RequestTime, false),
    (",\"httpMethod\":", ContextVar::HttpMethod, false),
    (",\"path\":", ContextVar::Path, true),
    (",\"resourcePath\":", ContextVar::ResourcePath, true),
    (",\"routeKey\":", ContextVar::RouteKey, true),
    (",\"stage\":", ContextVar::Stage, true),
    (",\"status\":", ContextVar::Status, false),
    (",\"protocol\":", ContextVar::Protocol, false),
    (",\"responseLength\":", ContextVar::ResponseLength, false),
    (",\"responseLatency\":", ContextVar::ResponseLatency, false),
    (
        ",\"integrationLatency\":",
        ContextVar::IntegrationLatency,
        false,
    ),
    (
        ",\"integrationStatus\":",
        ContextVar::IntegrationStatus,
        false,
    ),
    (",\"principalId\":", ContextVar::PrincipalId, true),
    (",\"errorMessage\":", ContextVar::ErrorMessage, true),
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
        thread_local! {
            /// The line, reused by every request on this thread.
            static LINE: RefCell<String> = const { RefCell::new(String::new()) };
        }
        LINE.with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                return;
            };
            let line = &mut *line;
            line.clear();
            match &self.format {
                Some(t) => crate::phases::integrate::render(ctx, t, line),
                None => default_line(ctx, line),
            }
            self.sink.send(line);
        });
    }
}

/// The `$context` variables of a WebSocket event's default line, in order.
const WEBSOCKET_FIELDS: &[(&str, &str)] = &[
    ("requestId", "requestId"),
    ("ip", "identity.sourceIp"),
    ("requestTime", "requestTime"),
    ("eventType", "eventType"),
    ("routeKey", "routeKey"),
    ("connectionId", "connectionId"),
    ("status", "status"),
    ("integrationLatency", "integrationLatency"),
    ("principalId", "authorizer.principalId"),
    ("errorMessage", "error.message"),
];

impl AccessLogger {
    /// One line for a WebSocket event (`CONNECT`, `MESSAGE`, `DISCONNECT`): the stage's
    /// format with `$context.NAME` from `context` and the stage's `variables`, or a
    /// default JSON object of [`WEBSOCKET_FIELDS`] (`null` for empty values).
    pub(crate) fn log_event(
        &self,
        context: &dyn Fn(&str, &mut String),
        variables: &std::collections::BTreeMap<String, String>,
    ) {
        use causeway_model::TemplatePart as P;
        let mut line = String::with_capacity(256);
        match &self.format {
            Some(t) => t.render(&mut line, |part, out| match part {
                P::StageVariable(n) => out.push_str(variables.get(n).map_or("", String::as_str)),
                P::Context(n) => context(n, out),
                P::PathParam(_) => {}
                P::Literal(s) => out.push_str(s),
            }),
            None => {
                let mut value = String::new();
                for (i, (field, var)) in WEBSOCKET_FIELDS.iter().enumerate() {
                    line.push(if i == 0 { '{' } else { ',' });
                    line.push('"');
                    line.push_str(field);
                    line.push_str("\":");
                    value.clear();
                    context(var, &mut value);
                    if value.is_empty() {
                        line.push_str("null");
                    } else {
                        line.push('"');
                        crate::json::escaped(&mut line, &value);
                        line.push('"');
                    }
                }
                line.push('}');
            }
        }
        self.sink.send(&line);
    }
}

/// The default line: a JSON object of [`DEFAULT_FIELDS`], `null` for empty values.
fn default_line(ctx: &RequestCtx, line: &mut String) {
    for &(prefix, var, escape) in DEFAULT_FIELDS {
        line.push_str(prefix);
        line.push('"');
        let start = line.len();
        ctx.push_var(var, line);
        if line.len() == start {
            line.truncate(start - 1);
            line.push_str("null");
            continue;
        }
        // Written in place; escaped afterwards only when it holds a byte that needs it
        // (rare: a quote, a backslash or a control character in a path or a message).
        if escape && crate::json::needs_escaping(&line.as_bytes()[start..]) {
            let raw = line.split_off(start);
            crate::json::escaped(line, &raw);
        }
        line.push('"');
    }
    line.push('}');
}

#[cfg(test)]
mod tests {
    use crate::body::Body;
    use crate::context::{Peer, RequestCtx};

    fn line_of(ctx: &RequestCtx) -> serde_json::Value {
        let mut line = String::new();
        super::default_line(ctx, &mut line);
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    #[test]
    fn default_line_is_json_with_nulls_and_escapes() {
        let (parts, ()) = http::Request::get("/prod/pets?x=1")
            .body(())
            .expect("request")
            .into_parts();
        let peer = Peer::new("127.0.0.7:4000".parse().expect("addr"));
        let mut ctx = RequestCtx::new(parts, Body::Empty, &peer, "h".into());
        let v = line_of(&ctx);
        assert_eq!(v["requestId"], ctx.request_id.as_str());
        assert_eq!(v["ip"], "127.0.0.7");
        assert_eq!(v["httpMethod"], "GET");
        assert_eq!(v["path"], "/prod/pets");
        assert!(
            v["principalId"].is_null() && v["errorMessage"].is_null(),
            "{v}"
        );

        // Values that need escaping come out as the same strings.
        let tricky = "a \"quoted\" \\ back\tslash\u{1}";
        ctx.principal_id = Some(tricky.into());
        ctx.error = Some(("BAD", format!("line\n{tricky}")));
        let v = line_of(&ctx);
        assert_eq!(v["principalId"], tricky);
        assert_eq!(v["errorMessage"], format!("line\n{tricky}"));
        assert_eq!(v["path"], "/prod/pets");
    }
}
