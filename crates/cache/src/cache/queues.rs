//! S3-FIFO's queues: two FIFOs of entry references and a ghost FIFO of evicted hashes.

use std::collections::VecDeque;

use hashbrown::HashMap;

use crate::key::KeyHasherBuilder;

/// A queue's reference to an entry: its hash and insertion id. The entry may since have been
/// removed (or replaced under a new id), which makes the reference stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ref {
    pub(crate) hash: u64,
    pub(crate) id: u64,
}

/// A FIFO of entry references with the bytes and count of its live entries.
#[derive(Debug, Default)]
pub(crate) struct Fifo {
    refs: VecDeque<Ref>,
    pub(crate) bytes: usize,
    pub(crate) live: usize,
    stale: usize,
}

impl Fifo {
    pub(crate) fn push(&mut self, r: Ref, size: usize) {
        self.refs.push_back(r);
        self.bytes += size;
        self.live += 1;
    }

    pub(crate) fn pop(&mut self) -> Option<Ref> {
        self.refs.pop_front()
    }

    /// Puts a popped, still-live entry back at the tail.
    pub(crate) fn requeue(&mut self, r: Ref) {
        self.refs.push_back(r);
    }

    /// A popped entry left this queue (evicted or moved).
    pub(crate) fn left(&mut self, size: usize) {
        self.bytes -= size;
        self.live -= 1;
    }

    /// A popped reference turned out stale.
    pub(crate) fn popped_stale(&mut self) {
        self.stale = self.stale.saturating_sub(1);
    }

    /// An entry was removed while its reference is still queued. Returns whether the queue
    /// should now be compacted (stale references outnumber live ones).
    #[must_use]
    pub(crate) fn removed_elsewhere(&mut self, size: usize) -> bool {
        self.bytes -= size;
        self.live -= 1;
        self.stale += 1;
        self.stale > 64 && self.stale > self.live
    }

    /// Drops stale references; `is_live` says which references still name a live entry.
    pub(crate) fn compact(&mut self, is_live: impl FnMut(&Ref) -> bool) {
        self.refs.retain(is_live);
        self.stale = 0;
    }

    /// References held, stale ones included.
    #[cfg(test)]
    pub(crate) fn refs_len(&self) -> usize {
        self.refs.len()
    }

    pub(crate) fn clear(&mut self) {
        *self = Fifo::default();
    }
}

/// Hashes of entries recently evicted from the small queue without a second access. A new
/// entry whose hash is here goes straight to the main queue.
#[derive(Debug, Default)]
pub(crate) struct Ghost {
    order: VecDeque<(u64, u64)>,
    /// Hash → sequence number of its latest ghost record.
    latest: HashMap<u64, u64, KeyHasherBuilder>,
    next_seq: u64,
}

impl Ghost {
    /// Remembers `hash`, keeping at most `bound` records.
    pub(crate) fn insert(&mut self, hash: u64, bound: usize) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push_back((hash, seq));
        self.latest.insert(hash, seq);
        while self.latest.len() > bound {
            let Some((old, old_seq)) = self.order.pop_front() else {
                break;
            };
            if self.latest.get(&old) == Some(&old_seq) {
                self.latest.remove(&old);
            }
        }
        // Superseded records can pile up in `order`; drop them once they dominate.
        if self.order.len() > 2 * self.latest.len() + 64 {
            let latest = &self.latest;
            self.order
                .retain(|(hash, seq)| latest.get(hash) == Some(seq));
        }
    }

    /// Whether `hash` was recently evicted; forgets it if so.
    pub(crate) fn take(&mut self, hash: u64) -> bool {
        self.latest.remove(&hash).is_some()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.latest.len()
    }

    pub(crate) fn clear(&mut self) {
        self.order.clear();
        self.latest.clear();
    }
}
