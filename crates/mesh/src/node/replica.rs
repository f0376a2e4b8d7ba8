//! The replicated last-writer-wins map and what this node knows of each origin's writes.

use hashbrown::HashMap;

use crate::frame::Entry;

pub(crate) type Map<V> = HashMap<String, V, ahash::RandomState>;

/// Per origin node, a version.
pub(crate) type Versions = Vec<(String, u64)>;

#[derive(Debug, Default)]
pub(crate) struct Replica {
    entries: Map<Entry>,
    /// Per origin: every entry it wrote up to this version has been seen (applied, or
    /// superseded by a newer write of the same key).
    known: Map<u64>,
    /// Per origin: the newest version among the entries ever held (an upper bound of the
    /// present ones), so a peer that has seen it all is answered without a scan.
    newest: Map<u64>,
    /// Above every version seen, so a local write wins over what it saw.
    clock: u64,
    /// This node's previous write's version (the `prev` of its next push).
    own_prev: u64,
}

impl Replica {
    pub(crate) fn new() -> Replica {
        Replica::default()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// A local write at wall-clock time `wall` (µs): returns the entry and the `prev` to
    /// push it with. The version is a hybrid logical clock: the wall clock unless this node
    /// has seen a newer version, so the last write in real time wins across nodes whose
    /// clocks agree, and causality holds when they do not.
    pub(crate) fn write(
        &mut self,
        me: &str,
        key: String,
        value: Option<Vec<u8>>,
        wall: u64,
    ) -> (Entry, u64) {
        self.clock = (self.clock + 1).max(wall);
        let entry = Entry {
            key,
            origin: me.to_owned(),
            version: self.clock,
            value,
        };
        let prev = std::mem::replace(&mut self.own_prev, self.clock);
        self.known.insert(me.to_owned(), self.clock);
        self.note_newest(me, self.clock);
        self.entries.insert(entry.key.clone(), entry.clone());
        (entry, prev)
    }

    /// Applies a replicated entry; true when it changed the map.
    pub(crate) fn apply(&mut self, me: &str, entry: &Entry) -> bool {
        self.clock = self.clock.max(entry.version);
        if entry.origin == me {
            // Our own write, echoed back (or from before a restart): ours is as new.
            return false;
        }
        match self.entries.get_mut(&entry.key) {
            Some(current) if !entry.supersedes(current) => false,
            Some(current) => {
                current.clone_from(entry);
                self.note_newest(&entry.origin, entry.version);
                true
            }
            None => {
                self.entries.insert(entry.key.clone(), entry.clone());
                self.note_newest(&entry.origin, entry.version);
                true
            }
        }
    }

    fn note_newest(&mut self, origin: &str, version: u64) {
        let newest = self.newest.entry_ref(origin).or_insert(0);
        *newest = (*newest).max(version);
    }

    /// A push from `entry.origin`: knowledge advances only when nothing was missed.
    pub(crate) fn note_push(&mut self, prev: u64, entry: &Entry) {
        let known = self.known.entry_ref(entry.origin.as_str()).or_insert(0);
        // `prev <= known`: every write before this one is known (the origin wrote nothing
        // between `prev` and this entry).
        if prev <= *known && *known < entry.version {
            *known = entry.version;
        }
    }

    /// Knowledge vouched for by a peer's delta.
    pub(crate) fn note_upto(&mut self, origin: &str, version: u64) {
        let known = self.known.entry_ref(origin).or_insert(0);
        *known = (*known).max(version);
    }

    pub(crate) fn digest(&self) -> Versions {
        let mut digest: Vec<_> = self.known.iter().map(|(o, &v)| (o.clone(), v)).collect();
        digest.sort_unstable();
        digest
    }

    /// What a peer with `digest` lacks: at most `cap` entries, oldest first, and per origin
    /// the version up to which they complete its knowledge. `None` when it lacks nothing.
    pub(crate) fn delta_for(
        &self,
        digest: &[(String, u64)],
        cap: usize,
    ) -> Option<(Versions, Vec<Entry>)> {
        let theirs: Map<u64> = digest.iter().cloned().collect();
        let seen = |origin: &str| theirs.get(origin).copied().unwrap_or(0);
        // The common case, a peer that is up to date: nothing to scan for.
        if self.newest.iter().all(|(o, &v)| v <= seen(o))
            && self.known.iter().all(|(o, &v)| v <= seen(o))
        {
            return None;
        }
        let mut missing: Vec<&Entry> = self
            .entries
            .values()
            .filter(|e| e.version > seen(&e.origin))
            .collect();
        missing.sort_unstable_by(|a, b| (a.version, &a.origin).cmp(&(b.version, &b.origin)));
        let left_out = missing.split_off(missing.len().min(cap));
        let mut upto: Versions = self
            .known
            .iter()
            .filter(|&(origin, &known)| known > seen(origin))
            .map(|(origin, &known)| {
                let first_left_out = left_out
                    .iter()
                    .filter(|e| &e.origin == origin)
                    .map(|e| e.version)
                    .min();
                let upto = first_left_out.map_or(known, |v| known.min(v - 1));
                (origin.clone(), upto)
            })
            .filter(|&(ref origin, upto)| upto > seen(origin))
            .collect();
        if missing.is_empty() && upto.is_empty() {
            return None;
        }
        upto.sort_unstable();
        Some((upto, missing.into_iter().cloned().collect()))
    }
}
