//! The warm-instance pool of [`InstancePolicy::Reuse`](crate::InstancePolicy::Reuse).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Instance, Lift, Lower, Resource, TypedFunc,
};

use crate::bindings::{AuthorizerDecision, AuthorizerRequest};
use crate::metrics::Counters;
use crate::options::ReusePolicy;
use crate::state::{HostState, RequestFacts};

/// An instance with its store, leased to one call at a time.
pub(crate) struct Lease {
    pub(crate) store: Store<HostState>,
    pub(crate) instance: Instance,
    /// Calls served, this one included (0 for an instance warmed ahead of calls).
    pub(crate) uses: u64,
    pub(crate) born: Instant,
    /// When the current call started (its instance acquisition included).
    pub(crate) started: Instant,
    pub(crate) exports: TypedExports,
    /// The thread whose call used the instance last ([`here`]), [`NO_HOME`] for an
    /// instance no call has used yet.
    pub(crate) home: usize,
}

/// [`Lease::home`] of an instance warmed ahead of calls.
pub(crate) const NO_HOME: usize = usize::MAX;

static NEXT_HOME: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static HOME: usize = NEXT_HOME.fetch_add(1, Ordering::Relaxed);
}

/// The calling thread's id for [`Lease::home`] (unique in the process, never [`NO_HOME`]).
pub(crate) fn here() -> usize {
    HOME.with(|h| *h)
}

impl Lease {
    /// Name the request this call is for in the guest's log lines.
    pub(crate) fn for_request(&mut self, request_id: &str) {
        self.store.data_mut().call.request_id.push_str(request_id);
    }

    /// The export at `index` with its types checked: kept in `slot` of the instance's
    /// [`TypedExports`] after the first call, so a reused instance checks it once.
    pub(crate) fn export<P, R>(
        &mut self,
        slot: fn(&mut TypedExports) -> &mut Option<TypedFunc<P, R>>,
        index: &ComponentExportIndex,
    ) -> wasmtime::Result<TypedFunc<P, R>>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        if let Some(func) = *slot(&mut self.exports) {
            return Ok(func);
        }
        let func = self.instance.get_typed_func(&mut self.store, index)?;
        *slot(&mut self.exports) = Some(func);
        Ok(func)
    }
}

/// An instance's exports, type-checked on their first call and kept for the instance's
/// next ones (a reused instance's call then skips the check, ≈ 2 k instructions).
#[derive(Default)]
pub(crate) struct TypedExports {
    pub(crate) authorize: Option<AuthorizeFn>,
    pub(crate) authorize_v0_2: Option<AuthorizeResourceFn>,
    pub(crate) handle: Option<HandleFn>,
}

/// `authorizer`'s `authorize`.
pub(crate) type AuthorizeFn = TypedFunc<(AuthorizerRequest,), (AuthorizerDecision,)>;
/// `authorizer`'s `authorize` in `causeway:plugin@0.2.0`: the request as a resource.
pub(crate) type AuthorizeResourceFn = TypedFunc<(Resource<RequestFacts>,), (AuthorizerDecision,)>;
/// `function`'s `handle`: the event JSON in, the proxy response JSON or an error out.
pub(crate) type HandleFn = TypedFunc<(String,), (Result<String, String>,)>;

/// An instance whose guest holds more request handles than this (it does not drop them:
/// componentize-js keeps them until collected) is retired after its call, long before
/// Wasmtime's 100,000 live handles per store would make a call trap.
pub(crate) const MAX_HELD_REQUESTS: u32 = 1024;

/// A `reuse` plugin's warm instances.
pub(crate) struct Pool {
    idle: Arc<Idle>,
    policy: ReusePolicy,
}

/// A pool's idle instances, most recently used last, with the plugin's counters: shared
/// with the engine's [`IdlePools`], which may take one back to free its instance slot.
pub(crate) struct Idle {
    leases: Mutex<Vec<Lease>>,
    counters: Arc<Counters>,
}

