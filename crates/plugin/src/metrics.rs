//! Plain counters per plugin; the gateway exports them however it likes.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::PluginErrorKind;

#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: AtomicU64,
    instantiations: AtomicU64,
    reuses: AtomicU64,
    retired: AtomicU64,
    discarded_trap: AtomicU64,
    discarded_timeout: AtomicU64,
    discarded_memory: AtomicU64,
    discarded_bad_output: AtomicU64,
    discarded_other: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn call(&self) {
        bump(&self.calls);
    }

    pub(crate) fn instantiated(&self) {
        bump(&self.instantiations);
    }

    pub(crate) fn reused(&self) {
        bump(&self.reuses);
    }

    pub(crate) fn retired(&self) {
        bump(&self.retired);
    }

    /// An instance was thrown away because a call failed with `kind`.
    pub(crate) fn discarded(&self, kind: PluginErrorKind) {
        bump(match kind {
            PluginErrorKind::Trap => &self.discarded_trap,
            PluginErrorKind::Timeout | PluginErrorKind::FuelExhausted => &self.discarded_timeout,
            PluginErrorKind::MemoryLimit => &self.discarded_memory,
            PluginErrorKind::BadOutput => &self.discarded_bad_output,
            _ => &self.discarded_other,
        });
    }

    pub(crate) fn snapshot(&self, pool_idle: usize) -> PluginMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        PluginMetrics {
            calls: get(&self.calls),
            instantiations: get(&self.instantiations),
            reuses: get(&self.reuses),
            retired: get(&self.retired),
            discarded: Discards {
                trap: get(&self.discarded_trap),
                timeout: get(&self.discarded_timeout),
                memory_limit: get(&self.discarded_memory),
                bad_output: get(&self.discarded_bad_output),
                other: get(&self.discarded_other),
            },
            pool_idle,
        }
    }
}

/// A snapshot of one plugin's counters (monotonic since load, except `pool_idle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PluginMetrics {
    /// Calls started.
    pub calls: u64,
    /// Instances created (fresh calls, pool misses, and `check_report` probes).
    pub instantiations: u64,
    /// Calls served by a warm pooled instance.
    pub reuses: u64,
    /// Pooled instances retired for age or use count, or dropped because the pool was
    /// full.
    pub retired: u64,
    /// Instances thrown away after a failed call, by reason.
    pub discarded: Discards,
    /// Warm instances idle in the pool now.
    pub pool_idle: usize,
}

/// Instances discarded after a failure, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Discards {
    /// Guest traps.
    pub trap: u64,
    /// Deadline or fuel exhausted.
    pub timeout: u64,
    /// Memory (or table) limit hit.
    pub memory_limit: u64,
    /// Refused output.
    pub bad_output: u64,
    /// Anything else (host errors, capacity).
    pub other: u64,
}
