//! The I/O shell around `causeway-cache`: one cache per stage (kept across publishes while
//! the stage's deployment and cache settings are unchanged), single-flight waiting on
//! tokio, and the body that fills the cache as the response streams to the client.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use causeway_cache::{
    Cache, CacheKey, CachedResponse, InFlight, InvalidationPolicy, Role, Ticket, Ttl,
};
use causeway_model::{CacheInvalidation, StageCacheSpec};
use http_body::{Frame, SizeHint};
use tokio::sync::oneshot;

use crate::body::{Body, BoxError};
use crate::throttle::now_ms;

/// Largest response body that is cached.
pub(crate) const MAX_CACHED_BODY: usize = causeway_cache::MAX_ENTRY_BYTES;

#[derive(Debug)]
struct State {
    cache: Cache,
    flights: InFlight,
    waiters: HashMap<Ticket, oneshot::Sender<()>>,
}

/// A stage's response cache.
#[derive(Debug)]
pub(crate) struct StageCache {
    pub(crate) spec: StageCacheSpec,
    pub(crate) policy: InvalidationPolicy,
    state: Mutex<State>,
}

/// What a cache miss must do.
/// A follower's wait: woken when the leader's fill ends, with the ticket to cancel it.
pub(crate) type Waiting = (oneshot::Receiver<()>, Ticket);

pub(crate) enum Miss {
    /// Fetch, then fill (or abandon) the entry.
    Lead,
    /// Someone else is fetching: wait for this, then look again.
    Wait(oneshot::Receiver<()>, Ticket),
}

impl StageCache {
    pub(crate) fn new(spec: StageCacheSpec) -> StageCache {
        let capacity = usize::try_from(spec.capacity_bytes).unwrap_or(usize::MAX);
        let policy = match spec.invalidation {
            CacheInvalidation::FailWith403 => InvalidationPolicy::FailWith403,
            CacheInvalidation::SucceedWithResponseHeader => {
                InvalidationPolicy::SucceedWithResponseHeader
            }
            CacheInvalidation::SucceedWithoutResponseHeader => {
                InvalidationPolicy::SucceedWithoutResponseHeader
            }
        };
        let state = State {
            cache: Cache::new(capacity),
            flights: InFlight::new(),
            waiters: HashMap::new(),
        };
        StageCache {
            spec,
            policy,
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A live entry for `key` at `now_ms` (milliseconds since the Unix epoch).
    pub(crate) fn get(&self, now_ms: u64, key: &CacheKey) -> Option<Arc<CachedResponse>> {
        self.lock().cache.get(now_ms, key)
    }

    /// Drop the entry for `key`.
    pub(crate) fn invalidate(&self, key: &CacheKey) {
        self.lock().cache.invalidate(key);
    }

    /// (entries, bytes, capacity).
    pub(crate) fn stats(&self) -> (usize, usize, usize) {
        let st = self.lock();
        (st.cache.len(), st.cache.bytes(), st.cache.capacity())
    }

    /// Drop every entry.
    pub(crate) fn flush(&self) {
        self.lock().cache.flush();
    }

    /// After a miss: lead the fetch or wait for the leader.
    pub(crate) fn begin(&self, key: &CacheKey) -> Miss {
        let mut st = self.lock();
        match st.flights.begin(key) {
            Role::Leader => Miss::Lead,
            Role::Follower(ticket) => {
                let (tx, rx) = oneshot::channel();
                st.waiters.insert(ticket, tx);
                Miss::Wait(rx, ticket)
            }
        }
    }

    /// A follower stopped waiting.
    pub(crate) fn cancel(&self, key: &CacheKey, ticket: Ticket) {
        let mut st = self.lock();
        st.flights.cancel(key, ticket);
        st.waiters.remove(&ticket);
    }

    /// The leader is done: store `response` (if any) and wake the followers.
    pub(crate) fn complete(&self, key: &CacheKey, response: Option<(CachedResponse, Ttl)>) {
        let mut st = self.lock();
        if let Some((resp, ttl)) = response
            && let Err(e) = st.cache.insert(now_ms(), key.clone(), resp, ttl)
        {
            tracing::debug!(error = %e, "response not cached");
        }
        for ticket in st.flights.complete(key) {
            if let Some(tx) = st.waiters.remove(&ticket) {
                let _ = tx.send(());
            }
        }
    }
}

/// (API id, stage name).
type StageId = (String, String);

/// One stage's cache: its deployment, the cache, and the publish that last asked for it.
type Kept = (String, Arc<StageCache>, u64);

/// Caches of the published stages, so an unchanged stage keeps its entries across publishes
/// and a stage no longer published (deleted) lets its memory go.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    by_stage: Mutex<HashMap<StageId, Kept>>,
    publishes: std::sync::atomic::AtomicU64,
}

impl Caches {
    /// The cache for a stage serving deployment `deployment` with `spec`: the existing one
    /// if nothing changed, else a new (empty) one.
    pub(crate) fn for_stage(
        &self,
        api: &str,
        stage: &str,
        deployment: &str,
        spec: &StageCacheSpec,
    ) -> Arc<StageCache> {
        let publish = self.publishes.load(std::sync::atomic::Ordering::Relaxed);
        let mut map = self.by_stage.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (api.to_owned(), stage.to_owned());
        if let Some((dep, cache, asked)) = map.get_mut(&key)
            && dep == deployment
            && &cache.spec == spec
        {
            *asked = publish;
            return cache.clone();
        }
        let cache = Arc::new(StageCache::new(spec.clone()));
        map.insert(key, (deployment.to_owned(), cache.clone(), publish));
        cache
    }

