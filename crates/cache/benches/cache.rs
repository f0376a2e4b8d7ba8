//! `causeway-cache` hit latency: [`Cache::get`] of a fresh entry in a cache of 10,000
//! entries (1 KiB bodies), with the key already built; building a key from a request's
//! values alone; and both together. Lookups go to uniformly random entries (a fixed
//! pseudo-random sequence), so table slots and stored keys are mostly cold: a worst case,
//! since skewed real traffic keeps its popular entries in cache.
//!
//! Run: `cargo bench -p causeway-cache -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use bytes::Bytes;
use causeway_cache::{Cache, CacheKey, CachedResponse, KeyParam, KeySpec, Target, Ttl};
use criterion::{Criterion, criterion_group, criterion_main};

const ENTRIES: usize = 10_000;
const TARGET: Target<'static> = Target {
    api: "a1b2c3d4e5",
    stage: "prod",
    method: "GET",
    resource: "/pets/{petId}",
};

fn spec() -> KeySpec {
    KeySpec::new([
        KeyParam::Path("petId".to_owned()),
        KeyParam::Query("fields".to_owned()),
        KeyParam::Header("Accept".to_owned()),
    ])
}

fn build_key(spec: &KeySpec, id: &str) -> CacheKey {
    spec.key(
        &TARGET,
        |p| match p {
            KeyParam::Path(_) => Some(id.as_bytes()),
            KeyParam::Query(_) => Some(&b"name,age"[..]),
            KeyParam::Header(_) => Some(&b"application/json"[..]),
        },
        Some("user-1234"),
    )
}

fn bench_hit(c: &mut Criterion) {
    let spec = spec();
    let ids: Vec<String> = (0..ENTRIES).map(|i| format!("pet-{i}")).collect();
    let keys: Vec<CacheKey> = ids.iter().map(|id| build_key(&spec, id)).collect();
    let mut cache = Cache::new(64 << 20);
    for key in &keys {
        let response = CachedResponse {
            status: 200,
            headers: vec![(
                "content-type".to_owned(),
                bytes::Bytes::from_static(b"application/json"),
            )],
            body: Bytes::from(vec![b'x'; 1_024]),
        };
        cache
            .insert(0, key.clone(), response, Ttl::MAX)
            .expect("fits");
    }
    assert_eq!(cache.len(), ENTRIES);

    // xorshift64*: a fixed pseudo-random order the prefetchers cannot follow.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let order: Vec<usize> = (0..65_536)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % ENTRIES
        })
        .collect();
    let mut n = 0;
    let mut next = move || {
        n = (n + 1) % order.len();
        order[n]
    };

    let mut group = c.benchmark_group("cache_hit_10k_entries");
    group.bench_function("get", |b| {
        b.iter(|| {
            let i = next();
            black_box(cache.get(1, black_box(&keys[i])))
        });
    });
    group.bench_function("build_key", |b| {
        b.iter(|| {
            let i = next();
            black_box(build_key(&spec, black_box(&ids[i])))
        });
    });
    group.bench_function("build_key_and_get", |b| {
        b.iter(|| {
            let i = next();
            let key = build_key(&spec, black_box(&ids[i]));
            black_box(cache.get(1, &key))
        });
    });
    group.finish();
    assert_eq!(cache.stats().misses, 0, "every lookup was a hit");
}

criterion_group!(benches, bench_hit);
criterion_main!(benches);
