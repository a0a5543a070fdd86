//! Init scripts and supervisor programs that started paster, rewritten to
//! start uWSGI with the same supervision: supervisor's `command=` runs uWSGI
//! in the foreground; an init script's paster command (a command line of
//! its own, `start-stop-daemon … --exec paster -- serve …`, or Debian's
//! skeleton `DAEMON=`/`DAEMON_ARGS=`) becomes uWSGI's, daemonized and with
//! the pid file where paster had them. A line mgdeploy cannot read as
//! plain words (variables, pipes, redirections) is not guessed at: the
//! rewrite stops and says where.
//!
//! uWSGI never starts as root on the site's files (see `unit`): a program
//! supervisor ran as root gets `user=`; an init script that started paster
//! as root is not rewritten (starting uWSGI as the site's user there would
//! also move its pid file and log to where that user may write, which is
//! the admin's call).

use super::paster::{self, Supervision};
use super::{RunAs, is_root_name};
use crate::diagnostic::Diagnostic;
use crate::escape::shell_word;
use crate::lines::insert_line_after;
use crate::migrate::notes::Notes;
use crate::plan::Edit;
use crate::service::Service;
use crate::service::systemd::split_words;
use crate::source::Span;

/// A command line for a POSIX shell (and supervisor, which splits as one).
fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// supervisor's `command=`, rewritten, and `user=` saying `run_as`.
pub fn supervisor(
    service: &Service,
    program: &str,
    ini: &str,
    run_as: &RunAs<'_>,
    notes: &mut Notes,
) -> Result<Vec<Edit>, Diagnostic> {
    let place = service.place();
    let command = paster::read(&service.command).map_err(|why| {
        Diagnostic::error(format!("cannot rewrite supervisor's command: {why}")).at(
            &service.source,
            service.command_span,
            "this command",
        )
    })?;
    let argv = paster::uwsgi_argv(&command, program, ini, Supervision::Foreground)
        .map_err(|why| Diagnostic::error(why).at(&service.source, service.command_span, "here"))?;
    let line = format!("command={}", shell_line(&paster::words(&argv)));
    notes.changed(format!("{place}: supervisor starts uWSGI: `{line}`"));
    let mut edits = vec![Edit::replace(service.command_span, line)];
    // Never root, and as the ini says: a uWSGI that did not start as root
    // cannot switch users, and refuses to start.
    let user_entry = crate::ini::paste::read(&service.source)
        .ok()
        .and_then(|document| {
            document
                .sections_with_prefix("program:")
                .find(|s| {
                    s.get("command")
                        .is_some_and(|c| c.span() == service.command_span)
                })
                .and_then(|s| {
                    s.get("user")
                        .map(|e| (e.span(), e.value.trim().to_string()))
                })
        });
    let line = format!("user={}", run_as.user);
    match user_entry {
        Some((_, value)) if is_root_name(&value) => {
            return Err(Diagnostic::error(
                "supervisor runs the program as root, which would read and run the site's files before anything else",
            )
            .in_file(&service.path)
            .with_help("remove user=root from the program: mgdeploy then runs uWSGI as the site's user"));
        }
        Some((span, value)) if value != run_as.user => {
            edits.push(Edit::replace(span, line.clone()));
            notes.changed(format!(
                "{place}: `user={value}` → `{line}`: uWSGI runs as the ini's uid, which it can only be when started as it"
            ));
        }
        Some(_) => {}
        None => {
            edits.push(insert_line_after(
                service.source.bytes(),
                service.command_span.end,
                &line,
            ));
            notes.changed(format!(
                "{place}: `{line}`: supervisor starts uWSGI as the site's user, not as root"
            ));
        }
    }
    Ok(edits)
}

/// One logical line of a shell script: physical lines joined where they
/// end in a backslash.
struct Logical {
    span: Span,
    text: String,
}

fn logical_lines(text: &str) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut current: Option<Logical> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let start = offset;
        offset += line.len();
        let (content, continues) = match body.strip_suffix('\\') {
            Some(head) => (head, true),
            None => (body, false),
        };
        let logical = current.get_or_insert(Logical {
            span: Span::new(start, start),
            text: String::new(),
        });
        logical.text.push_str(content);
        logical.text.push(' ');
        logical.span = Span::new(logical.span.start, start + body.len());
        if !continues && let Some(done) = current.take() {
            out.push(done);
        }
    }
    out.extend(current);
    out
}

