//! `nginx -t`, confined: it runs as root on files the site's account may
//! own, and testing a configuration opens its logs and makes its temporary
//! directories (`error_log /etc/nologin;` would make root create that
//! file). So the test runs in a private mount namespace where every mount
//! is read-only, and the directories nginx writes to while testing (the
//! logs and temporary paths the configuration and nginx's build name) are
//! overlays onto a scratch tmpfs: nginx sees them and writes into them,
//! and all of it vanishes with the namespace. Whatever else it tries to
//! write fails with "Read-only file system", which rejects the test.
//!
//! The namespace comes from util-linux's `unshare --mount`, which runs
//! mgdeploy itself again as the confinement's helper (`HELPER`, not a
//! command anyone types): it mounts, then runs nginx in its place.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::include::Loaded;
use super::syntax::walk;

/// argv[1] that makes mgdeploy the confinement's helper.
pub const HELPER: &str = "__mgdeploy-confined-nginx-test";

/// Directives whose first argument is a file nginx opens for writing when
/// it tests a configuration (the pid file too: `nginx -t` makes it).
const LOG_FILES: [&str; 4] = ["error_log", "access_log", "pid", "lock_file"];

/// Directives whose first argument is a directory nginx makes (and may
/// give to its user) when it tests a configuration.
const MADE_DIRS: [&str; 9] = [
    "client_body_temp_path",
    "proxy_temp_path",
    "fastcgi_temp_path",
    "uwsgi_temp_path",
    "scgi_temp_path",
    "proxy_cache_path",
    "fastcgi_cache_path",
    "uwsgi_cache_path",
    "scgi_cache_path",
];

/// What nginx's build says it writes by default (`nginx -V`).
#[derive(Clone, Debug, Default)]
pub struct Build {
    /// `--prefix`: where relative paths start.
    pub prefix: PathBuf,
    /// Files and directories it writes unless told otherwise.
    pub defaults: Vec<PathBuf>,
}

impl Build {
    /// Asks `nginx -V`.
    pub fn of(nginx: &Path) -> Build {
        let said = Command::new(nginx)
            .arg("-V")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default();
        let mut build = Build {
            prefix: PathBuf::from("/usr/share/nginx"),
            defaults: Vec::new(),
        };
        for word in said.split_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            match key {
                "--prefix" => build.prefix = PathBuf::from(value),
                "--error-log-path" | "--http-log-path" | "--pid-path" | "--lock-path"
                    if value != "stderr" =>
                {
                    build.defaults.push(PathBuf::from(value));
                }
                key if key.starts_with("--http-") && key.ends_with("-temp-path") => {
                    build.defaults.push(PathBuf::from(value));
                }
                _ => {}
            }
        }
        build
    }
}

/// The directories nginx writes into while it tests `loaded`: each log's
/// and each made directory's parent, and the build's defaults', that
/// exist. A path with a variable is opened only when serving.
pub fn writable_dirs(loaded: &Loaded, build: &Build) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut add = |path: &Path| {
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            build.prefix.join(path)
        };
        if let Some(parent) = full.parent()
            && parent.is_dir()
            && !dirs.iter().any(|d| d == parent)
        {
            dirs.push(parent.to_path_buf());
        }
    };
    for path in &build.defaults {
        add(path);
    }
    for config in loaded.configs() {
        walk(&config.children, |directive, _| {
            let name = config.name_of(directive);
            let writes = LOG_FILES
                .iter()
                .chain(&MADE_DIRS)
                .any(|n| n.as_bytes() == name);
            if !writes {
                return;
            }
            let Some(first) = directive.args.first() else {
                return;
            };
            let value = config.value_bytes(first);
            let special = value.starts_with(b"syslog:")
                || value.starts_with(b"memory:")
                || value.as_ref() == b"stderr"
                || value.as_ref() == b"off"
                || value.contains(&b'$');
            if !special {
                add(Path::new(OsStr::from_bytes(&value)));
            }
        });
    }
    dirs.sort();
    dirs
}

