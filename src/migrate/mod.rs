//! Planning the move from FastCGI to uWSGI: the nginx rewrite, the uWSGI
//! ini and the lazystarter.sh patch, as one `Plan`, with notes on what
//! changed, what was dropped and why, and what to do next.

pub mod directives;
pub mod lazystarter;
pub mod lines;
pub mod nginx;
pub mod notes;
pub mod uwsgi_ini;

use std::collections::BTreeMap;

use notes::Notes;
use serde::Serialize;
use uwsgi_ini::IniValues;

use crate::cli::{MigrationArgs, ScriptName};
use crate::deploy::locations::mediagoblin_locations;
use crate::deploy::{Celery, Deployment};
use crate::diagnostic::Diagnostic;
use crate::plan::{Edit, Plan};

/// A planned migration.
#[derive(Debug, Serialize)]
pub struct Migration {
    pub plan: Plan,
    pub notes: Notes,
    /// What the uWSGI ini template was given, when one is written.
    pub uwsgi_ini_values: Option<IniValues>,
}

/// uWSGI's Python 3 plugins: `python3`, or a versioned one like `python311`.
pub fn is_python3(plugin: &str) -> bool {
    plugin.split(',').any(|p| {
        let p = p.trim();
        p == "python3"
            || p.strip_prefix("python3")
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
    })
}

/// `host:port` or `unix:/path` (nginx's spelling) as uWSGI's `socket` wants it.
fn uwsgi_socket(address: &str) -> String {
    address.strip_prefix("unix:").unwrap_or(address).to_string()
}

fn check_socket(address: &str) -> Result<(), Diagnostic> {
    if address.starts_with("unix:/") {
        return Ok(());
    }
    match address.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(Diagnostic::error(format!(
            "--socket {address} is neither unix:/path nor host:port"
        ))
        .with_help("e.g. --socket unix:/run/mediagoblin/uwsgi.sock or --socket 127.0.0.1:26543")),
    }
}