    /// Starts a publish: the caches [`for_stage`](Self::for_stage) hands out until
    /// [`published`](Self::published) are the ones kept.
    pub(crate) fn publishing(&self) {
        self.publishes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Ends a publish: the caches of stages it did not ask for are dropped (requests
    /// still holding one finish with it).
    pub(crate) fn published(&self) {
        let publish = self.publishes.load(std::sync::atomic::Ordering::Relaxed);
        let mut map = self.by_stage.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, (_, _, asked)| *asked == publish);
    }

    /// (entries, bytes, capacity) of one stage's cache.
    pub(crate) fn stats(&self, api: &str, stage: &str) -> Option<(usize, usize, usize)> {
        let map = self.by_stage.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&(api.to_owned(), stage.to_owned()))
            .map(|(_, c, _)| c.stats())
    }

    /// Flush one stage's cache; false when the stage has none.
    pub(crate) fn flush(&self, api: &str, stage: &str) -> bool {
        let map = self.by_stage.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&(api.to_owned(), stage.to_owned())) {
            Some((_, c, _)) => {
                c.flush();
                true
            }
            None => false,
        }
    }
}

/// A leader's pending fill: completed exactly once — with a response, or (when dropped
/// unused) without one, so followers never wait on a leader that is gone.
pub(crate) struct Fill {
    cache: Arc<StageCache>,
    key: CacheKey,
    ttl: Ttl,
    done: bool,
}

impl Fill {
    pub(crate) fn new(cache: Arc<StageCache>, key: CacheKey, ttl: Ttl) -> Fill {
        Fill {
            cache,
            key,
            ttl,
            done: false,
        }
    }

    fn complete(mut self, response: Option<CachedResponse>) {
        self.done = true;
        self.cache
            .complete(&self.key, response.map(|r| (r, self.ttl)));
    }
}

impl Drop for Fill {
    fn drop(&mut self) {
        if !self.done {
            self.cache.complete(&self.key, None);
        }
    }
}

impl std::fmt::Debug for Fill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fill").field("ttl", &self.ttl).finish()
    }
}

/// A response body that streams through while keeping a copy; at the end the copy becomes
/// the cache entry. Too big, an error, or a client gone before the end: nothing is cached,
/// and waiting followers are woken either way.
pub struct Tee {
    inner: Body,
    buf: BytesMut,
    status: u16,
    headers: Vec<(String, Bytes)>,
    fill: Option<Fill>,
}

impl Tee {
    pub(crate) fn new(inner: Body, status: u16, headers: Vec<(String, Bytes)>, fill: Fill) -> Tee {
        Tee {
            inner,
            buf: BytesMut::new(),
            status,
            headers,
            fill: Some(fill),
        }
    }

    fn finish(&mut self, ok: bool) {
        let Some(fill) = self.fill.take() else { return };
        if !ok {
            return fill.complete(None);
        }
        let resp = CachedResponse {
            status: self.status,
            headers: std::mem::take(&mut self.headers),
            body: std::mem::take(&mut self.buf).freeze(),
        };
        fill.complete(Some(resp));
    }

    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = http_body::Body::poll_frame(Pin::new(&mut self.inner), cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if self.buf.len() + data.len() > MAX_CACHED_BODY {
                        self.finish(false);
                    } else if self.fill.is_some() {
                        self.buf.extend_from_slice(data);
                    }
                }
                // hyper stops polling once the body says it is complete.
                if http_body::Body::is_end_stream(&self.inner) {
                    self.finish(true);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish(false),
            Poll::Ready(None) => self.finish(true),
            Poll::Pending => {}
        }
        polled
    }

    pub(crate) fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    pub(crate) fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // Complete only if every byte went through; otherwise the client went away (or
        // the body was never read): cache nothing and let followers fetch.
        let complete = http_body::Body::is_end_stream(&self.inner);
        self.finish(complete);
    }
}

impl std::fmt::Debug for Tee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tee")
            .field("buffered", &self.buf.len())
            .finish()
    }
}
