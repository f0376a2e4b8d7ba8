//! Eviction quality: S3-FIFO against LRU and FIFO on the same deterministic workloads.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::{Rng, key, response};
use crate::{Cache, Ttl};

const BODY: usize = 1_000;

/// Zipf(s) over `n` items by inverse CDF.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for rank in 1..=n {
            sum += 1.0 / (rank as f64).powf(s);
            cdf.push(sum);
        }
        cdf.iter_mut().for_each(|c| *c /= sum);
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u) as u64
    }
}

/// A request trace: Zipf-popular items, plus a share of one-hit wonders (unique ids).
fn trace(seed: u64, len: usize, items: usize, s: f64, one_hit_share: f64) -> Vec<u64> {
    let zipf = Zipf::new(items, s);
    let mut rng = Rng(seed);
    let mut unique = 1_000_000;
    (0..len)
        .map(|_| {
            if rng.unit() < one_hit_share {
                unique += 1;
                unique
            } else {
                zipf.sample(&mut rng)
            }
        })
        .collect()
}

/// Hit ratio of our cache, inserting on every miss.
fn s3fifo_hit_ratio(trace: &[u64], capacity: usize) -> f64 {
    let mut cache = Cache::new(capacity);
    for (now, &item) in trace.iter().enumerate() {
        let k = key(item);
        if cache.get(now as u64, &k).is_none() {
            cache
                .insert(now as u64, k, response(BODY), Ttl::MAX)
                .expect("fits");
        }
        assert!(cache.bytes() <= capacity);
    }
    cache.stats().hit_ratio()
}

/// Reference LRU holding `slots` equal-size entries.
fn lru_hit_ratio(trace: &[u64], slots: usize) -> f64 {
    let mut last_use: HashMap<u64, usize> = HashMap::new();
    let mut by_age: BTreeMap<usize, u64> = BTreeMap::new();
    let mut hits = 0;
    for (tick, &item) in trace.iter().enumerate() {
        if let Some(old) = last_use.insert(item, tick) {
            by_age.remove(&old);
            hits += 1;
        } else if last_use.len() > slots
            && let Some((_, victim)) = by_age.pop_first()
        {
            last_use.remove(&victim);
        }
        by_age.insert(tick, item);
    }
    hits as f64 / trace.len() as f64
}

/// Reference FIFO holding `slots` equal-size entries.
fn fifo_hit_ratio(trace: &[u64], slots: usize) -> f64 {
    let mut held: HashSet<u64> = HashSet::new();
    let mut order: VecDeque<u64> = VecDeque::new();
    let mut hits = 0;
    for &item in trace {
        if held.contains(&item) {
            hits += 1;
            continue;
        }
        if held.len() == slots
            && let Some(victim) = order.pop_front()
        {
            held.remove(&victim);
        }
        held.insert(item);
        order.push_back(item);
    }
    hits as f64 / trace.len() as f64
}

fn compare(name: &str, trace: &[u64], slots: usize) {
    // Same byte budget: `slots` entries of identical size.
    let entry = key(0).len() + response(BODY).size();
    let ours = s3fifo_hit_ratio(trace, slots * entry);
    let lru = lru_hit_ratio(trace, slots);
    let fifo = fifo_hit_ratio(trace, slots);
    println!("{name}: S3-FIFO {ours:.4}, LRU {lru:.4}, FIFO {fifo:.4}");
    assert!(
        ours > lru + 0.01,
        "{name}: S3-FIFO {ours:.4} vs LRU {lru:.4}"
    );
    assert!(
        ours > fifo + 0.01,
        "{name}: S3-FIFO {ours:.4} vs FIFO {fifo:.4}"
    );
}

#[test]
fn beats_lru_and_fifo_on_zipf() {
    // 10,000 items, cache for 5% of them, Zipf 0.9.
    compare("zipf 0.9", &trace(1, 200_000, 10_000, 0.9, 0.0), 500);
}

#[test]
fn beats_lru_and_fifo_on_zipf_with_one_hit_wonders() {
    // A third of the requests are for things never asked for again.
    compare(
        "zipf 1.0 + 33% one-hit",
        &trace(2, 200_000, 10_000, 1.0, 0.33),
        500,
    );
}

#[test]
fn a_scan_does_not_flush_the_hot_set() {
    let entry = key(0).len() + response(BODY).size();
    let mut cache = Cache::new(100 * entry);
    let mut now = 0;
    // A hot set of 50 items, each read a few times.
    for _ in 0..4 {
        for item in 0..50 {
            now += 1;
            if cache.get(now, &key(item)).is_none() {
                cache
                    .insert(now, key(item), response(BODY), Ttl::MAX)
                    .expect("fits");
            }
        }
    }
    // A scan of 1,000 items read once each.
    for item in 10_000..11_000 {
        now += 1;
        if cache.get(now, &key(item)).is_none() {
            cache
                .insert(now, key(item), response(BODY), Ttl::MAX)
                .expect("fits");
        }
    }
    let survivors = (0..50)
        .filter(|&i| cache.get(now, &key(i)).is_some())
        .count();
    assert_eq!(survivors, 50, "the scan only churned the small queue");
}

#[test]
fn an_item_evicted_early_and_requested_again_goes_to_the_main_queue() {
    let entry = key(0).len() + response(BODY).size();
    let mut cache = Cache::new(20 * entry); // small queue: 2 entries
    let insert = |cache: &mut Cache, now: u64, item: u64| {
        cache
            .insert(now, key(item), response(BODY), Ttl::MAX)
            .expect("fits");
    };
    insert(&mut cache, 0, 7);
    // One-hit wonders push item 7 out of the small queue into the ghost queue.
    for item in 100..120 {
        insert(&mut cache, 1, item);
    }
    assert!(cache.get(2, &key(7)).is_none(), "evicted from probation");
    insert(&mut cache, 3, 7); // a ghost hit: admitted to the main queue
    for item in 200..260 {
        insert(&mut cache, 4, item);
    }
    assert!(
        cache.get(5, &key(7)).is_some(),
        "main queue outlives the churn"
    );
}

#[test]
fn expired_entries_are_dropped_before_live_ones_are_evicted() {
    let entry = key(0).len() + response(BODY).size();
    let mut cache = Cache::new(10 * entry);
    let short = Ttl::from_secs(1).expect("in range");
    for item in 0..10 {
        cache
            .insert(0, key(item), response(BODY), short)
            .expect("fits");
        assert!(cache.get(0, &key(item)).is_some());
    }
    // After they expired, new entries displace them without counting as evictions.
    for item in 10..20 {
        cache
            .insert(5_000, key(item), response(BODY), Ttl::MAX)
            .expect("fits");
    }
    let stats = cache.stats();
    assert_eq!((stats.expirations, stats.evictions), (10, 0));
    assert_eq!(stats.entries, 10);
}