/// Runs `nginx ARGS` confined, with `writable` overlaid. An error: the
/// confinement could not be set up (no `unshare`, or no right to mount).
pub fn run(nginx: &Path, args: &[OsString], writable: &[PathBuf]) -> std::io::Result<Output> {
    let me = std::env::current_exe()?;
    let scratch = super::binary::TempDir::new()?;
    // util-linux's, where Debian puts it; else the first on PATH.
    let unshare = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("unshare");
    let mut command = Command::new(unshare);
    command
        .args(["--mount", "--propagation", "private", "--"])
        .arg(me)
        .arg(HELPER)
        .arg(scratch.path());
    for dir in writable {
        command.arg("--writable").arg(dir);
    }
    command.arg("--").arg(nginx).args(args);
    let output = command.output()?;
    if output.status.code() == Some(HELPER_FAILED) {
        return Err(std::io::Error::other(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    Ok(output)
}

/// The helper's exit code when it could not confine nginx.
const HELPER_FAILED: i32 = 97;

/// The helper, in its own mount namespace: `SCRATCH [--writable DIR]… --
/// NGINX ARGS…`. Never returns.
pub fn helper(args: &[OsString]) -> ! {
    let failed = |why: String| -> ! {
        eprintln!("cannot confine nginx -t: {why}");
        std::process::exit(HELPER_FAILED)
    };
    let mut args = args.iter();
    let Some(scratch) = args.next().map(PathBuf::from) else {
        failed("no scratch directory".to_string())
    };
    let mut writable = Vec::new();
    let mut command = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--writable" {
            match args.next() {
                Some(dir) => writable.push(PathBuf::from(dir)),
                None => failed("--writable without a directory".to_string()),
            }
        } else if arg == "--" {
            command.extend(args.by_ref().cloned());
        } else {
            failed(format!("unexpected {arg:?}"));
        }
    }
    if let Err(why) = confine(&scratch, &writable) {
        failed(why);
    }
    let Some((program, rest)) = command.split_first() else {
        failed("no command".to_string())
    };
    use std::os::unix::process::CommandExt;
    let error = Command::new(program).args(rest).exec();
    failed(format!(
        "cannot run {}: {error}",
        Path::new(program).display()
    ))
}

/// Every mount read-only, a tmpfs at `scratch`, and each of `writable` an
/// overlay whose changes go to the tmpfs.
fn confine(scratch: &Path, writable: &[PathBuf]) -> Result<(), String> {
    use rustix::mount::{MountFlags, MountPropagationFlags};
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| format!("cannot make the mounts private: {e}"))?;
    let mountinfo = std::fs::read("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    for line in mountinfo.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let fields: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
        let (Some(point), Some(options)) = (fields.get(4), fields.get(5)) else {
            continue;
        };
        let point = PathBuf::from(OsString::from_vec(unescape_octal(point)));
        let mut flags = MountFlags::BIND | MountFlags::RDONLY;
        for option in options.split(|b| *b == b',') {
            match option {
                b"nosuid" => flags |= MountFlags::NOSUID,
                b"nodev" => flags |= MountFlags::NODEV,
                b"noexec" => flags |= MountFlags::NOEXEC,
                _ => {}
            }
        }
        match rustix::mount::mount_remount(&point, flags, "") {
            Ok(()) => {}
            // Gone, or hidden under another mount: nothing to reach there.
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::INVAL) => {}
            Err(e) => return Err(format!("cannot make {} read-only: {e}", point.display())),
        }
    }
    rustix::mount::mount(
        "scratch",
        scratch,
        "tmpfs",
        MountFlags::empty(),
        c"mode=0700",
    )
    .map_err(|e| format!("cannot mount a tmpfs at {}: {e}", scratch.display()))?;
    for (index, dir) in writable.iter().enumerate() {
        let upper = scratch.join(format!("upper-{index}"));
        let work = scratch.join(format!("work-{index}"));
        for made in [&upper, &work] {
            std::fs::create_dir(made)
                .map_err(|e| format!("cannot make {}: {e}", made.display()))?;
        }
        let plain = |p: &Path| {
            !p.as_os_str()
                .as_bytes()
                .iter()
                .any(|b| b",:\\ \t\n".contains(b))
        };
        let overlaid = plain(dir)
            && std::ffi::CString::new(format!(
                "lowerdir={},upperdir={},workdir={}",
                dir.display(),
                upper.display(),
                work.display()
            ))
            .is_ok_and(|data| {
                rustix::mount::mount(
                    "overlay",
                    dir,
                    "overlay",
                    MountFlags::empty(),
                    data.as_c_str(),
                )
                .is_ok()
            });
        if !overlaid {
            // Without overlayfs: an empty tmpfs there, where nginx makes
            // what it needs.
            rustix::mount::mount("scratch", dir, "tmpfs", MountFlags::empty(), c"mode=0755")
                .map_err(|e| format!("cannot make {} writable: {e}", dir.display()))?;
        }
    }
    Ok(())
}

/// mountinfo's `\040`-style escapes undone.
fn unescape_octal(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while let Some(&b) = field.get(i) {
        if b == b'\\'
            && let Some(digits) = field.get(i + 1..i + 4)
            && digits.iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let value = digits.iter().fold(0u32, |n, d| n * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_octal(b"/mnt/a\\040b"), b"/mnt/a b");
        assert_eq!(unescape_octal(b"/x\\"), b"/x\\");
    }
}
