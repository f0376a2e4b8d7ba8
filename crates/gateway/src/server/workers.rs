//! Connection workers: one thread per core, each with its own single-threaded tokio
//! runtime (Pingora's "no-steal" runtime, nginx's worker processes).
//!
//! The listener accepts on the node's runtime and hands each connection, once, to the
//! next worker in turn; from then on the connection's task, its socket's readiness
//! events, its timers and the upstream connections it opens stay on that one thread. On
//! a work-stealing runtime a proxied request's wake-ups hop between threads (the client
//! socket readable on one, the upstream's answer on another), each hop a cross-core
//! wake-up and cold caches. The pool hands a worker back the upstream connections it
//! opened first ([`current`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(NOT_A_WORKER) };
}

/// Worker ids are unique in the process (two listeners' workers never share one).
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// [`current`] on a thread that is not a worker.
pub(crate) const NOT_A_WORKER: usize = usize::MAX;

/// The worker the calling thread is, or [`NOT_A_WORKER`].
pub(crate) fn current() -> usize {
    WORKER.with(Cell::get)
}

/// Make the calling thread worker `id` (tests of what depends on [`current`]).
#[cfg(test)]
pub(crate) fn pretend_to_be(id: usize) {
    WORKER.with(|w| w.set(id));
}

/// The running workers; dropping this stops them (their stop channels close), without
/// waiting for their threads to end. The listener drops it once its connections were
/// drained.
pub(super) struct Workers {
    handles: Vec<Handle>,
    _stops: Vec<oneshot::Sender<()>>,
    next: AtomicUsize,
}

impl Workers {
    /// Start `n` workers; with none, connections stay on the listener's runtime
    /// (`node.work_stealing`). `yield_when_idle`: see `node.yield_when_idle`.
    pub(super) fn start(n: usize, yield_when_idle: bool) -> std::io::Result<Workers> {
        let mut handles = Vec::with_capacity(n);
        let mut stops = Vec::with_capacity(n);
        for _ in 0..n {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let mut builder = tokio::runtime::Builder::new_current_thread();
            builder.enable_all();
            if yield_when_idle {
                // Called each time the worker is about to block in the event driver.
                builder.on_thread_park(std::thread::yield_now);
            }
            let runtime = builder.build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            handles.push(runtime.handle().clone());
            stops.push(stop);
            std::thread::Builder::new()
                .name(format!("causeway-worker-{id}"))
                .spawn(move || {
                    WORKER.with(|w| w.set(id));
                    // Ends when the sender is dropped.
                    let _ = runtime.block_on(stopped);
                })?;
        }
        Ok(Workers {
            handles,
            _stops: stops,
            next: AtomicUsize::new(0),
        })
    }

    /// The worker to take the next connection, in turn; `None` without workers.
    pub(super) fn next(&self) -> Option<&Handle> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        self.handles.get(turn.checked_rem(self.handles.len())?)
    }
}
