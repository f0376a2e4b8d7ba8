//! Builds the Rust guest plugins in `plugins/` (their own cargo workspace) for
//! `wasm32-wasip2` into `plugins/target`, and tells the tests and benches where each
//! component is: `env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER")` and so on.
//!
//! Set `CAUSEWAY_PLUGIN_FIXTURES=skip` to build the crate without them (e.g. a release
//! build on a machine without the wasm target); the tests then fail saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every guest crate of `plugins/` (package names).
const GUESTS: &[&str] = &[
    "hmac-authorizer",
    "query-to-json-mapper",
    "shopping-list-function",
    "wasi-http-handler",
    "spin-hello",
    "counter-authorizer",
    "echo-authorizer",
    "echo-authorizer-v0-1",
    "trap",
    "infinite-loop",
    "memory-bomb",
    "huge-output",
    "wrong-world",
];

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir.join("../..");
    let plugins = root.join("plugins");
    let wit = root.join("wit");

    println!("cargo:rerun-if-env-changed=CAUSEWAY_PLUGIN_FIXTURES");
    for path in [
        plugins.join("Cargo.toml"),
        plugins.join("Cargo.lock"),
        plugins.join(".cargo"),
        plugins.join("sdk"),
        plugins.join("examples"),
        plugins.join("fixtures"),
        wit.clone(),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let out = plugins.join("target").join(TARGET).join("release");
    println!(
        "cargo:rustc-env=CAUSEWAY_POLYGLOT_SCRIPT={}",
        plugins.join("build-polyglot.sh").display()
    );
    println!(
        "cargo:rustc-env=CAUSEWAY_POLYGLOT_DIR={}",
        plugins.join("target").join("polyglot").display()
    );

    if std::env::var("CAUSEWAY_PLUGIN_FIXTURES").as_deref() == Ok("skip") {
        println!("cargo:warning=CAUSEWAY_PLUGIN_FIXTURES=skip: guest plugins not built");
        export(&out, true);
        return;
    }
    check_target();
    build(&plugins);
    export(&out, false);
}

/// Fail early, with the fix, when the standard library for the wasm target is missing.
fn check_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if !libdir.is_some_and(|dir| dir.is_dir()) {
        panic!(
            "\n\ncauseway-plugin builds its test plugins for `{TARGET}`, whose standard \
             library is not installed.\nInstall it with:\n\n    rustup target add {TARGET}\n\n\
             (or set CAUSEWAY_PLUGIN_FIXTURES=skip to build without the test plugins)\n"
        );
    }
}

fn build(plugins: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(plugins)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(plugins.join("target"));
    // The outer build's settings are for the host, not for the guests.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "building the guest plugins failed ({s}); run `cargo build --release --target \
             {TARGET}` in {} to see why",
            plugins.display()
        ),
        Err(e) => panic!("cannot run cargo to build the guest plugins: {e}"),
    }
}

fn export(out: &Path, skipped: bool) {
    for guest in GUESTS {
        let file = out.join(format!("{}.wasm", guest.replace('-', "_")));
        if !skipped && !file.is_file() {
            panic!("the guest build did not produce {}", file.display());
        }
        let var = format!(
            "CAUSEWAY_FIXTURE_{}",
            guest.replace('-', "_").to_uppercase()
        );
        println!("cargo:rustc-env={var}={}", file.display());
    }
}
