//! Shell completions and man pages from a clap command, for both tools
//! (`verify completions SHELL`, `loadgen completions SHELL`; the release
//! bundle's `man/` from the hidden `man DIR`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `shell`'s completion script for `cmd`. Built in memory first:
/// clap_complete panics on a write error (a closed pipe), we report it.
pub fn completions(mut cmd: clap::Command, shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let name = cmd.get_name().to_string();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut buf);
    out.write_all(&buf)?;
    out.flush()
}

/// Writes `NAME.1` and one `NAME-SUB.1` per visible subcommand into `dir`.
pub fn man_pages(cmd: clap::Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let name = cmd.get_name().to_string();
    let mut written = Vec::new();
    let mut page = |c: clap::Command, file: String| -> io::Result<()> {
        let path = dir.join(file);
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        std::fs::File::create(&path)?.write_all(&buf)?;
        written.push(path);
        Ok(())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let full = format!("{name}-{}", sub.get_name());
        page(sub.clone().name(full.clone()), format!("{full}.1"))?;
    }
    page(cmd, format!("{name}.1"))?;
    Ok(written)
}
