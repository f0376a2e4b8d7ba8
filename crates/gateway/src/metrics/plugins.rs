//! Per-plugin metrics, read from each live plugin's own counters when `/metrics` is
//! scraped (a prometheus-client [`Collector`]): the request path records nothing for
//! them beyond what the plugin host already counts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use causeway_plugin::{LatencyHistogram, Plugin, PluginMetrics};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Labels of the per-plugin families.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct PluginInstanceLabels {
    /// API id.
    pub api: String,
    /// The plugin's name in the API.
    pub plugin: String,
    /// The first 12 hex digits of the component's SHA-256 (which version).
    pub sha256: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DiscardLabels {
    api: String,
    plugin: String,
    sha256: String,
    reason: &'static str,
}

/// The plugins of the published deployments, exported on every scrape.
#[derive(Debug, Default)]
pub(crate) struct PluginCollector {
    live: Mutex<Vec<(PluginInstanceLabels, Arc<Plugin>)>>,
}

impl PluginCollector {
    /// Replace the exported plugins (at publish).
    pub(crate) fn set(&self, plugins: Vec<(PluginInstanceLabels, Arc<Plugin>)>) {
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = plugins;
    }

    /// One snapshot per label set; distinct plugins under the same labels (the same
    /// component loaded with other options, e.g. on two stages) are summed.
    fn snapshot(&self) -> BTreeMap<PluginInstanceLabels, PluginMetrics> {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let mut seen: Vec<*const Plugin> = Vec::with_capacity(live.len());
        let mut out: BTreeMap<PluginInstanceLabels, PluginMetrics> = BTreeMap::new();
        for (labels, plugin) in live.iter() {
            let ptr = Arc::as_ptr(plugin);
            if seen.contains(&ptr) {
                continue;
            }
            seen.push(ptr);
            let m = plugin.metrics();
            out.entry(labels.clone())
                .and_modify(|acc| add(acc, &m))
                .or_insert(m);
        }
        out
    }
}

fn add(acc: &mut PluginMetrics, m: &PluginMetrics) {
    acc.calls += m.calls;
    acc.instantiations += m.instantiations;
    acc.warmups += m.warmups;
    acc.reuses += m.reuses;
    acc.retired += m.retired;
    acc.reclaimed += m.reclaimed;
    acc.discarded.trap += m.discarded.trap;
    acc.discarded.timeout += m.discarded.timeout;
    acc.discarded.memory_limit += m.discarded.memory_limit;
    acc.discarded.bad_output += m.discarded.bad_output;
    acc.discarded.other += m.discarded.other;
    acc.pool_idle += m.pool_idle;
    for (a, b) in acc.latency.counts.iter_mut().zip(m.latency.counts) {
        *a += b;
    }
    acc.latency.sum += m.latency.sum;
}

type Field = fn(&PluginMetrics) -> u64;

const COUNTERS: [(&str, &str, Field); 6] = [
    ("PluginCallCount", "Plugin calls started", |m| m.calls),
    (
        "PluginInstantiationCount",
        "Plugin instances created on the request path (fresh calls, pool misses)",
        |m| m.instantiations,
    ),
    (
        "PluginWarmupCount",
        "Plugin instances created ahead of requests (deploy-time warm-up)",
        |m| m.warmups,
    ),
    (
        "PluginReuseCount",
        "Plugin calls served by a warm pooled instance",
        |m| m.reuses,
    ),
    (
        "PluginRetiredCount",
        "Pooled plugin instances retired for age or use count, or because the pool was full",
        |m| m.retired,
    ),
    (
        "PluginReclaimedCount",
        "Idle pooled plugin instances dropped to free an instance slot for a call",
        |m| m.reclaimed,
    ),
];

const REASONS: [(&str, Field); 5] = [
    ("trap", |m| m.discarded.trap),
    ("timeout", |m| m.discarded.timeout),
    ("memory_limit", |m| m.discarded.memory_limit),
    ("bad_output", |m| m.discarded.bad_output),
    ("other", |m| m.discarded.other),
];

impl Collector for PluginCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let all = self.snapshot();
        if all.is_empty() {
            return Ok(());
        }
        for (name, help, field) in COUNTERS {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (labels, m) in &all {
                ConstCounter::new(field(m)).encode(family.encode_family(labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "PluginDiscardCount",
            "Plugin instances thrown away after a failed call, by reason",
            None,
            MetricType::Counter,
        )?;
        for (labels, m) in &all {
            for (reason, field) in REASONS {
                let labels = DiscardLabels {
                    api: labels.api.clone(),
                    plugin: labels.plugin.clone(),
                    sha256: labels.sha256.clone(),
                    reason,
                };
                ConstCounter::new(field(m)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "PluginPoolIdle",
            "Warm plugin instances idle in the pool",
            None,
            MetricType::Gauge,
        )?;
        for (labels, m) in &all {
            let idle = i64::try_from(m.pool_idle).unwrap_or(i64::MAX);
            ConstGauge::new(idle).encode(family.encode_family(labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "PluginLatency",
            "Milliseconds per plugin call, getting an instance included",
            None,
            MetricType::Histogram,
        )?;
        for (labels, m) in &all {
            let h = &m.latency;
            family
                .encode_family(labels)?
                .encode_histogram::<Vec<(String, String)>>(
                    h.sum.as_secs_f64() * 1000.0,
                    h.count(),
                    &buckets_ms(h),
                    None,
                )?;
        }
        Ok(())
    }
}

/// (upper bound in ms, count in that bucket), the last bound `+Inf`.
fn buckets_ms(h: &LatencyHistogram) -> Vec<(f64, u64)> {
    h.counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let bound = LatencyHistogram::upper_bound(i)
                .map_or(f64::INFINITY, |d| d.as_secs_f64() * 1000.0);
            (bound, n)
        })
        .collect()
}
