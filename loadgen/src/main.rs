//! `loadgen` binary: parse, run, exit code.

// hyper, rustls and tokio allocate per request: mimalloc costs less CPU than
// glibc's malloc there (measured in docs/bench.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(loadgen::run(std::env::args_os()))
}
