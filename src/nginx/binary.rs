//! The nginx binary on this host, for `nginx -t` on a configuration about
//! to go live.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::diagnostic::Diagnostic;

/// `nginx` on `PATH` (or in /usr/sbin, where Debian puts it), if installed.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// Runs `nginx -t` (on `main` when it is a whole nginx.conf, else on the
/// host's own configuration) and turns a rejection into a diagnostic that
/// carries nginx's words.
pub fn test(nginx: &Path, main: Option<&Path>) -> Result<(), Diagnostic> {
    let mut command = Command::new(nginx);
    command.arg("-t").arg("-q");
    if let Some(main) = main {
        command.arg("-c").arg(main);
    }
    let output = command
        .output()
        .map_err(|e| Diagnostic::error(format!("cannot run {} -t: {e}", nginx.display())))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
    Err(Diagnostic::error("nginx -t rejects the new configuration")
        .with_note(format!("nginx says:\n{said}"))
        .with_help("fix what nginx names, or run migrate with other options; nothing was changed"))
}
