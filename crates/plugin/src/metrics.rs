//! Plain counters per plugin, and a call-latency histogram of atomic buckets; the gateway
//! exports them however it likes (read at scrape time, nothing is pushed).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::PluginErrorKind;

#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: AtomicU64,
    instantiations: AtomicU64,
    warmups: AtomicU64,
    reuses: AtomicU64,
    retired: AtomicU64,
    reclaimed: AtomicU64,
    discarded_trap: AtomicU64,
    discarded_timeout: AtomicU64,
    discarded_memory: AtomicU64,
    discarded_bad_output: AtomicU64,
    discarded_other: AtomicU64,
    latency: Latency,
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

    /// An instance created ahead of calls (deploy-time warm-up).
    pub(crate) fn warmed(&self) {
        bump(&self.warmups);
    }

    /// Instances created ahead of calls so far.
    pub(crate) fn warmups(&self) -> u64 {
        self.warmups.load(Ordering::Relaxed)
    }

    /// A call finished (whatever its outcome) after `took`.
    pub(crate) fn observe(&self, took: Duration) {
        self.latency.observe(took);
    }

    pub(crate) fn reused(&self) {
        bump(&self.reuses);
    }

    pub(crate) fn retired(&self) {
        bump(&self.retired);
    }

    /// An idle instance was dropped to free its slot for another plugin's call.
    pub(crate) fn reclaimed(&self) {
        bump(&self.reclaimed);
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
            warmups: get(&self.warmups),
            reuses: get(&self.reuses),
            retired: get(&self.retired),
            reclaimed: get(&self.reclaimed),
            discarded: Discards {
                trap: get(&self.discarded_trap),
                timeout: get(&self.discarded_timeout),
                memory_limit: get(&self.discarded_memory),
                bad_output: get(&self.discarded_bad_output),
                other: get(&self.discarded_other),
            },
            pool_idle,
            latency: self.latency.snapshot(),
        }
    }
}

/// Buckets of [`LatencyHistogram`]: upper bounds of 2^i µs for i in `0..BUCKETS`
/// (1 µs … 2^25 µs ≈ 33.6 s), plus one for anything slower.
pub const LATENCY_BUCKETS: usize = 26;

/// Atomic buckets: recording is a bucket index (a `leading_zeros`) and two relaxed adds.
#[derive(Debug, Default)]
struct Latency {
    buckets: [AtomicU64; LATENCY_BUCKETS + 1],
    sum_ns: AtomicU64,
}

impl Latency {
    fn observe(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        if let Some(b) = self.buckets.get(bucket_of(micros)) {
            bump(b);
        }
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    fn snapshot(&self) -> LatencyHistogram {
        let mut counts = [0; LATENCY_BUCKETS + 1];
        for (c, b) in counts.iter_mut().zip(&self.buckets) {
            *c = b.load(Ordering::Relaxed);
        }
        LatencyHistogram {
            counts,
            sum: Duration::from_nanos(self.sum_ns.load(Ordering::Relaxed)),
        }
    }
}

/// The bucket of a call that took `micros` µs: the smallest `i` with `micros <= 2^i`,
/// or [`LATENCY_BUCKETS`] (the overflow bucket).
fn bucket_of(micros: u64) -> usize {
    if micros <= 1 {
        return 0;
    }
    let ceil_log2 = 64 - (micros - 1).leading_zeros() as usize;
    ceil_log2.min(LATENCY_BUCKETS)
}

/// Call latencies of one plugin: per-bucket (not cumulative) counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatencyHistogram {
    /// `counts[i]`: calls that took at most [`LatencyHistogram::upper_bound`]`(i)` and
    /// more than the previous bound; the last one counts the calls slower than every
    /// bound.
    pub counts: [u64; LATENCY_BUCKETS + 1],
    /// Total time of the calls counted.
    pub sum: Duration,
}

impl LatencyHistogram {
    /// Upper bound of bucket `i` (`None` for the overflow bucket).
    pub fn upper_bound(i: usize) -> Option<Duration> {
        (i < LATENCY_BUCKETS).then(|| Duration::from_micros(1 << i))
    }

    /// Calls counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two_microseconds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 0);
        assert_eq!(bucket_of(2), 1);
        assert_eq!(bucket_of(3), 2);
        assert_eq!(bucket_of(4), 2);
        assert_eq!(bucket_of(5), 3);
        assert_eq!(bucket_of(1 << 25), 25);
        assert_eq!(bucket_of((1 << 25) + 1), LATENCY_BUCKETS);
        assert_eq!(bucket_of(u64::MAX), LATENCY_BUCKETS);
        for micros in [1u64, 7, 100, 1_000_000] {
            let i = bucket_of(micros);
            let bound = LatencyHistogram::upper_bound(i).map(|d| d.as_micros());
            assert!(
                bound.is_some_and(|b| u128::from(micros) <= b),
                "{micros} in {i}"
            );
        }
    }

    #[test]
    fn observations_land_in_their_bucket_and_sum() {
        let l = Latency::default();
        l.observe(Duration::from_micros(3));
        l.observe(Duration::from_micros(4));
        l.observe(Duration::from_secs(60));
        let h = l.snapshot();
        assert_eq!(h.counts[2], 2);
        assert_eq!(h.counts[LATENCY_BUCKETS], 1);
        assert_eq!(h.count(), 3);
        assert_eq!(h.sum, Duration::from_micros(60_000_007));
    }
}

/// A snapshot of one plugin's counters (monotonic since load, except `pool_idle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PluginMetrics {
    /// Calls started.
    pub calls: u64,
    /// Instances created on the call path (fresh calls, pool misses, and `check_report`
    /// probes): each one a call that paid for instantiation.
    pub instantiations: u64,
    /// Instances created ahead of calls by [`Plugin::prewarm`](crate::Plugin::prewarm)
    /// (deploy-time warm-up), not counted in `instantiations`.
    pub warmups: u64,
    /// Calls served by a warm pooled instance.
    pub reuses: u64,
    /// Pooled instances retired for age or use count, or dropped because the pool was
    /// full.
    pub retired: u64,
    /// Idle pooled instances dropped because a call (of any plugin) found the engine out
    /// of instance slots (`max_instances`) and took one back.
    pub reclaimed: u64,
    /// Instances thrown away after a failed call, by reason.
    pub discarded: Discards,
    /// Warm instances idle in the pool now.
    pub pool_idle: usize,
    /// How long calls took, acquiring the instance included.
    pub latency: LatencyHistogram,
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
