//! The `date` field of answers, formatted once a second per thread (as hyper does).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT`: IMF-fixdate is always 29 bytes.
const LEN: usize = 29;

struct Cached {
    second: u64,
    text: [u8; LEN],
}

thread_local! {
    static NOW: RefCell<Cached> = const { RefCell::new(Cached { second: u64::MAX, text: [b' '; LEN] }) };
}

/// Call `f` with the current time as an HTTP date.
pub(super) fn with_now<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    NOW.with(|cell| {
        let Ok(mut cached) = cell.try_borrow_mut() else {
            return f(httpdate::fmt_http_date(now).as_bytes());
        };
        if cached.second != second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == LEN {
                cached.text.copy_from_slice(text.as_bytes());
                cached.second = second;
            } else {
                return f(text.as_bytes());
            }
        }
        f(&cached.text)
    })
}
