//! The byte-bounded response store with per-entry TTLs and S3-FIFO eviction.

mod queues;

use std::sync::Arc;

use hashbrown::HashTable;

use crate::{CacheError, CacheKey, CachedResponse, Ttl};
use queues::{Fifo, Ghost, Ref};

/// Largest cacheable entry (key + headers + body): 1 MiB, as in API Gateway.
pub const MAX_ENTRY_BYTES: usize = 1 << 20;

/// Share of the capacity for the small (probationary) queue: 10%.
const SMALL_PERCENT: usize = 10;
/// Accesses remembered per entry (S3-FIFO's 2-bit frequency).
const MAX_FREQ: u8 = 3;
/// Fewest ghost records kept.
const GHOST_MIN: usize = 64;

/// Counters since the cache was created, and current occupancy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lookups that returned a response.
    pub hits: u64,
    /// Lookups that found nothing, or only an expired entry.
    pub misses: u64,
    /// Entries dropped to make room.
    pub evictions: u64,
    /// Entries dropped because their TTL ran out.
    pub expirations: u64,
    /// Entries dropped by [`Cache::invalidate`] (not counting [`Cache::flush`]).
    pub invalidations: u64,
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now (keys + headers + bodies); never above the capacity.
    pub bytes: usize,
}

impl Stats {
    /// Hits over lookups, 0 if there were none.
    pub fn hit_ratio(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}

#[derive(Debug)]
struct Entry {
    key: CacheKey,
    response: Arc<CachedResponse>,
    size: usize,
    expires_at_ms: u64,
    /// Accesses since insertion or the last pass through a queue's head, up to `MAX_FREQ`.
    freq: u8,
    in_main: bool,
    id: u64,
}

/// A response cache bounded by bytes (keys + headers + bodies), sans-IO: every call takes
/// `now_ms`, milliseconds since any fixed epoch. See the crate docs for the eviction policy.
#[derive(Debug)]
pub struct Cache {
    table: HashTable<Entry>,
    small: Fifo,
    main: Fifo,
    ghost: Ghost,
    capacity: usize,
    next_id: u64,
    stats: Stats,
}

impl Cache {
    /// An empty cache holding at most `capacity_bytes`.
    pub fn new(capacity_bytes: usize) -> Cache {
        Cache {
            table: HashTable::new(),
            small: Fifo::default(),
            main: Fifo::default(),
            ghost: Ghost::default(),
            capacity: capacity_bytes,
            next_id: 0,
            stats: Stats::default(),
        }
    }

    /// The fresh response for `key`, if any. An expired entry is removed and counts as a miss.
    pub fn get(&mut self, now_ms: u64, key: &CacheKey) -> Option<Arc<CachedResponse>> {
        let Ok(found) = self.table.find_entry(key.hash_value(), |e| e.key == *key) else {
            self.stats.misses += 1;
            return None;
        };
        if found.get().expires_at_ms <= now_ms {
            let (entry, _) = found.remove();
            self.detach(&entry);
            self.stats.expirations += 1;
            self.stats.misses += 1;
            return None;
        }
        let entry = found.into_mut();
        entry.freq = (entry.freq + 1).min(MAX_FREQ);
        self.stats.hits += 1;
        Some(Arc::clone(&entry.response))
    }

    /// Stores `response` under `key` for `ttl`, replacing any entry for `key` and evicting
    /// others as needed to stay within the capacity. Refuses a TTL of 0 and entries over
    /// [`MAX_ENTRY_BYTES`] or over the capacity, leaving the cache unchanged.
    pub fn insert(
        &mut self,
        now_ms: u64,
        key: CacheKey,
        response: CachedResponse,
        ttl: Ttl,
    ) -> Result<(), CacheError> {
        if ttl.secs() == 0 {
            return Err(CacheError::ZeroTtl);
        }
        let size = key.len() + response.size();
        let max = MAX_ENTRY_BYTES.min(self.capacity);
        if size > max {
            return Err(CacheError::EntryTooLarge { size, max });
        }
        self.remove(&key);
        while self.bytes() + size > self.capacity && self.evict_one(now_ms) {}

        let hash = key.hash_value();
        let in_main = self.ghost.take(hash);
        let id = self.next_id;
        self.next_id += 1;
        let entry = Entry {
            key,
            response: Arc::new(response),
            size,
            expires_at_ms: now_ms.saturating_add(ttl.millis()),
            freq: 0,
            in_main,
            id,
        };
        self.table
            .insert_unique(hash, entry, |e| e.key.hash_value());
        let queue = if in_main {
            &mut self.main
        } else {
            &mut self.small
        };
        queue.push(Ref { hash, id }, size);
        Ok(())
    }

