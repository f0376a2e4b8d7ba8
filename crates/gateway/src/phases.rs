//! The built-in phases, in pipeline order: [`observe::Observe`] (metrics),
//! [`route::Route`] (limits, host, stage, route),
//! [`cors::Cors`], [`params::RequiredParams`], then the integration
//! ([`integrate::Integrate`]), which always answers.

pub(crate) mod api_key;
pub(crate) mod cors;
pub(crate) mod integrate;
pub(crate) mod observe;
pub(crate) mod params;
pub(crate) mod route;
pub(crate) mod throttle;
