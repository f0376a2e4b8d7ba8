//! Build errors.

/// One invalid or conflicting route key. [`Router::build`](crate::Router::build) returns all of
/// them at once, in input order.
///
/// Displays as: ``route #3 `GET /a/{x`: unbalanced `{` in segment `{x`; write path parameters
/// as `{name}` ...``
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route #{index} `{key}`: {reason}")]
pub struct RouteError {
    /// Position of the key in the input (its would-be `RouteId`).
    pub index: usize,
    /// The key as written.
    pub key: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}
