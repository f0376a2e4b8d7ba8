//! `causeway`: the one binary. Everything lives in `causeway-cli`.

/// mimalloc instead of the system allocator: the request path allocates a few dozen times
/// per request, and mimalloc's thread-local free lists cost fewer instructions than
/// glibc's malloc (≈ 6 % fewer per request; see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    causeway_cli::main()
}
