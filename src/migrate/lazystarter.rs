//! Patching lazystarter.sh so that lazyserver.sh starts the same uWSGI, on
//! the same ini, as the summary's start command, instead of `paster serve`.
//! The three generations MediaGoblin shipped (no `;` up to 0.7, a gunicorn
//! if/else in 0.8, a `;` from 0.9) share the two lines that change;
//! everything else stays as it is. uWSGI takes neither paster's `--reload`
//! (its own `--reload` wants a pidfile) nor a paste.ini without a `[uwsgi]`
//! section (`--ini-paste` then has no socket), so the serve line runs
//! `--ini` on the ini mgdeploy writes.

use std::path::{Path, PathBuf};

use super::notes::Notes;
use super::runtime::{Program, Runtime};
use crate::deploy::{Deployment, Lazystarter};
use crate::diagnostic::Diagnostic;
use crate::escape::shell_word;
use crate::plan::Edit;
use crate::service::{Role, Service, is_paster_server_argument};
use crate::source::Span;
use crate::sysroot::Sysroot;

const STARTER: &str = "starter_cmd=paster";
const SERVE: &str = "serve \"$ini_file\" \"$@\" --reload";

/// Finds `needle` once in `text` as a whole line's content (blanks and an
/// optional `;` around it); its span, or `None` when it is not there once.
fn find_line(text: &str, needle: &str, before: &str) -> Option<Span> {
    let mut found = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']).trim();
        let content = content.strip_suffix(';').unwrap_or(content).trim_end();
        if content == format!("{before}{needle}") {
            if found.is_some() {
                return None;
            }
            let at = line.find(needle).map(|i| offset + i)?;
            found = Some(Span::new(at, at + needle.len()));
        }
        offset += line.len();
    }
    found
}

/// The serve line's command: `$starter` when lazystarter's own lookup
/// (`./bin/uwsgi` from the checkout, else `uwsgi` on PATH) finds the chosen
/// uWSGI, else that uWSGI by its path.
fn serve_command(root: &Path, runtime: &Runtime, ini: &Path) -> String {
    let program = match &runtime.program {
        Program::Virtualenv(path) if *path != root.join("bin/uwsgi") => {
            shell_word(&path.display().to_string())
        }
        _ => "$starter".to_string(),
    };
    format!(
        "{program} --ini {} \"$@\"",
        shell_word(&ini.display().to_string())
    )
}

/// The edits, or nothing (with a note) when the script is already patched
/// or is not one mgdeploy knows.
pub fn patch(
    starter: &Lazystarter,
    root: &Path,
    runtime: &Runtime,
    ini: &Path,
    notes: &mut Notes,
) -> Result<Vec<Edit>, Diagnostic> {
    // Edits are byte offsets into the file: they are found in its own text.
    let Ok(text) = std::str::from_utf8(starter.source.bytes()) else {
        return Err(Diagnostic::error(format!(
            "{} is not UTF-8 text; mgdeploy will not patch it",
            starter.path.display()
        ))
        .in_file(&starter.path)
        .with_help("fix its encoding, or move it away and run mgdeploy again"));
    };
    let name = starter.path.display();
    let starter_line = find_line(text, STARTER, "");
    let serve_line = find_line(text, SERVE, "$starter ");
    match (starter_line, serve_line) {
        (Some(starter_span), Some(serve_span)) => {
            let command = serve_command(root, runtime, ini);
            notes.changed(format!(
                "{name}: lazyserver.sh runs `{}` instead of `paster serve --reload`",
                command.replace("$starter", &runtime.program_path())
            ));
            if text.contains("use_gunicorn") {
                notes.warning(format!(
                    "{name} prefers gunicorn when it is installed (MediaGoblin 0.8); lazyserver.sh uses uWSGI only where gunicorn is not installed"
                ));
            }
            Ok(vec![
                Edit::replace(
                    Span::new(starter_span.end - "paster".len(), starter_span.end),
                    "uwsgi",
                ),
                // From `$starter`, which the command replaces or keeps.
                Edit::replace(
                    Span::new(
                        serve_span.start.saturating_sub("$starter ".len()),
                        serve_span.end,
                    ),
                    command,
                ),
            ])
        }
        _ if text.contains("starter_cmd=uwsgi") => Ok(Vec::new()),
        _ => {
            notes.warning(format!(
                "{name} is not a lazystarter.sh mgdeploy knows; it was left as it is (start uWSGI with the ini instead)"
            ));
            Ok(Vec::new())
        }
    }
}

/// Directories of a checkout that hold no callers of lazyserver.sh.
const NOT_CALLERS: [&str; 10] = [
    ".git",
    ".mgdeploy",
    "bin",
    "lib",
    "lib64",
    "include",
    "local",
    "node_modules",
    "extlib",
    "user_dev",
];

