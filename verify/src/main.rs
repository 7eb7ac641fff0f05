//! `verify` binary: parse, run, map the outcome to the exit code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(verify::run(std::env::args_os()).code())
}
