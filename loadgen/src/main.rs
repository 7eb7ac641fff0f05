//! `loadgen` binary: parse, run, exit code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(loadgen::run(std::env::args_os()))
}
