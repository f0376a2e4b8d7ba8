//! Cache keys: which request properties select a cached response.

use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::OnceLock;

use smallvec::SmallVec;

/// A request property that takes part in the cache key (API Gateway's cache key parameters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyParam {
    /// A path parameter, by name (`{petId}` → `Path("petId")`).
    Path(String),
    /// A query string parameter, by name (case-sensitive).
    Query(String),
    /// A request header, by name (case-insensitive; stored lowercase).
    Header(String),
}

impl KeyParam {
    fn tag(&self) -> (u8, &str) {
        match self {
            KeyParam::Path(name) => (b'P', name),
            KeyParam::Query(name) => (b'Q', name),
            KeyParam::Header(name) => (b'H', name),
        }
    }
}

/// The method being cached: which API, stage, method and resource (route template, e.g.
/// `/pets/{petId}`) a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// API id.
    pub api: &'a str,
    /// Stage name.
    pub stage: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Resource path template.
    pub resource: &'a str,
}

/// How one method builds its cache keys: its key parameters, in a canonical order, and
/// whether responses are shared between authorizer principals.
///
/// Safe by default: the principal is part of the key unless
/// [`shared_across_principals`](Self::shared_across_principals) opts out, so one caller's
/// response is never served to another unless the method says it may be.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeySpec {
    params: Vec<KeyParam>,
    shared: bool,
}

impl KeySpec {
    /// A spec keyed on `params` (header names lowercased; sorted and deduplicated, so the
    /// order they are configured in does not matter).
    pub fn new(params: impl IntoIterator<Item = KeyParam>) -> KeySpec {
        let mut params: Vec<KeyParam> = params
            .into_iter()
            .map(|p| match p {
                KeyParam::Header(name) => KeyParam::Header(name.to_ascii_lowercase()),
                other => other,
            })
            .collect();
        params.sort_unstable();
        params.dedup();
        KeySpec {
            params,
            shared: false,
        }
    }

    /// Leaves the authorizer principal out of the key: every caller shares the entries.
    pub fn shared_across_principals(mut self) -> KeySpec {
        self.shared = true;
        self
    }

    /// The key parameters, in canonical order.
    pub fn params(&self) -> &[KeyParam] {
        &self.params
    }

    /// Whether entries are shared across principals.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The key of one request. `value` returns each parameter's value as received (`None` if
    /// absent; join repeated values before handing them in); `principal` is the authorizer's
    /// principal id, `None` for an unauthenticated request.
    pub fn key<'v>(
        &self,
        target: &Target<'_>,
        mut value: impl FnMut(&KeyParam) -> Option<&'v [u8]>,
        principal: Option<&str>,
    ) -> CacheKey {
        // Values first, to allocate the exact size once.
        let values: SmallVec<[Option<&'v [u8]>; 8]> = self.params.iter().map(&mut value).collect();
        let targets = [target.api, target.stage, target.method, target.resource];
        let len = targets.iter().map(|s| 8 + s.len()).sum::<usize>()
            + self
                .params
                .iter()
                .zip(&values)
                .map(|(p, v)| 1 + 8 + p.tag().1.len() + 1 + v.map_or(0, |v| 8 + v.len()))
                .sum::<usize>()
            + match (self.shared, principal) {
                (false, Some(p)) => 1 + 8 + p.len(),
                _ => 1,
            };
        let mut out = Vec::with_capacity(len);
        for part in targets {
            field(&mut out, part.as_bytes());
        }
        for (param, value) in self.params.iter().zip(values) {
            let (tag, name) = param.tag();
            out.push(tag);
            field(&mut out, name.as_bytes());
            match value {
                Some(v) => {
                    out.push(1);
                    field(&mut out, v);
                }
                None => out.push(0),
            }
        }
        match (self.shared, principal) {
            (true, _) => out.push(b'*'),
            (false, None) => out.push(b'-'),
            (false, Some(p)) => {
                out.push(b'=');
                field(&mut out, p.as_bytes());
            }
        }
        debug_assert_eq!(out.len(), len);
        CacheKey::from_canonical(out)
    }
}

/// Appends a length-prefixed field, so no two different inputs encode alike.
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A cache key: the canonical, unambiguous encoding of everything that selects a response,
/// with its hash computed once.
///
/// The hash uses `ahash` with a per-process random seed (so crafted keys cannot collide on
/// purpose); compare [`bytes`](Self::bytes), never hashes, across processes.
#[derive(Debug, Clone)]
pub struct CacheKey {
    bytes: Box<[u8]>,
    hash: u64,
}

impl CacheKey {
    /// A key from bytes that are already canonical (e.g. from [`CacheKey::bytes`]).
    pub fn from_canonical(bytes: impl Into<Box<[u8]>>) -> CacheKey {
        static SEED: OnceLock<ahash::RandomState> = OnceLock::new();
        let bytes = bytes.into();
        let hash = SEED.get_or_init(ahash::RandomState::new).hash_one(&*bytes);
        CacheKey { bytes, hash }
    }

    /// The canonical encoding.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Size counted against the cache capacity.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the encoding is empty (never, for keys built by [`KeySpec::key`]).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The precomputed hash.
    pub fn hash_value(&self) -> u64 {
        self.hash
    }
}

impl PartialEq for CacheKey {
    fn eq(&self, other: &CacheKey) -> bool {
        self.hash == other.hash && self.bytes == other.bytes
    }
}

impl Eq for CacheKey {}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Hashes a [`CacheKey`] to its precomputed hash, for maps keyed by `CacheKey`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `CacheKey`; fold anything else in anyway.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `BuildHasher` for maps keyed by [`CacheKey`].
pub(crate) type KeyHasherBuilder = BuildHasherDefault<KeyHasher>;
