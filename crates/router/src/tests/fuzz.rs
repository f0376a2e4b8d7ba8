//! Deterministic "fuzz-ish" tests: lookups and builds on random input must never panic.

use crate::{ApiKind, Lookup, Router};

/// xorshift64*: tiny, deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PIECES: &[&str] = &[
    "/",
    "/",
    "/",
    "//",
    "pets",
    "dog",
    "toys",
    "{",
    "}",
    "{id}",
    "+",
    "%2F",
    "%",
    "é",
    "猫",
    "🦀",
    "\u{0}",
    "\u{FEFF}",
    " ",
    "?",
    "#",
    "..",
    ".",
    "a",
    "$default",
    "\u{10FFFF}",
    "\r\n",
];

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY", "get", "", "TRACE", "é",
];

fn random_string(rng: &mut Rng) -> String {
    match rng.below(3) {
        // Raw bytes, made valid UTF-8 lossily.
        0 => {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xFF) as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // Random unicode scalar values.
        1 => (0..rng.below(20))
            .filter_map(|_| char::from_u32((rng.next() % 0x11_0000) as u32))
            .collect(),
        // Path-like soup.
        _ => (0..rng.below(12)).map(|_| rng.pick(PIECES)).collect(),
    }
}

fn routers() -> Vec<Router> {
    let keys = [
        "GET /",
        "GET /pets",
        "POST /pets",
        "GET /pets/{id}",
        "GET /pets/{id}/toys",
        "GET /pets/dog",
        "ANY /pets/dog/{rest+}",
        "ANY /{proxy+}",
        "DELETE /é/{cat}/🦀",
    ];
    let mut out = Vec::new();
    for kind in [ApiKind::Rest, ApiKind::Http] {
        out.push(Router::build(kind, keys).expect("valid keys"));
        out.push(Router::build(kind, keys[..6].iter().copied()).expect("valid keys"));
    }
    out.push(Router::build(ApiKind::Http, ["$default", "GET /x/{y}"]).expect("valid keys"));
    out
}

#[test]
fn lookup_never_panics_on_random_paths() {
    let routers = routers();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let path = random_string(&mut rng);
        let method = rng.pick(METHODS);
        for r in &routers {
            if let Lookup::Matched(m) = r.lookup(method, &path) {
                assert!(m.route < r.len());
                for (_, value) in m.params.iter() {
                    // Every value is a non-empty slice of the request path.
                    assert!(!value.is_empty());
                    let start = value.as_ptr() as usize - path.as_ptr() as usize;
                    assert!(start + value.len() <= path.len());
                }
            }
        }
    }
}

#[test]
fn very_long_and_deep_paths_do_not_panic() {
    let routers = routers();
    let deep = "/a".repeat(100_000);
    let slashes = "/".repeat(100_000);
    let pets = "/pets/dog".repeat(10_000);
    for r in &routers {
        for path in [&deep, &slashes, &pets] {
            let _ = r.lookup("GET", path);
        }
    }
}

#[test]
fn build_never_panics_on_random_keys() {
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    for _ in 0..2_000 {
        let keys: Vec<String> = (0..rng.below(8))
            .map(|_| {
                let method = rng.pick(METHODS);
                let path = random_string(&mut rng);
                match rng.below(3) {
                    0 => path,
                    _ => format!("{method} {path}"),
                }
            })
            .collect();
        for kind in [ApiKind::Rest, ApiKind::Http] {
            match Router::build(kind, keys.iter().map(String::as_str)) {
                Ok(r) => {
                    let _ = r.lookup("GET", "/pets/dog");
                }
                Err(errors) => {
                    assert!(!errors.is_empty());
                    for e in errors {
                        assert_eq!(e.key, keys[e.index]);
                        assert!(!e.reason.is_empty());
                    }
                }
            }
        }
    }
}
