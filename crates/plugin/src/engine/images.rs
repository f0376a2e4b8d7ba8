//! Copy-on-write memory images, built when a plugin loads rather than on its first
//! instantiation.
//!
//! On Linux Wasmtime keeps a module's initial memory in a sealed `memfd`. Sealing it
//! against writes fails with `EBUSY` while the kernel still holds extra references to
//! the pages just written (page compaction or per-CPU LRU batches under memory
//! pressure); the kernel waits only ~70 ms for them before giving up. That is
//! transient, so the build is retried with backoff, and Wasmtime keeps nothing from a
//! failed attempt. Building here also means the first request never pays for copying
//! a language runtime's data segments (megabytes for JavaScript) into an image.

use std::time::Duration;

use wasmtime::component::Component;

/// Pauses between attempts: five retries, 1.2 s in all.
const BACKOFF: [Duration; 5] = [
    Duration::from_millis(40),
    Duration::from_millis(80),
    Duration::from_millis(160),
    Duration::from_millis(320),
    Duration::from_millis(640),
];

/// Build `component`'s memory images. Blocks (sleeps) between retries: call it where
/// compiling is allowed to block.
pub(super) fn build(name: &str, component: &Component) -> wasmtime::Result<()> {
    retry(name, &BACKOFF, std::thread::sleep, || {
        component.initialize_copy_on_write_image()
    })
}

/// Run `attempt` until it succeeds, pausing `backoff[i]` after failure `i`; the error
/// of the last attempt if every one failed.
fn retry<E: std::fmt::Display>(
    name: &str,
    backoff: &[Duration],
    mut pause: impl FnMut(Duration),
    mut attempt: impl FnMut() -> Result<(), E>,
) -> Result<(), E> {
    for (i, delay) in backoff.iter().enumerate() {
        match attempt() {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(plugin = name, attempt = i + 1, error = %e, "cannot build the plugin's memory image yet; retrying");
                pause(*delay);
            }
        }
    }
    attempt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transient_failure_is_retried_with_growing_pauses() {
        let mut failures = 2;
        let mut pauses = Vec::new();
        let result = retry(
            "p",
            &BACKOFF,
            |d| pauses.push(d),
            || {
                if failures == 0 {
                    return Ok(());
                }
                failures -= 1;
                Err("EBUSY")
            },
        );
        assert_eq!(result, Ok(()));
        assert_eq!(pauses, BACKOFF[..2]);
    }

    #[test]
    fn a_lasting_failure_is_reported_after_every_retry() {
        let mut attempts = 0;
        let mut paused = Duration::ZERO;
        let result = retry(
            "p",
            &BACKOFF,
            |d| paused += d,
            || {
                attempts += 1;
                Err(format!("attempt {attempts}"))
            },
        );
        assert_eq!(result, Err("attempt 6".to_owned()));
        assert_eq!(attempts, BACKOFF.len() + 1);
        assert_eq!(paused, BACKOFF.iter().sum());
    }
}
