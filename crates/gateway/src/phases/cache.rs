//! The response cache: serve hits, coalesce concurrent misses (one integration call per
//! key), fill the cache as a 200 response streams out, and honour `Cache-Control:
//! max-age=0` per the stage's invalidation policy.
//!
//! Who may invalidate: with `require_authorization` (the default), a request that
//! presented a valid API key or was allowed by an authorizer; otherwise anyone.

use std::time::Duration;

use bytes::Bytes;
use causeway_cache::{CacheKey, InvalidationOutcome, KeyParam, Target, Ttl, requests_invalidation};
use http::{HeaderValue, Method, Response};

use crate::body::Body;
use crate::cache::{Fill, Miss, Tee};
use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::{Flow, Phase, Step};

pub(crate) struct CachePhase;

/// Response header saying how the cache treated the request.
pub(crate) const CACHE_HEADER: &str = "x-causeway-cache";

/// How long a follower waits for the leader before fetching itself.
const FOLLOWER_WAIT: Duration = Duration::from_secs(29);

fn key_of(ctx: &RequestCtx) -> Option<(CacheKey, Ttl)> {
    let stage = ctx.stage.as_ref()?;
    let cache = stage.cache.as_ref()?;
    let route = ctx.compiled_route()?;
    let enabled = route
        .cache
        .enabled
        .unwrap_or(ctx.parts.method == Method::GET);
    let ttl = route.cache.ttl_seconds.unwrap_or(cache.spec.ttl_seconds);
    if !enabled || ttl == 0 {
        return None;
    }
    let ttl = Ttl::from_secs(u64::from(ttl)).ok()?;
    let target = Target {
        api: stage.deployment.api_id(),
        stage: &stage.stage,
        method: ctx.parts.method.as_str(),
        resource: &route.resource_path,
    };
    let key = route.cache.key.key(
        &target,
        |p| match p {
            KeyParam::Path(n) => ctx.path_param(n).map(str::as_bytes),
            KeyParam::Query(n) => ctx.query_param(n).map(str::as_bytes),
            KeyParam::Header(n) => ctx.parts.headers.get(n.as_str()).map(HeaderValue::as_bytes),
        },
        ctx.principal_id.as_deref(),
    );
    Some((key, ttl))
}

fn hit(resp: &causeway_cache::CachedResponse) -> Response<Body> {
    let mut out = Response::new(Body::from(resp.body.clone()));
    *out.status_mut() = http::StatusCode::from_u16(resp.status).unwrap_or(http::StatusCode::OK);
    // Room for the cache status and request id headers added on the way out.
    let headers = out.headers_mut();
    headers.reserve(resp.headers.len() + 2);
    for (name, value) in &resp.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_maybe_shared(value.clone()),
        ) {
            headers.append(n, v);
        }
    }
    out
}

/// One look at the cache: answered (a hit, or the lead of a miss), or wait for the
/// request already filling this key.
enum Round {
    Done(Flow),
    Wait(crate::cache::Waiting, CacheKey),
}

impl Phase for CachePhase {
    fn name(&self) -> &'static str {
        "cache"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        // A hit or a miss that leads is decided here; only a follower waits.
        match self.first_round(ctx) {
            Ok(flow) => Step::Now(flow),
            Err((waiting, key, ttl)) => Step::Later(Box::pin(self.follow(ctx, waiting, key, ttl))),
        }
    }

    fn response(&self, ctx: &mut RequestCtx, resp: &mut Response<Body>) {
        if let Some(fill) = ctx.cache_fill.take()
            && resp.status() == http::StatusCode::OK
        {
            let headers = resp
                .headers()
                .iter()
                .filter(|(n, _)| n.as_str() != "x-amzn-requestid" && n.as_str() != CACHE_HEADER)
                .map(|(n, v)| (n.as_str().to_owned(), Bytes::copy_from_slice(v.as_bytes())))
                .collect();
            let body = std::mem::take(resp.body_mut());
            *resp.body_mut() = Body::Tee(Box::new(Tee::new(body, 200, headers, fill)));
        }
        // Any other fill is dropped here, which wakes the followers.
        if let Some(status) = ctx.cache_status {
            resp.headers_mut()
                .insert(CACHE_HEADER, HeaderValue::from_static(status));
        }
    }
}