/// Words mgdeploy can rewrite without a shell: no expansion, no operators.
fn plain_words(text: &str) -> Option<Vec<String>> {
    let trimmed = text.trim();
    let trailing_background = trimmed.ends_with('&') && !trimmed.ends_with("&&");
    let body = trimmed.trim_end_matches('&').trim_end();
    if body.contains(['$', '`', ';', '|', '>', '<', '&', '(', ')']) {
        return None;
    }
    let mut words = split_words(body);
    if trailing_background {
        words.push("&".to_string());
    }
    Some(words)
}

fn indentation(text: &str) -> &str {
    let trimmed = text.trim_start_matches([' ', '\t']);
    &text[..text.len() - trimmed.len()]
}

/// An init script's paster commands, rewritten; one that ran them as root
/// (no `start-stop-daemon --chuid`) is refused, unless the site runs as
/// root anyway; `--chuid` says the ini's uid and gid.
pub fn init_script(
    service: &Service,
    program: &str,
    ini: &str,
    run_as: &RunAs<'_>,
    notes: &mut Notes,
) -> Result<Vec<Edit>, Diagnostic> {
    if service.user.is_none() && !is_root_name(run_as.user) {
        return Err(Diagnostic::error(format!(
            "{} starts paster as root: it would start uWSGI as root on the site's files (its ini, paste.ini, the virtualenv), which {} can change",
            service.path.display(),
            run_as.user
        ))
        .at(&service.source, service.command_span, "run as root")
        .with_note("a root uWSGI reads and runs them before it switches users (`exec-as-root`, `@(exec://…)`)")
        .with_help(format!(
            "use --service-style systemd (a unit that starts uWSGI as {}), or add `--chuid {}` to the script's start-stop-daemon (where {} can write the pid file and log) and run mgdeploy again",
            run_as.user, run_as.user, run_as.user
        )));
    }
    let source = &service.source;
    let mut edits = Vec::new();
    let cannot = |span: Span, why: String| {
        Diagnostic::error(format!("cannot rewrite the init script: {why}"))
            .at(source, span, "this line")
            .with_help("use --service-style none and change the script yourself, or --service-style systemd for a new unit")
    };
    // Edits are offsets into the text: only a script that is UTF-8.
    let Ok(text) = std::str::from_utf8(source.bytes()) else {
        return Err(cannot(service.command_span, "it is not UTF-8 text".into()));
    };
    for line in logical_lines(text) {
        let trimmed = line.text.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let indent = indentation(&line.text).to_string();
        // DAEMON=/srv/mg/bin/paster and DAEMON_ARGS="serve …".
        if let Some((name, value)) = trimmed.split_once('=')
            && !name.contains(char::is_whitespace)
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            let mut value_words = split_words(value);
            if let [single] = value_words.as_slice()
                && single.contains(' ')
            {
                value_words = split_words(single);
            }
            if value_words.len() == 1 && paster::is_program(&value_words[0]) {
                edits.push(Edit::replace(
                    line.span,
                    format!("{indent}{name}={}", shell_word(program)),
                ));
                continue;
            }
            if value_words.first().is_some_and(|w| w == "serve") {
                if value.contains(['$', '`']) {
                    return Err(cannot(line.span, "its arguments use the shell".into()));
                }
                let words = value_words.clone();
                let command = paster::read(
                    &std::iter::once("paster".to_string())
                        .chain(words)
                        .collect::<Vec<_>>(),
                )
                .map_err(|why| cannot(line.span, why))?;
                let argv = paster::uwsgi_argv(&command, program, ini, Supervision::Daemon)
                    .map_err(|why| cannot(line.span, why))?;
                let args = shell_line(paster::words(&argv).get(1..).unwrap_or_default());
                edits.push(Edit::replace(
                    line.span,
                    format!("{indent}{name}=\"{args}\""),
                ));
                continue;
            }
        }
        let Some(words) = plain_words(&line.text) else {
            if line.text.split_whitespace().any(paster::is_program) {
                return Err(cannot(
                    line.span,
                    "it runs paster through shell variables or operators".into(),
                ));
            }
            continue;
        };
        let Some(at) = words.iter().position(|w| paster::is_program(w)) else {
            continue;
        };
        // start-stop-daemon … --exec /srv/mg/bin/paster -- serve …
        let (head, command_words): (Vec<String>, Vec<String>) = if words
            .first()
            .is_some_and(|w| w.ends_with("start-stop-daemon"))
        {
            let split = words.iter().position(|w| w == "--").unwrap_or(words.len());
            let mut head: Vec<String> = words.iter().take(split).cloned().collect();
            if let Some(exec) = head.get_mut(at) {
                *exec = program.to_string();
            }
            head.push("--".to_string());
            let args: Vec<String> = std::iter::once("paster".to_string())
                .chain(words.iter().skip(split + 1).cloned())
                .collect();
            (head, args)
        } else {
            (Vec::new(), words.clone())
        };
        let background = command_words.last().is_some_and(|w| w == "&");
        let command_words: Vec<String> = command_words.into_iter().filter(|w| w != "&").collect();
        let command = paster::read(&command_words).map_err(|why| cannot(line.span, why))?;
        let mut argv = paster::uwsgi_argv(&command, program, ini, Supervision::Daemon)
            .map(|argv| paster::words(&argv))
            .map_err(|why| cannot(line.span, why))?;
        let mut new = head;
        if new.is_empty() {
            new.extend(command.environment.iter().cloned());
        } else {
            argv.remove(0);
        }
        new.extend(argv);
        let mut rewritten = format!("{indent}{}", shell_line(&new));
        if background {
            rewritten.push_str(" &");
        }
        edits.push(Edit::replace(line.span, rewritten));
    }
    if edits.is_empty() {
        return Err(cannot(
            service.command_span,
            "no line of it runs paster as plain words".into(),
        ));
    }
    notes.changed(format!(
        "{}: the init script starts uWSGI instead of paster",
        service.path.display()
    ));
    let wanted = format!("{}:{}", run_as.user, run_as.group);
    for (span, value) in chuid_values(text) {
        // `USER` alone runs as USER's own group, which the ini's gid is
        // unless said otherwise.
        let same = match value.split_once(':') {
            Some((user, group)) => user == run_as.user && group == run_as.group,
            None => value == run_as.user,
        };
        if !same
            && !edits
                .iter()
                .any(|e| e.start <= span.start && span.end <= e.end)
        {
            edits.push(Edit::replace(span, wanted.clone()));
            notes.changed(format!(
                "{}: `--chuid {value}` → `--chuid {wanted}`: uWSGI runs as the ini's uid and gid, which it can only be when started as them",
                service.path.display()
            ));
        }
    }
    Ok(edits)
}

