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
use std::future::Future;
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

/// The running workers; dropping this stops them (the listener drops it once its
/// connections were drained), without waiting for their threads to end.
pub(super) struct Workers {
    handles: Vec<Handle>,
    stops: Vec<oneshot::Sender<()>>,
    next: AtomicUsize,
}

impl Workers {
    /// Start `n` workers; with none, connections are spawned on the calling runtime
    /// (`node.work_stealing`).
    pub(super) fn start(n: usize) -> std::io::Result<Workers> {
        let mut workers = Workers {
            handles: Vec::new(),
            stops: Vec::new(),
            next: AtomicUsize::new(0),
        };
        for _ in 0..n {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            workers.handles.push(runtime.handle().clone());
            workers.stops.push(stop);
            std::thread::Builder::new()
                .name(format!("causeway-worker-{id}"))
                .spawn(move || {
                    WORKER.with(|w| w.set(id));
                    let _ = runtime.block_on(stopped);
                })?;
        }
        Ok(workers)
    }

    /// No workers: connections are served on the listener's runtime.
    pub(super) fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Run `task` on the next worker (or on the calling runtime, with no workers).
    pub(super) fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let next = self.next.fetch_add(1, Ordering::Relaxed);
        match self
            .handles
            .get(next.checked_rem(self.handles.len()).unwrap_or(0))
        {
            Some(worker) => drop(worker.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
    }
}