/// Lines in the checkout (two levels deep, text files under 256 KiB) that
/// run lazyserver.sh with paster's server arguments: `file:line`.
fn callers_in_checkout(sysroot: &Sysroot, root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let Ok(names) = sysroot.read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = names.into_iter().map(|name| dir.join(name)).collect();
        paths.sort();
        for path in paths {
            let Ok(metadata) = sysroot.symlink_metadata(&path) else {
                continue;
            };
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if metadata.is_dir() {
                if depth < 2
                    && !NOT_CALLERS.contains(&file_name.as_str())
                    && file_name != "mediagoblin"
                {
                    dirs.push((path, depth + 1));
                }
                continue;
            }
            if !metadata.is_file() || metadata.len() > 256 * 1024 {
                continue;
            }
            let Ok(bytes) = sysroot.read(&path) else {
                continue;
            };
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            for (index, line) in text.lines().enumerate() {
                // Comments only show how it was started.
                if line.trim_start().starts_with(['#', ';']) {
                    continue;
                }
                let words: Vec<&str> = line.split_whitespace().collect();
                let calls = words.iter().any(|w| w.ends_with("lazyserver.sh"));
                if calls
                    && words
                        .iter()
                        .any(|w| is_paster_server_argument(w.trim_matches(['"', '\''])))
                {
                    out.push(format!("{}:{}", path.display(), index + 1));
                }
            }
        }
    }
    out
}

/// Says which callers of lazyserver.sh pass paster's server arguments,
/// which uWSGI refuses after the move. `rewritten`: services the migration
/// rewrites (they no longer call it); `role`: what the moved server was.
pub fn warn_about_callers(
    deployment: &Deployment,
    rewritten: &[&Service],
    role: Role,
    notes: &mut Notes,
) {
    if deployment.lazystarter.is_none() {
        return;
    }
    let mut callers = callers_in_checkout(&deployment.sysroot, &deployment.root);
    callers.extend(
        deployment
            .services
            .iter()
            .filter(|s| s.role == role && s.runs_lazyserver())
            .filter(|s| !rewritten.iter().any(|r| r.path == s.path))
            .map(|s| s.place()),
    );
    if !callers.is_empty() {
        notes.warning(format!(
            "these start lazyserver.sh with paster's server arguments ({}), which uWSGI refuses (\"unrecognized option\"); run plain `./lazyserver.sh` there:\n{}",
            match role {
                Role::Http => "--server-name=main",
                _ => "--server-name=fcgi fcgi_host=... fcgi_port=...",
            },
            callers.join("\n")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use std::path::PathBuf;

    fn starter(text: &str) -> Lazystarter {
        Lazystarter {
            path: PathBuf::from("/srv/mg/lazystarter.sh"),
            named: PathBuf::from("/srv/mg/lazystarter.sh"),
            source: SourceFile::new("/srv/mg/lazystarter.sh", text.as_bytes().to_vec()),
            links: Vec::new(),
        }
    }

    fn runtime(program: Program) -> Runtime {
        Runtime {
            program,
            plugin: None,
            python: None,
            install: None,
            why: String::new(),
        }
    }

    fn patched_with(text: &str, program: Program) -> String {
        let starter = starter(text);
        let edits = patch(
            &starter,
            Path::new("/srv/mg"),
            &runtime(program),
            Path::new("/srv/mg/mediagoblin-uwsgi.ini"),
            &mut Notes::default(),
        )
        .unwrap();
        String::from_utf8(crate::plan::apply_edits(text.as_bytes(), &edits).unwrap()).unwrap()
    }

    fn patched(text: &str) -> String {
        patched_with(text, Program::System)
    }

    #[test]
    fn each_generation_is_patched() {
        assert_eq!(
            patched(
                "        starter_cmd=paster\n        $starter serve \"$ini_file\" \"$@\" --reload\n"
            ),
            "        starter_cmd=uwsgi\n        $starter --ini /srv/mg/mediagoblin-uwsgi.ini \"$@\"\n"
        );
        assert_eq!(
            patched(
                "        starter_cmd=paster;\n        $starter serve \"$ini_file\" \"$@\" --reload;\n"
            ),
            "        starter_cmd=uwsgi;\n        $starter --ini /srv/mg/mediagoblin-uwsgi.ini \"$@\";\n"
        );
        let patched_once =
            patched("starter_cmd=paster;\n$starter serve \"$ini_file\" \"$@\" --reload;\n");
        assert_eq!(
            patched(&patched_once),
            patched_once,
            "a patched script has nothing left to do"
        );
    }

    #[test]
    fn a_uwsgi_lazystarter_would_not_find_is_named_by_path() {
        let script = "starter_cmd=paster;\n$starter serve \"$ini_file\" \"$@\" --reload;\n";
        assert!(
            patched_with(script, Program::Virtualenv("/srv/mg/bin/uwsgi".into()))
                .contains("\n$starter --ini /srv/mg/mediagoblin-uwsgi.ini \"$@\";"),
            "./bin/uwsgi is what lazystarter finds itself"
        );
        assert!(
            patched_with(
                script,
                Program::Virtualenv("/srv/mg/.venv/bin/uwsgi".into())
            )
            .contains("\n/srv/mg/.venv/bin/uwsgi --ini /srv/mg/mediagoblin-uwsgi.ini \"$@\";")
        );
    }

    #[test]
    fn callers_with_paster_server_arguments_are_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        std::fs::write(
            dir.path().join("docker/entrypoint.sh"),
            "#!/bin/sh\ncd /srv/mg\nexec ./lazyserver.sh --server-name=fcgi fcgi_host=0.0.0.0 fcgi_port=26543\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("notes.txt"),
            "# ./lazyserver.sh --server-name=fcgi\n./lazyserver.sh\n./lazyserver.sh --server-name=main\n",
        )
        .unwrap();
        let callers = callers_in_checkout(&Sysroot::none(), dir.path());
        assert_eq!(
            callers,
            [
                format!("{}:3", dir.path().join("notes.txt").display()),
                format!("{}:3", dir.path().join("docker/entrypoint.sh").display())
            ]
        );
    }
}
