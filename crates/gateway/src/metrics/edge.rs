//! An edge node's own families: what it forwarded to each region and how long the region
//! took, what it answered itself (an authorizer's refusal at the edge), and the regions it
//! could not reach. Each region's handles are resolved once, when the edge starts.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::MillisBuckets;

/// Labels of a region's families.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct RegionLabels {
    /// The regional node's mesh id.
    pub region: String,
}

/// Labels of the answers an edge gives itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct StatusLabels {
    pub status: u16,
}

#[derive(Debug)]
pub(super) struct EdgeFamilies {
    forwarded: Family<RegionLabels, Counter>,
    unreachable: Family<RegionLabels, Counter>,
    latency: Family<RegionLabels, Histogram, MillisBuckets>,
    answered: Family<StatusLabels, Counter>,
}

/// One region's handles.
#[derive(Debug, Clone)]
pub struct EdgeRegionMetrics {
    forwarded: Counter,
    unreachable: Counter,
    latency: Histogram,
}

impl EdgeRegionMetrics {
    /// A request the region answered, `millis` after the edge sent it (to the head).
    pub fn forwarded(&self, millis: f64) {
        self.forwarded.inc();
        self.latency.observe(millis);
    }

    /// The region could not be reached; the next one is tried.
    pub fn unreachable(&self) {
        self.unreachable.inc();
    }
}

impl Default for EdgeFamilies {
    fn default() -> Self {
        EdgeFamilies {
            forwarded: Family::default(),
            unreachable: Family::default(),
            latency: Family::new_with_constructor(MillisBuckets),
            answered: Family::default(),
        }
    }
}

impl EdgeFamilies {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "EdgeForwardCount",
            "Requests an edge forwarded and the region answered",
            self.forwarded.clone(),
        );
        registry.register(
            "EdgeRegionUnreachableCount",
            "Times an edge could not reach a region and tried the next",
            self.unreachable.clone(),
        );
        registry.register(
            "EdgeRegionLatency",
            "Milliseconds from an edge sending a request to the region's response head",
            self.latency.clone(),
        );
        registry.register(
            "EdgeAnswerCount",
            "Requests an edge answered itself (an authorizer's refusal; 502/503 when no region answered)",
            self.answered.clone(),
        );
    }

    pub(super) fn region(&self, region: &str) -> EdgeRegionMetrics {
        let labels = RegionLabels {
            region: region.to_owned(),
        };
        EdgeRegionMetrics {
            forwarded: self.forwarded.get_or_create(&labels).clone(),
            unreachable: self.unreachable.get_or_create(&labels).clone(),
            latency: self.latency.get_or_create(&labels).clone(),
        }
    }

    pub(super) fn answered(&self, status: u16) {
        self.answered.get_or_create(&StatusLabels { status }).inc();
    }
}