    /// Drops the entry for `key`; returns whether there was one.
    pub fn invalidate(&mut self, key: &CacheKey) -> bool {
        let removed = self.remove(key);
        if removed {
            self.stats.invalidations += 1;
        }
        removed
    }

    /// Drops every entry (API Gateway's "flush stage cache"). Counters are kept.
    pub fn flush(&mut self) {
        self.table.clear();
        self.small.clear();
        self.main.clear();
        self.ghost.clear();
    }

    /// Counters and occupancy.
    pub fn stats(&self) -> Stats {
        Stats {
            entries: self.table.len(),
            bytes: self.bytes(),
            ..self.stats
        }
    }

    /// The byte capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes held (keys + headers + bodies).
    pub fn bytes(&self) -> usize {
        self.small.bytes + self.main.bytes
    }

    /// Entries held, expired ones not yet noticed included.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn remove(&mut self, key: &CacheKey) -> bool {
        match self.table.find_entry(key.hash_value(), |e| e.key == *key) {
            Ok(found) => {
                let (entry, _) = found.remove();
                self.detach(&entry);
                true
            }
            Err(_) => false,
        }
    }

    /// Accounts for an entry removed from the table while its queue reference stays behind.
    fn detach(&mut self, entry: &Entry) {
        let in_main = entry.in_main;
        let queue = if in_main {
            &mut self.main
        } else {
            &mut self.small
        };
        if queue.removed_elsewhere(entry.size) {
            let table = &self.table;
            queue.compact(|r| {
                table
                    .find(r.hash, |e| e.id == r.id)
                    .is_some_and(|e| e.in_main == in_main)
            });
        }
    }

    /// Evicts one entry, S3-FIFO style; `false` if the cache is empty.
    fn evict_one(&mut self, now_ms: u64) -> bool {
        let small_target = self.capacity / 100 * SMALL_PERCENT;
        if (self.small.bytes > small_target || self.main.bytes == 0) && self.evict_small(now_ms) {
            return true;
        }
        self.evict_main(now_ms) || self.evict_small(now_ms)
    }

    /// From the small queue's head: drops expired entries, promotes entries accessed since
    /// insertion to the main queue, and evicts the first one that was not (remembering it in
    /// the ghost queue).
    fn evict_small(&mut self, now_ms: u64) -> bool {
        while let Some(r) = self.small.pop() {
            let Ok(found) = self.table.find_entry(r.hash, |e| e.id == r.id) else {
                self.small.popped_stale();
                continue;
            };
            let (size, freq, expired) = {
                let e = found.get();
                (e.size, e.freq, e.expires_at_ms <= now_ms)
            };
            self.small.left(size);
            if expired {
                found.remove();
                self.stats.expirations += 1;
                return true;
            }
            if freq > 0 {
                let entry = found.into_mut();
                entry.in_main = true;
                entry.freq = 0;
                self.main.push(r, size);
                continue;
            }
            found.remove();
            self.stats.evictions += 1;
            let bound = self.ghost_bound();
            self.ghost.insert(r.hash, bound);
            return true;
        }
        false
    }

    /// From the main queue's head: entries accessed since their last pass get another
    /// round (one access fewer); the first one that was not is evicted.
    fn evict_main(&mut self, now_ms: u64) -> bool {
        while let Some(r) = self.main.pop() {
            let Ok(found) = self.table.find_entry(r.hash, |e| e.id == r.id) else {
                self.main.popped_stale();
                continue;
            };
            let (size, freq, expired) = {
                let e = found.get();
                (e.size, e.freq, e.expires_at_ms <= now_ms)
            };
            if freq > 0 && !expired {
                found.into_mut().freq = freq - 1;
                self.main.requeue(r);
                continue;
            }
            self.main.left(size);
            found.remove();
            if expired {
                self.stats.expirations += 1;
            } else {
                self.stats.evictions += 1;
            }
            return true;
        }
        false
    }

    /// Ghost records kept: about as many entries as the main queue can hold.
    fn ghost_bound(&self) -> usize {
        let entries = self.table.len().max(1);
        let average = (self.bytes() / entries).max(1);
        (self.capacity / average).max(GHOST_MIN)
    }

    /// Queue references held, stale ones included (for tests of bounded overhead).
    #[cfg(test)]
    pub(crate) fn queued_refs(&self) -> (usize, usize, usize) {
        (
            self.small.refs_len(),
            self.main.refs_len(),
            self.ghost.len(),
        )
    }
}