pub fn plan(deployment: &Deployment, args: &MigrationArgs) -> Result<Migration, Diagnostic> {
    if args.script_name == ScriptName::Modifier1 && is_python3(&args.plugin) {
        return Err(Diagnostic::error("--script-name modifier1 does not work with uWSGI's Python 3 plugin")
            .with_note("uwsgi_modifier1 30 is ignored by the python3 plugin: MediaGoblin would get PATH_INFO with the prefix still on it, and every page under the prefix would be a 404")
            .with_help("use --script-name mount (the default) or fixpathinfo"));
    }
    if let Some(socket) = &args.socket {
        check_socket(socket)?;
    }
    let selection = mediagoblin_locations(deployment, args.fcgi_address.as_deref())?;
    let Some(reference) = selection.fastcgi.first().or(selection.uwsgi.first()) else {
        return Err(
            Diagnostic::error("no nginx location passes requests to MediaGoblin")
                .in_file(&deployment.nginx.main)
                .with_help(
                    "name the nginx file that has MediaGoblin's `location` with --nginx FILE",
                ),
        );
    };
    let current_mount = nginx::mount_of(&reference.uri());
    let mounts: Vec<String> = selection
        .fastcgi
        .iter()
        .map(|l| nginx::mount_of(&l.uri()))
        .collect();
    if args.mount.is_some() && mounts.iter().any(|m| *m != current_mount) {
        return Err(Diagnostic::error(format!(
            "MediaGoblin is reached under several prefixes ({}); --mount cannot move them all to one",
            mounts.join(", ")
        )));
    }
    let mount = args
        .mount
        .as_deref()
        .map_or(current_mount, nginx::normalize_mount);

    let mut notes = Notes::default();
    let mut plan = Plan::new(&deployment.root);

    // nginx.
    let pass_address = reference
        .reaches
        .first()
        .cloned()
        .unwrap_or_else(|| reference.address.clone());
    let socket = args.socket.clone().unwrap_or_else(|| pass_address.clone());
    let rewrite = nginx::rewrite(
        &deployment.nginx,
        &selection.fastcgi,
        &nginx::Options {
            socket: args.socket.as_deref(),
            mount: &mount,
            script_name: args.script_name,
        },
    )?;
    notes.extend(rewrite.notes);
    let mut by_file: BTreeMap<usize, Vec<Edit>> = BTreeMap::new();
    for (file, edit) in rewrite.edits {
        by_file.entry(file).or_default().push(edit);
    }
    for (file, edits) in by_file {
        if let Some(config) = deployment.nginx.loaded.config(file) {
            plan.modify(config.source.path(), config.source.bytes(), edits);
        }
    }

    // lazystarter.sh.
    if let Some(starter) = &deployment.lazystarter {
        let edits = lazystarter::patch(starter, &args.plugin, &mut notes);
        plan.modify(&starter.path, starter.source.bytes(), edits);
    }

    // The uWSGI ini.
    let (user, group) = (
        args.user
            .clone()
            .unwrap_or_else(|| uwsgi_ini::user_name(deployment.owner.0)),
        args.group
            .clone()
            .unwrap_or_else(|| uwsgi_ini::group_name(deployment.owner.1)),
    );
    let ini_path = deployment.uwsgi_path.display().to_string();
    let mut uwsgi_ini_values = None;
    if deployment.uwsgi.is_none() {
        if args.user.is_none() && deployment.owner.0 == 0 {
            notes.warning(format!(
                "{} belongs to root, so uWSGI would run MediaGoblin as root: pass --user and --group",
                deployment.root.display()
            ));
        }
        if !socket.starts_with("unix:")
            && !socket.starts_with("127.")
            && !socket.starts_with("localhost:")
            && !socket.starts_with("[::1]:")
        {
            notes.warning(format!(
                "uWSGI will listen on {socket}: anyone who reaches it can make uWSGI load code; use a UNIX socket or 127.0.0.1"
            ));
        }
        let (nginx_user, nginx_group) = deployment.nginx_user();
        let values = IniValues {
            root: deployment.root.display().to_string(),
            ini_path: ini_path.clone(),
            plugin: args.plugin.clone(),
            processes: args.processes,
            virtualenv: deployment
                .virtualenv
                .as_ref()
                .map(|p| p.display().to_string()),
            socket: uwsgi_socket(&socket),
            unix_socket: socket.starts_with("unix:"),
            buffer_size: header_room(deployment, reference),
            chown_socket: match &nginx_group {
                Some(group) => format!("{nginx_user}:{group}"),
                None => nginx_user.clone(),
            },
            nginx_user,
            uid: user.clone(),
            gid: group.clone(),
            mountpoint: (mount != "/" && args.script_name == ScriptName::Mount)
                .then(|| mount.clone()),
            paste: deployment.paste.path.display().to_string(),
            fixpathinfo: (mount != "/" && args.script_name == ScriptName::Fixpathinfo)
                .then(|| mount.clone()),
            paste_logger: deployment.paste_has_logging(),
            eager: match &deployment.celery {
                Celery::Eager(reason) => Some(reason.clone()),
                Celery::Worker => None,
            },
        };
        let text = uwsgi_ini::render(&values, args.templates.as_deref())?;
        plan.create(&deployment.uwsgi_path, text);
        notes.changed(format!(
            "{ini_path}: a new uWSGI ini (every line explained in it)"
        ));
        uwsgi_ini_values = Some(values);
    }

    if !plan.is_empty() {
        next_steps(deployment, &ini_path, &user, &group, &mut notes);
    }
    Ok(Migration {
        plan,
        notes,
        uwsgi_ini_values,
    })
}

/// What nginx lets request headers grow to for MediaGoblin's location
/// (`large_client_header_buffers`, 8k by default), within uWSGI's 64 KiB.
fn header_room(
    deployment: &Deployment,
    location: &crate::deploy::locations::PassLocation<'_>,
) -> u64 {
    crate::check::nginx::effective(
        &deployment.nginx.loaded,
        location.config,
        location.location,
        location.server,
        b"large_client_header_buffers",
    )
    .and_then(|(config, d)| {
        d.args
            .get(1)
            .and_then(|a| crate::check::uwsgi::nginx_size(&config.value(a)))
    })
    .unwrap_or(8 * 1024)
    .clamp(4096, 65535)
}

fn next_steps(deployment: &Deployment, ini_path: &str, user: &str, group: &str, notes: &mut Notes) {
    notes.next_step(
        "Stop the FastCGI server: the `paster serve ... --server-name=fcgi` process (started by lazyserver.sh or your service unit).",
    );
    notes.next_step(format!(
        "Start uWSGI as root (it switches to {user}:{group}): `uwsgi --ini {ini_path}`; for a service, run that from a systemd unit."
    ));
    notes.next_step("Check and reload nginx: `nginx -t && nginx -s reload`.");
    match &deployment.celery {
        Celery::Eager(reason) => notes.next_step(format!(
            "Nothing to do for celery: background tasks keep running inside the web process ({reason}; the uWSGI ini sets it too)."
        )),
        Celery::Worker => notes.next_step(format!(
            "MediaGoblin does not run eagerly here, so a celery worker must run: keep `./lazycelery.sh` (in {}) or your mediagoblin-celeryd service going.",
            deployment.root.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python3_plugins_are_recognised() {
        assert!(is_python3("python3"));
        assert!(is_python3("python311"));
        assert!(is_python3("http,python3"));
        assert!(!is_python3("python"));
        assert!(!is_python3("python27"));
    }
}
