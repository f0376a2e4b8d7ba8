//! The one error type of the crate, and how Wasmtime's errors map onto it.

use std::fmt;

use crate::state::{DeadlineExceeded, MemoryLimitExceeded};

/// What went wrong with a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PluginErrorKind {
    /// The bytes are not a valid WebAssembly component (or could not be compiled).
    Compile,
    /// The component does not implement the world it was loaded as: an export is
    /// missing or has another type. The message names the export.
    WorldMismatch,
    /// The component imports something Causeway does not provide (e.g. `wasi:sockets`).
    MissingImport,
    /// The plugin's options are invalid for this engine (e.g. fuel on an engine
    /// without fuel metering), or a call does not fit the plugin's world.
    Config,
    /// The guest trapped: a panic, `unreachable`, an out-of-bounds access, a stack
    /// overflow, or a canonical-ABI violation.
    Trap,
    /// The call (instantiation included) ran past its wall-clock deadline.
    Timeout,
    /// The call used up its fuel budget.
    FuelExhausted,
    /// The guest tried to grow its memory (or a table) past its limit.
    MemoryLimit,
    /// The guest returned something the host refuses: over the output size limit or
    /// malformed (e.g. a function response that is not a proxy response).
    BadOutput,
    /// A function plugin returned an error (`err(message)`), like a Lambda function
    /// error. The instance stays healthy.
    FunctionError,
    /// The engine has no free instance slot (its pooling allocator is exhausted).
    Capacity,
    /// A host-side failure unrelated to the guest.
    Host,
}

impl PluginErrorKind {
    /// Short lower-case name, for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginErrorKind::Compile => "compile",
            PluginErrorKind::WorldMismatch => "world_mismatch",
            PluginErrorKind::MissingImport => "missing_import",
            PluginErrorKind::Config => "config",
            PluginErrorKind::Trap => "trap",
            PluginErrorKind::Timeout => "timeout",
            PluginErrorKind::FuelExhausted => "fuel_exhausted",
            PluginErrorKind::MemoryLimit => "memory_limit",
            PluginErrorKind::BadOutput => "bad_output",
            PluginErrorKind::FunctionError => "function_error",
            PluginErrorKind::Capacity => "capacity",
            PluginErrorKind::Host => "host",
        }
    }
}

impl fmt::Display for PluginErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin failed to load or to serve a call. Never a panic: every guest misbehaviour
/// ends up here, and the plugin keeps serving later calls.
///
/// Displays as ``plugin `hmac`: timeout: call exceeded its 1s deadline``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}`: {kind}: {message}")]
pub struct PluginError {
    /// What went wrong.
    pub kind: PluginErrorKind,
    /// The plugin's name, as given to [`PluginEngine::load`](crate::PluginEngine::load).
    pub plugin: String,
    /// Details for logs (not meant for API clients).
    pub message: String,
}

impl PluginError {
    pub(crate) fn new(kind: PluginErrorKind, plugin: &str, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            plugin: plugin.to_owned(),
            message: message.into(),
        }
    }

    /// Map an error out of Wasmtime (instantiation or a call) to a typed error.
    pub(crate) fn from_wasm(plugin: &str, err: &wasmtime::Error, memory_hit: bool) -> Self {
        let kind = classify(err, memory_hit);
        PluginError::new(kind, plugin, chain(err))
    }

    /// Map an error out of instantiation. Unlike a call's, an instantiation error with
    /// no trap code and none of our markers is the host's own failure (a memory image
    /// the kernel refused, an allocation the pool could not map), not the guest's: the
    /// guest only runs code there in its start function, and a trap in it carries a
    /// code. (A call's uncoded errors stay `Trap`: a guest misusing a resource handle
    /// gets one without a code.)
    pub(crate) fn from_instantiation(
        plugin: &str,
        err: &wasmtime::Error,
        memory_hit: bool,
    ) -> Self {
        let kind = match classify(err, memory_hit) {
            PluginErrorKind::Trap if err.downcast_ref::<wasmtime::Trap>().is_none() => {
                PluginErrorKind::Host
            }
            kind => kind,
        };
        PluginError::new(kind, plugin, chain(err))
    }
}

/// Whether `err` is the engine's pooling allocator out of instance slots.
pub(crate) fn out_of_slots(err: &wasmtime::Error) -> bool {
    err.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
}

/// Which kind of failure `err` is. Our own markers (returned by the epoch callback and
/// the resource limiter) come first, then Wasmtime's trap codes.
fn classify(err: &wasmtime::Error, memory_hit: bool) -> PluginErrorKind {
    if err.downcast_ref::<DeadlineExceeded>().is_some() {
        return PluginErrorKind::Timeout;
    }
    if err.downcast_ref::<MemoryLimitExceeded>().is_some() {
        return PluginErrorKind::MemoryLimit;
    }
    if out_of_slots(err) {
        return PluginErrorKind::Capacity;
    }
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::OutOfFuel) => PluginErrorKind::FuelExhausted,
        Some(wasmtime::Trap::Interrupt) => PluginErrorKind::Timeout,
        // A guest that saw `memory.grow` fail and then gave up (e.g. Rust's
        // `handle_alloc_error` aborting) traps after the limiter said no.
        _ if memory_hit => PluginErrorKind::MemoryLimit,
        _ => PluginErrorKind::Trap,
    }
}

/// The error chain on one line, outermost first, capped at 2 KiB.
pub(crate) fn chain(err: &wasmtime::Error) -> String {
    const MAX: usize = 2048;
    let mut out = String::new();
    for (i, cause) in err.chain().enumerate() {
        if i > 0 {
            out.push_str(": ");
        }
        out.push_str(&cause.to_string());
        if out.len() > MAX {
            break;
        }
    }
    truncate(&mut out, MAX);
    out
}

/// Cut `s` to at most `max` bytes on a char boundary, marking the cut.
pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    s.push('…');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncoded_instantiation_error_is_the_hosts() {
        let host = wasmtime::Error::msg("cannot add seals to the memfd: Device or resource busy");
        let err = PluginError::from_instantiation("p", &host, false);
        assert_eq!(err.kind, PluginErrorKind::Host);
        assert!(err.message.contains("memfd"), "{}", err.message);
        // The same error out of a call stays the guest's.
        assert_eq!(
            PluginError::from_wasm("p", &host, false).kind,
            PluginErrorKind::Trap
        );
    }

    #[test]
    fn a_trap_in_a_start_function_stays_a_trap() {
        let trap = wasmtime::Error::from(wasmtime::Trap::UnreachableCodeReached)
            .context("while running the start function");
        assert_eq!(
            PluginError::from_instantiation("p", &trap, false).kind,
            PluginErrorKind::Trap
        );
        let fuel = wasmtime::Error::from(wasmtime::Trap::OutOfFuel);
        assert_eq!(
            PluginError::from_instantiation("p", &fuel, false).kind,
            PluginErrorKind::FuelExhausted
        );
        let deadline = wasmtime::Error::new(DeadlineExceeded);
        assert_eq!(
            PluginError::from_instantiation("p", &deadline, false).kind,
            PluginErrorKind::Timeout
        );
        // A start function that gave up after the limiter refused to grow its memory.
        let refused = wasmtime::Error::msg("memory.grow refused");
        assert_eq!(
            PluginError::from_instantiation("p", &refused, true).kind,
            PluginErrorKind::MemoryLimit
        );
    }
}
