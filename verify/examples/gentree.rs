//! `cargo run --release -p verify --example gentree -- DIR STUDENTS SEGMENTS [FAULT_EVERY] [SEED] [SIZE]`
//! writes a recordings tree with injected faults under DIR and prints the
//! ground truth as JSON (SIZE: bytes per file, default 1; 0 makes every file empty) (see `tests/support/gentree.rs`).

#[path = "../tests/support/gentree.rs"]
mod gentree;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| -> Result<u64, Box<dyn std::error::Error>> {
        Ok(args.get(i).map(|s| s.parse()).transpose()?.unwrap_or(default))
    };
    let Some(dir) = args.first() else {
        return Err("usage: gentree DIR STUDENTS SEGMENTS [FAULT_EVERY] [SEED] [SIZE]".into());
    };
    let spec = gentree::Spec {
        exam: "30".into(),
        students: arg(1, 100)?,
        segments: arg(2, 10)?,
        fault_every: arg(3, 50)?,
        seed: arg(4, 1)?,
        size: arg(5, 1)?,
    };
    let truth = gentree::generate(std::path::Path::new(dir), &spec)?;
    println!("{}", serde_json::to_string_pretty(&truth)?);
    Ok(())
}