impl CachePhase {
    /// Key, invalidation, then the first [`Round`]; `Err` when it has to wait.
    fn first_round(
        &self,
        ctx: &mut RequestCtx,
    ) -> Result<Flow, (crate::cache::Waiting, CacheKey, Ttl)> {
        let Some(cache) = ctx.stage.as_ref().and_then(|s| s.cache.clone()) else {
            return Ok(Flow::Continue);
        };
        let Some((key, ttl)) = key_of(ctx) else {
            return Ok(Flow::Continue);
        };
        let requested = ctx
            .parts
            .headers
            .get(http::header::CACHE_CONTROL)
            .is_some_and(|v| requests_invalidation(v.as_bytes()));
        let authorized = !cache.spec.require_authorization
            || ctx.api_key.is_some()
            || ctx.principal_id.is_some();
        match cache.policy.decide(requested, authorized) {
            InvalidationOutcome::Forbidden => {
                let msg = "Not authorized to invalidate the cache (Cache-Control: max-age=0)";
                return Ok(Flow::Fail(
                    GatewayError::new(ErrorKind::Forbidden).with_message(msg),
                ));
            }
            InvalidationOutcome::Invalidate => cache.invalidate(&key),
            InvalidationOutcome::IgnoreWithHeader => {
                ctx.cache_status = Some("invalidation-ignored")
            }
            InvalidationOutcome::Ignore | InvalidationOutcome::NotRequested => {}
        }
        // The first look is at the request's arrival; a follower's later looks, below,
        // at the time they happen.
        match round(ctx, &cache, key, ttl, ctx.received_at_ms) {
            Round::Done(flow) => Ok(flow),
            Round::Wait(waiting, key) => Err((waiting, key, ttl)),
        }
    }

    /// Wait for the leader, then look again: up to three rounds in all, then a miss of
    /// our own (a follower whose leader cached nothing tries to lead).
    async fn follow(
        &self,
        ctx: &mut RequestCtx,
        mut waiting: crate::cache::Waiting,
        mut key: CacheKey,
        ttl: Ttl,
    ) -> Flow {
        let Some(cache) = ctx.stage.as_ref().and_then(|s| s.cache.clone()) else {
            return Flow::Continue;
        };
        for more in [true, true, false] {
            let (rx, ticket) = waiting;
            if tokio::time::timeout(FOLLOWER_WAIT, rx).await.is_err() {
                cache.cancel(&key, ticket);
                break;
            }
            if !more {
                break;
            }
            match round(ctx, &cache, key, ttl, crate::throttle::now_ms()) {
                Round::Done(flow) => return flow,
                Round::Wait(w, k) => (waiting, key) = (w, k),
            }
        }
        count_miss(ctx);
        Flow::Continue
    }
}

/// One look: a hit answers, a miss with nobody filling leads (the response fills the
/// cache), else wait for the leader.
fn round(
    ctx: &mut RequestCtx,
    cache: &std::sync::Arc<crate::cache::StageCache>,
    key: CacheKey,
    ttl: Ttl,
    now_ms: u64,
) -> Round {
    if let Some(found) = cache.get(now_ms, &key) {
        if let Some(m) = route_metrics(ctx) {
            m.cache_hits.inc();
        }
        ctx.cache_status.get_or_insert("hit");
        return Round::Done(Flow::Respond(Box::new(hit(&found))));
    }
    match cache.begin(&key) {
        Miss::Lead => {
            count_miss(ctx);
            ctx.cache_fill = Some(Fill::new(cache.clone(), key, ttl));
            Round::Done(Flow::Continue)
        }
        Miss::Wait(rx, ticket) => Round::Wait((rx, ticket), key),
    }
}

fn route_metrics(ctx: &RequestCtx) -> Option<&crate::metrics::RouteMetrics> {
    let stage = ctx.stage.as_ref()?;
    stage.route_metrics.get(ctx.route?)
}

fn count_miss(ctx: &mut RequestCtx) {
    if let Some(m) = route_metrics(ctx) {
        m.cache_misses.inc();
    }
    ctx.cache_status.get_or_insert("miss");
}
