//! Request ids: random-looking version 4 UUIDs, held inline (36 bytes, no allocation) and
//! copied once into the `x-amzn-requestid` header value.

use std::fmt;

use http::HeaderValue;

/// API Gateway style request id: a version 4 UUID in its 36-character text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId([u8; 36]);

thread_local! {
    /// Per-thread SplitMix64 state, seeded once from the OS-backed generator: request ids
    /// must be unique, not secret, and this keeps them off the CSPRNG's per-call cost.
    static ID_STATE: std::cell::Cell<u64> = std::cell::Cell::new(rand::random());
}

fn splitmix64(state: &std::cell::Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl RequestId {
    /// A fresh id, unique per request.
    pub fn new() -> RequestId {
        let (hi, lo) = ID_STATE.with(|st| (splitmix64(st), splitmix64(st)));
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&hi.to_le_bytes());
        b[8..].copy_from_slice(&lo.to_le_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        // Each byte's two hex digits from one table, at fixed places between the dashes.
        const HEX_PAIRS: [[u8; 2]; 256] = {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut t = [[0u8; 2]; 256];
            let mut i = 0;
            while i < 256 {
                t[i] = [HEX[i >> 4], HEX[i & 15]];
                i += 1;
            }
            t
        };
        const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        let mut out = [b'-'; 36];
        for (byte, at) in b.into_iter().zip(AT) {
            let [hi, lo] = HEX_PAIRS[usize::from(byte)];
            out[at] = hi;
            out[at + 1] = lo;
        }
        RequestId(out)
    }

    /// An id given as text (tests, replays): any 36 visible ASCII characters.
    pub fn parse(text: &str) -> Option<RequestId> {
        let bytes: [u8; 36] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_graphic)
            .then_some(RequestId(bytes))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        // Hex digits and dashes (or what `parse` let in): always ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id as a header value (one copy into the value's buffer).
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.0).unwrap_or(HeaderValue::from_static("-"))
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl std::ops::Deref for RequestId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::RequestId;

    #[test]
    fn request_ids_are_v4_uuids_and_unique() {
        let ids: std::collections::HashSet<RequestId> =
            (0..10_000).map(|_| RequestId::new()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let b = id.as_bytes();
            assert_eq!(b.len(), 36);
            assert_eq!(
                (b[8], b[13], b[14], b[18], b[23]),
                (b'-', b'-', b'4', b'-', b'-'),
                "{id}"
            );
            assert!(matches!(b[19], b'8' | b'9' | b'a' | b'b'), "{id}");
            assert!(
                b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-'),
                "{id}"
            );
            assert_eq!(id.header_value().as_bytes(), b, "{id}");
        }
    }

    #[test]
    fn only_36_visible_ascii_characters_parse() {
        let id = "c0ffee00-1234-4abc-8def-0123456789ab";
        assert_eq!(
            RequestId::parse(id).map(|r| r.to_string()),
            Some(id.to_owned())
        );
        assert!(RequestId::parse("short").is_none());
        assert!(RequestId::parse(&format!("{id}0")).is_none());
        assert!(RequestId::parse("c0ffee00-1234-4abc-8def-0123456789\r\n").is_none());
        assert!(RequestId::parse("c0ffee00 1234-4abc-8def-0123456789ab").is_none());
        assert!(RequestId::parse("c0ffee00-1234-4abc-8def-0123456789é").is_none());
    }
}