/// Where `start-stop-daemon --chuid VALUE` (or `-c VALUE`, `--chuid=VALUE`)
/// says its VALUE, and what it says, in a script's plain text.
fn chuid_values(text: &str) -> Vec<(Span, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if !line.contains("start-stop-daemon") || line.trim_start().starts_with('#') {
            continue;
        }
        // Each blank-separated word and where it starts in the line.
        let mut at = 0;
        let mut words = Vec::new();
        for word in line.split([' ', '\t', '\n', '\r']) {
            if !word.is_empty() {
                words.push((at, word));
            }
            at += word.len() + 1;
        }
        let mut words = words.into_iter();
        while let Some((at, word)) = words.next() {
            let value = match word {
                "--chuid" | "-c" => words.next(),
                w => w
                    .strip_prefix("--chuid=")
                    .map(|v| (at + "--chuid=".len(), v)),
            };
            if let Some((at, value)) = value
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c))
            {
                out.push((
                    Span::new(start + at, start + at + value.len()),
                    value.to_string(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::apply_edits;
    use crate::service::{Manager, Role};
    use crate::source::SourceFile;

    fn script(text: &str) -> Service {
        let source = SourceFile::new("/etc/init.d/mediagoblin-paster", text);
        let chuid = text
            .lines()
            .find_map(|l| crate::service::start_stop_daemon_chuid(&split_words(l)));
        Service {
            path: source.path().to_path_buf(),
            manager: Manager::SysV,
            role: Role::FastCgi,
            source: source.clone(),
            command: Vec::new(),
            command_span: Span::default(),
            environment: Vec::new(),
            user: chuid.as_ref().map(|(user, _)| user.clone()),
            group: chuid.and_then(|(_, group)| group),
            unit: None,
            drop_ins: Vec::new(),
        }
    }

    fn as_site(user: &'static str) -> RunAs<'static> {
        RunAs {
            user,
            group: user,
            socket_group: None,
            socket_dir: None,
        }
    }

    fn rewritten_as(text: &str, user: &'static str) -> Result<String, Diagnostic> {
        let service = script(text);
        let mut notes = Notes::default();
        let edits = init_script(
            &service,
            "/srv/mg/bin/uwsgi",
            "/srv/mg/mediagoblin-uwsgi.ini",
            &as_site(user),
            &mut notes,
        )?;
        Ok(String::from_utf8(apply_edits(text.as_bytes(), &edits).unwrap()).unwrap())
    }

    fn rewritten(text: &str) -> Result<String, Diagnostic> {
        rewritten_as(text, "mediagoblin")
    }

    #[test]
    fn the_docs_command_line() {
        let text = "case \"$1\" in\n  start)\n    CELERY_ALWAYS_EAGER=true \\\n     /srv/mg/bin/paster serve \\\n     /srv/mg/paste.ini \\\n     --pid-file=/var/run/mediagoblin.pid \\\n     --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543 &\n    ;;\n  stop)\n    /srv/mg/bin/paster serve --pid-file=/var/run/mediagoblin.pid /srv/mg/paste.ini stop\n    ;;\nesac\n";
        // Started as root: not rewritten, unless the site runs as root.
        let error = rewritten(text).unwrap_err();
        assert!(error.message.contains("as root"), "{}", error.message);
        assert_eq!(
            rewritten_as(text, "root").unwrap(),
            "case \"$1\" in\n  start)\n    CELERY_ALWAYS_EAGER=true /srv/mg/bin/uwsgi --ini /srv/mg/mediagoblin-uwsgi.ini --pidfile /var/run/mediagoblin.pid &\n    ;;\n  stop)\n    /srv/mg/bin/uwsgi --stop /var/run/mediagoblin.pid\n    ;;\nesac\n"
        );
    }

    #[test]
    fn debians_skeleton_variables() {
        let text = "DAEMON=/srv/mg/bin/paster\nDAEMON_ARGS=\"serve /srv/mg/paste.ini --pid-file=/run/mg/mg.pid --log-file=/var/log/mg/mg.log --daemon --server-name=fcgi fcgi_port=26543\"\nstart-stop-daemon --start --quiet --chuid mediagoblin --pidfile /run/mg/mg.pid --exec $DAEMON -- $DAEMON_ARGS\n";
        assert_eq!(
            rewritten(text).unwrap(),
            "DAEMON=/srv/mg/bin/uwsgi\nDAEMON_ARGS=\"--ini /srv/mg/mediagoblin-uwsgi.ini --pidfile /run/mg/mg.pid --daemonize /var/log/mg/mg.log --umask 022\"\nstart-stop-daemon --start --quiet --chuid mediagoblin --pidfile /run/mg/mg.pid --exec $DAEMON -- $DAEMON_ARGS\n"
        );
        let as_root = text.replace(" --chuid mediagoblin", "");
        assert!(rewritten(&as_root).is_err());
    }

    #[test]
    fn start_stop_daemon_with_the_command_inline() {
        let text = "start-stop-daemon --start --background --make-pidfile --pidfile /run/mg.pid --chuid mediagoblin --exec /srv/mg/bin/paster -- serve /srv/mg/paste.ini --server-name=fcgi fcgi_port=26543\n";
        assert_eq!(
            rewritten(text).unwrap(),
            "start-stop-daemon --start --background --make-pidfile --pidfile /run/mg.pid --chuid mediagoblin --exec /srv/mg/bin/uwsgi -- --ini /srv/mg/mediagoblin-uwsgi.ini\n"
        );
    }

    #[test]
    fn a_script_that_is_not_utf8_is_not_rewritten() {
        // Found by the fuzzer: offsets of a lossy copy ran past the file.
        let mut bytes = b"com".to_vec();
        bytes.extend([0xb7; 100]);
        bytes.extend(b"mand=/srv/mg/lazyserver.sh --server-name=fcgi fcgi_port=26543\n");
        let source = SourceFile::new("/etc/init.d/x", bytes);
        let mut service = script(&String::from_utf8_lossy(source.bytes()));
        service.source = source;
        let mut notes = Notes::default();
        let error = init_script(
            &service,
            "/usr/bin/uwsgi",
            "/x.ini",
            &as_site("root"),
            &mut notes,
        )
        .unwrap_err();
        assert!(error.message.contains("not UTF-8"), "{}", error.message);
    }

    #[test]
    fn shell_it_cannot_read_is_not_guessed_at() {
        assert!(rewritten("$PASTER serve paste.ini --server-name=fcgi | logger\n/srv/mg/bin/paster serve x.ini > /dev/null\n").is_err());
        assert!(rewritten("echo nothing here\n").is_err());
    }
}
