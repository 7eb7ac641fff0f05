//! `loadgen`: placeholder binary; the load generator lands with its own issue.

fn main() -> std::process::ExitCode {
    eprintln!("loadgen: not built yet (see the project's open issues); nothing was run");
    std::process::ExitCode::from(2)
}
