//! The built-in phases, in pipeline order: [`observe::Observe`] (metrics, access log),
//! [`route::Route`] (limits, host, stage, route), [`compress::Compress`], [`cors::Cors`], [`authorize::Authorize`],
//! [`inflate::Inflate`] (compressed request bodies), [`params::RequiredParams`], [`api_key::ApiKey`], [`throttle::ThrottlePhase`],
//! [`cache::CachePhase`], then the integration ([`integrate::Integrate`]), which always
//! answers.

pub(crate) mod api_key;
pub(crate) mod authorize;
pub(crate) mod cache;
pub(crate) mod compress;
pub(crate) mod cors;
pub(crate) mod decode;
pub(crate) mod edge;
pub(crate) mod inflate;
pub(crate) mod integrate;
pub(crate) mod observe;
pub(crate) mod params;
pub(crate) mod route;
pub(crate) mod throttle;
