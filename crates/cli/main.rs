//! `causeway`: the one binary. Everything lives in `causeway-cli`.
fn main() -> std::process::ExitCode {
    causeway_cli::main()
}