impl Idle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Lease>> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Pool {
    /// A pool for `policy`, registered with the engine's `pools`.
    pub(crate) fn new(policy: ReusePolicy, counters: Arc<Counters>, pools: &IdlePools) -> Self {
        let idle = Arc::new(Idle {
            leases: Mutex::new(Vec::with_capacity(policy.max_idle)),
            counters,
        });
        pools.register(&idle);
        Pool { idle, policy }
    }

    fn expired(&self, lease: &Lease, now: Instant) -> bool {
        lease.uses >= self.policy.max_uses
            || now.duration_since(lease.born) >= self.policy.max_age
            || lease.store.data().held_requests > MAX_HELD_REQUESTS
    }

    /// An idle instance that is still young enough, for a call on the calling thread: the
    /// one this thread used last if there is one (its linear memory and store are likely
    /// still in this core's caches, where another thread's would have to be fetched from
    /// that thread's core), else the newest not yet used by a call, else the newest.
    /// Expired ones met on the way are retired (dropped outside the lock). `now`: when the
    /// call started.
    pub(crate) fn take(&self, now: Instant) -> Option<Lease> {
        let here = here();
        let mut retired = Vec::new();
        let found = {
            let mut idle = self.idle.lock();
            let pick = idle
                .iter()
                .rposition(|l| l.home == here)
                .or_else(|| idle.iter().rposition(|l| l.home == NO_HOME));
            match pick.map(|i| idle.remove(i)) {
                Some(lease) if self.expired(&lease, now) => retired.push(lease),
                Some(lease) => return Some(lease),
                None => {}
            }
            loop {
                match idle.pop() {
                    Some(lease) if self.expired(&lease, now) => retired.push(lease),
                    other => break other,
                }
            }
        };
        for _ in retired.drain(..) {
            self.idle.counters.retired();
        }
        found
    }

    /// Return an instance after a successful call; it is retired instead when it is
    /// expired or the pool is full. True when it was kept.
    pub(crate) fn put(&self, lease: Lease, now: Instant) -> bool {
        if self.expired(&lease, now) {
            self.idle.counters.retired();
            return false;
        }
        let overflow = {
            let mut idle = self.idle.lock();
            if idle.len() < self.policy.max_idle {
                idle.push(lease);
                None
            } else {
                Some(lease)
            }
        };
        if overflow.is_some() {
            self.idle.counters.retired();
        }
        overflow.is_none()
    }

    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().len()
    }
}

/// Every `reuse` pool of one engine, weakly held. An idle instance keeps one of the
/// engine's instance slots (`max_instances`, warm pools included); when a call finds
/// none free, an idle instance of another plugin is worth less than the call, so the
/// call takes its slot back ([`IdlePools::reclaim`]) instead of failing.
#[derive(Default)]
pub(crate) struct IdlePools {
    pools: Mutex<Vec<Weak<Idle>>>,
}

impl IdlePools {
    fn register(&self, idle: &Arc<Idle>) {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        pools.retain(|p| p.strong_count() > 0);
        pools.push(Arc::downgrade(idle));
    }

    /// Drop the least recently used idle instance of the pool that holds the most
    /// (counted as reclaimed in its plugin's metrics), which frees its instance slot.
    /// False when no pool holds an idle instance.
    pub(crate) fn reclaim(&self) -> bool {
        let taken = {
            let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            let fullest = pools
                .iter()
                .filter_map(Weak::upgrade)
                .map(|idle| {
                    let len = idle.lock().len();
                    (len, idle)
                })
                .max_by_key(|(len, _)| *len);
            match fullest {
                Some((len, idle)) if len > 0 => {
                    let mut leases = idle.lock();
                    (!leases.is_empty()).then(|| (leases.remove(0), idle.clone()))
                }
                _ => None,
            }
        };
        // Dropped outside the locks: the store's drop gives the slot back.
        let Some((lease, idle)) = taken else {
            return false;
        };
        drop(lease);
        idle.counters.reclaimed();
        true
    }
}
