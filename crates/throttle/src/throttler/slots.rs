//! The bucket table: one slot per (level, key), created lazily and evicted when idle.

use std::hash::{Hash, Hasher};

use hashbrown::{Equivalent, HashMap};

use crate::{Level, Quota, TokenBucket};

/// Owned key of a slot: level plus one or two strings (stage; stage + route; API key).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SlotKey {
    level: Level,
    a: Box<str>,
    b: Box<str>,
}

/// Borrowed form of [`SlotKey`], for lookups without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotRef<'a> {
    pub(crate) level: Level,
    pub(crate) a: &'a str,
    pub(crate) b: &'a str,
}

// `SlotKey` and `SlotRef` must hash identically.
impl Hash for SlotKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_ref().hash(state);
    }
}

impl Hash for SlotRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.level.hash(state);
        self.a.hash(state);
        self.b.hash(state);
    }
}

impl Equivalent<SlotKey> for SlotRef<'_> {
    fn equivalent(&self, key: &SlotKey) -> bool {
        self.level == key.level && str_eq(self.a, &key.a) && str_eq(self.b, &key.b)
    }
}

/// `x == y`, without calling `memcmp` on empty strings: an empty `Box<str>` holds a dangling
/// pointer, and glibc's AVX-512 `memcmp` does a masked load from it even for length 0, which
/// some CPUs (AMD Zen 4) serve through a microcode assist costing ~100 ns per call.
fn str_eq(x: &str, y: &str) -> bool {
    x.len() == y.len() && (x.is_empty() || x.as_bytes() == y.as_bytes())
}

impl SlotKey {
    fn as_ref(&self) -> SlotRef<'_> {
        SlotRef {
            level: self.level,
            a: &self.a,
            b: &self.b,
        }
    }
}

impl SlotRef<'_> {
    fn to_owned_key(self) -> SlotKey {
        SlotKey {
            level: self.level,
            a: self.a.into(),
            b: self.b.into(),
        }
    }
}

/// One (level, key): its bucket, if that level limits this key, and for API keys, the plan's
/// quota. Slots without a bucket cache "no limit here" so the config is read once per key.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) bucket: Option<TokenBucket>,
    pub(crate) quota: Option<Quota>,
    pub(crate) touched_ms: u64,
}

impl Slot {
    /// Dropping the slot now loses nothing: idle long enough, and its bucket is full again.
    fn evictable(&self, now_ms: u64, idle_ms: u64) -> bool {
        now_ms.saturating_sub(self.touched_ms) >= idle_ms
            && self.bucket.as_ref().is_none_or(|b| b.is_full_at(now_ms))
    }
}

/// The slot table with its eviction policy.
#[derive(Debug)]
pub(crate) struct Slots {
    pub(crate) map: HashMap<SlotKey, Slot, ahash::RandomState>,
    /// Sweep when the table grows to this many slots.
    threshold: usize,
    max: usize,
}

/// Smallest growth trigger for a sweep.
const MIN_THRESHOLD: usize = 1024;

impl Slots {
    pub(crate) fn new(max: usize) -> Slots {
        Slots {
            map: HashMap::default(),
            threshold: MIN_THRESHOLD.min(max),
            max,
        }
    }

    /// Makes room for `n` more slots: a lossless sweep once the table doubled since the last
    /// one, and, only at the hard cap, dropping the least recently used half.
    pub(crate) fn reserve(&mut self, n: usize, now_ms: u64, idle_ms: u64) {
        if self.map.len() + n <= self.threshold {
            return;
        }
        self.sweep(now_ms, idle_ms);
        while !self.map.is_empty() && self.map.len() + n > self.max {
            self.drop_oldest_half();
        }
        self.threshold = (self.map.len() * 2).clamp(MIN_THRESHOLD.min(self.max), self.max);
    }

    /// Drops every slot that [`Slot::evictable`] says is lossless to drop.
    pub(crate) fn sweep(&mut self, now_ms: u64, idle_ms: u64) -> usize {
        let before = self.map.len();
        self.map.retain(|_, slot| !slot.evictable(now_ms, idle_ms));
        before - self.map.len()
    }

    /// Lossy last resort: keeps only slots touched after the median touch time (those
    /// dropped come back with full buckets, so this errs on the lenient side).
    fn drop_oldest_half(&mut self) {
        let mut touched: Vec<u64> = self.map.values().map(|s| s.touched_ms).collect();
        if touched.is_empty() {
            return;
        }
        let mid = touched.len() / 2;
        let (_, &mut median, _) = touched.select_nth_unstable(mid);
        self.map.retain(|_, slot| slot.touched_ms > median);
    }

    pub(crate) fn insert(&mut self, key: SlotRef<'_>, slot: Slot) {
        self.map.insert(key.to_owned_key(), slot);
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.threshold = MIN_THRESHOLD.min(self.max);
    }
}
