//! Planning the move from FastCGI (or, `--from http`, from paster's HTTP
//! server) to uWSGI: the nginx rewrite, the uWSGI ini and the
//! lazystarter.sh patch, as one `Plan`, with notes on what changed, what was
//! dropped and why, and what to do next.

pub mod lazystarter;
pub mod location;
pub mod notes;
pub mod options;
pub mod runtime;
pub mod service;
pub mod template;
pub mod uwsgi_ini;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use notes::Notes;
use uwsgi_ini::IniValues;

pub use options::{Mount, Options, Origin, ScriptName};
pub use runtime::Runtime;

use crate::deploy::access::{Blocked, Want, blocked};
use crate::deploy::locations::{Selection, mediagoblin_locations};
use crate::deploy::{Deployment, configobj_unquote, view};
use crate::diagnostic::Diagnostic;
use crate::ini::typed::{MediaGoblinSettings, PublicStore};
use crate::plan::{Edit, Plan};
use crate::service::Role;

/// A planned migration.
#[derive(Debug)]
pub struct Migration {
    pub plan: Plan,
    pub notes: Notes,
    /// What the uWSGI ini template was given, when one is written.
    pub uwsgi_ini_values: Option<IniValues>,
    /// The command that starts the migrated site, as the summary gives it.
    pub start_command: Option<Vec<String>>,
    /// Where nginx already passes to uWSGI, when there is nothing to move.
    pub already_on_uwsgi: Option<String>,
}

/// Plans the move of `deployment` with the choices of `options`.
pub fn plan(deployment: &Deployment, options: &Options) -> Result<Migration, Diagnostic> {
    let selection = mediagoblin_locations(deployment, options.fcgi_address.as_ref())?;
    let Some(origin) = origin(&selection, options.from)? else {
        return nothing_to_move(deployment, &selection, options.from);
    };
    let locations = match origin {
        Origin::FastCgi => &selection.fastcgi,
        Origin::Http => &selection.http,
    };
    let Some(reference) = locations.first() else {
        return nothing_to_move(deployment, &selection, options.from);
    };
    let runtime = runtime::choose(deployment, options.plugin.as_deref())?;
    if options.script_name == ScriptName::Modifier1 && runtime.is_python3() {
        return Err(Diagnostic::error("--script-name modifier1 does not work with uWSGI's Python 3 plugin")
            .with_note("uwsgi_modifier1 30 is ignored on Python 3: MediaGoblin would get PATH_INFO with the prefix still on it, and every page under the prefix would be a 404")
            .with_note(format!("the site runs on {}", runtime.why))
            .with_help("use --script-name mount (the default) or fixpathinfo"));
    }
    let current_mount = Mount::of_location(&reference.uri());
    let mounts: Vec<Mount> = locations
        .iter()
        .map(|l| Mount::of_location(&l.uri()))
        .collect();
    if options.mount.is_some() && mounts.iter().any(|m| *m != current_mount) {
        let listed: Vec<&str> = mounts.iter().map(Mount::as_str).collect();
        return Err(Diagnostic::error(format!(
            "MediaGoblin is reached under several prefixes ({}); --mount cannot move them all to one",
            listed.join(", ")
        )));
    }
    let mount = options.mount.clone().unwrap_or(current_mount);

    let mut notes = Notes::default();
    let mut plan = Plan::new(&deployment.root);
    plan.sysroot = deployment.sysroot.clone();

    // nginx.
    let socket = match &options.socket {
        Some(socket) => socket.clone(),
        None => reference
            .reaches
            .first()
            .cloned()
            .unwrap_or_else(|| reference.address.clone()),
    };
    let rewrite = location::rewrite(
        &deployment.nginx,
        locations,
        &location::Options {
            socket: options.socket.as_ref(),
            mount: &mount,
            script_name: options.script_name,
            sysroot: &deployment.sysroot,
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
    if !plan.is_empty() {
        plan.nginx_gate = Some(deployment.nginx_gate());
    }

    // What starts uWSGI decides where its ini goes.
    let choice = service::choose(deployment, options.service_style, &runtime, origin.role())?;

    // The files as the server knows them: what mgdeploy writes into them
    // and into commands (the same as where they are read, on the server).
    let ini_path = choice.ini_path(deployment);
    let server_ini = deployment.server(&ini_path);
    crate::escape::uwsgi_ini_path(&server_ini.to_string_lossy()).map_err(|e| {
        Diagnostic::error(format!("cannot start uWSGI on its ini: {e}"))
            .with_help("name another place for it with --uwsgi-ini FILE")
    })?;
    let server_root = deployment.server(&deployment.root);
    let start_command = runtime.start_argv(&server_ini);

    // lazystarter.sh.
    if let Some(starter) = &deployment.lazystarter {
        let edits = lazystarter::patch(starter, &server_root, &runtime, &server_ini, &mut notes)?;
        plan.modify(&starter.named, starter.source.bytes(), edits);
    }
    let rewritten: &[&crate::service::Service] = match &choice {
        service::Choice::Rewrite(services) => services,
        _ => &[],
    };
    lazystarter::warn_about_callers(deployment, rewritten, origin.role(), &mut notes);

    // The uWSGI ini.
    let account = account(deployment, options, origin)?;
    let (user, group) = (account.user.clone(), account.group.clone());
    let mut uwsgi_ini_values = None;
    let existing = existing_ini(deployment, &socket)?;
    if let ExistingIni::Kept(why) = &existing {
        notes.changed(format!("{}: kept as it is ({why})", ini_path.display()));
    }
    if !matches!(existing, ExistingIni::Kept(_)) {
        if user == "root" || user == "0" {
            notes.warning(format!(
                "uWSGI would run MediaGoblin as root ({}): pass --user and --group",
                account.from
            ));
        }
        if !socket.is_local() {
            notes.warning(format!(
                "uWSGI will listen on {socket}: anyone who reaches it can make uWSGI load code; use a UNIX socket or 127.0.0.1"
            ));
        }
        let (nginx_user, nginx_group) = deployment.nginx_user();
        let values = IniValues {
            root: server_root.display().to_string(),
            ini_path: server_ini.display().to_string(),
            start_command: runtime::shell_command(&start_command),
            plugin: runtime.plugin.clone(),
            runtime_why: runtime.why.clone(),
            processes: options.processes,
            virtualenv: deployment
                .python
                .as_ref()
                .map(|v| deployment.server(&v.dir).display().to_string()),
            socket: socket.to_uwsgi(),
            unix_socket: socket.unix_path().is_some(),
            buffer_size: crate::protocol::uwsgi_buffer_for(
                reference.header_room(&deployment.nginx.loaded),
            ),
            // The site's user and nginx's group: a uWSGI that never was
            // root (a unit's User=) can give its socket only to itself,
            // and to a group it is in.
            chown_socket: format!("{user}:{nginx_group}"),
            nginx_user,
            nginx_group,
            uid: user.clone(),
            gid: group.clone(),
            mountpoint: (!mount.is_root() && options.script_name == ScriptName::Mount)
                .then(|| mount.to_string()),
            paste: deployment
                .server(&deployment.paste.path)
                .display()
                .to_string(),
            fixpathinfo: (!mount.is_root() && options.script_name == ScriptName::Fixpathinfo)
                .then(|| mount.to_string()),
            paste_logger: deployment.paste_has_logging(),
            eager: deployment.celery.is_eager(),
            celery_reason: deployment.celery.reason().to_string(),
        };
        let text = uwsgi_ini::render(&values, options.templates.as_deref())?;
        match (&existing, &deployment.uwsgi) {
            (ExistingIni::Replaced(why), Some(file)) => {
                let original = file.document.source.bytes();
                plan.modify(
                    &ini_path,
                    original,
                    vec![Edit::replace(
                        crate::source::Span::new(0, original.len()),
                        text,
                    )],
                );
                notes.warning(format!(
                    "{} is replaced: {why}; the change keeps a backup, and `mgdeploy rollback` puts it back",
                    ini_path.display()
                ));
            }
            _ => {
                plan.create(&ini_path, text);
                notes.changed(format!(
                    "{}: a new uWSGI ini (every line explained in it)",
                    ini_path.display()
                ));
            }
        }
        uwsgi_ini_values = Some(values);
    }
    notes.changed(format!("the uWSGI that runs the site: {}", runtime.why));
    // The template's ini stops on SIGTERM; a kept one says for itself.
    let die_on_term = match &existing {
        ExistingIni::Kept(_) => deployment.uwsgi.as_ref().is_some_and(|file| {
            crate::deploy::uwsgi_entries(file)
                .any(|e| e.key == "die-on-term" && e.value.trim() == "true")
        }),
        _ => true,
    };
    let planned = service::plan(
        &service::Site {
            deployment,
            runtime: &runtime,
            ini: &ini_path,
            die_on_term,
            templates: options.templates.as_deref(),
            run_as: service::RunAs {
                user: &user,
                group: &group,
                socket_group: socket
                    .unix_path()
                    .is_some()
                    .then(|| deployment.nginx_user().1),
                socket_dir: socket
                    .unix_path()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf),
            },
        },
        &choice,
        &mut plan,
        &mut notes,
    )?;
    if deployment.python.is_none() && lazystarter_uses_bin(deployment) {
        notes.warning(format!(
            "lazystarter.sh runs programs from ./bin, but no virtualenv was found in {} (bin/python, .venv/, venv/): uWSGI will use the host's Python 3; check that MediaGoblin is installed there",
            deployment.root.display()
        ));
    }
    if deployment.sysroot.is_mirror() {
        notes.warning(
            "file owners and modes in a mirror say nothing about the server: check there that uWSGI's user can read the virtualenv and write MediaGoblin's database and media",
        );
    } else {
        access_warnings(deployment, &user, &group, &runtime, &mut notes);
    }

    if !plan.is_empty() {
        next_steps(
            deployment,
            origin,
            &runtime,
            &start_command,
            &planned,
            &account,
            &mut notes,
        );
    }
    Ok(Migration {
        plan,
        notes,
        uwsgi_ini_values,
        start_command: Some(start_command),
        already_on_uwsgi: None,
    })
}

/// Who uWSGI runs MediaGoblin as, and what said so.
struct Account {
    user: String,
    group: String,
    from: String,
}

/// `--user`/`--group`, else what the site's own configuration says: the
/// service that starts it (`User=`, `Group=`), the existing uWSGI ini
/// (`uid`, `gid`), else, on the server itself, the checkout's owner. A
/// mirror's file owners are this machine's: there one of the others must
/// say.
fn account(
    deployment: &Deployment,
    options: &Options,
    origin: Origin,
) -> Result<Account, Diagnostic> {
    let service = deployment
        .services_of(origin.role())
        .find(|s| s.user.is_some());
    let ini_value = |key: &str| {
        deployment.uwsgi.as_ref().and_then(|file| {
            crate::deploy::uwsgi_entries(file)
                .find(|e| e.key == key)
                .map(|e| e.value.trim().to_string())
        })
    };
    let found: Option<(String, Option<String>, String)> = match (&options.user, service) {
        (Some(user), _) => Some((user.clone(), None, "--user".to_string())),
        (None, Some(service)) => Some((
            service.user.clone().unwrap_or_default(),
            service.group.clone(),
            format!(
                "{} runs the site as it",
                deployment.server(&service.path).display()
            ),
        )),
        (None, None) => match ini_value("uid") {
            Some(uid) => Some((uid, ini_value("gid"), "the uWSGI ini's uid".to_string())),
            None => deployment.owner_name().map(|owner| {
                (
                    owner,
                    deployment.owner_group_name(),
                    format!("the owner of {}", deployment.root.display()),
                )
            }),
        },
    };
    let Some((user, group, from)) = found else {
        return Err(Diagnostic::error(
            "nothing says which user uWSGI should run MediaGoblin as",
        )
        .with_note("with --sysroot, the mirror's file owners are this machine's, not the server's; no service unit or uWSGI ini of the site names a user")
        .with_help("pass --user and --group"));
    };
    let group = options
        .group
        .clone()
        .or(group)
        .or_else(|| {
            deployment
                .accounts
                .user(&user, None)
                .and_then(|a| {
                    a.gids
                        .first()
                        .and_then(|g| deployment.accounts.group_name(*g))
                })
                .map(str::to_string)
        })
        .unwrap_or_else(|| user.clone());
    // Written into units, scripts and the ini: a name, or nothing.
    for (what, name) in [("user", &user), ("group", &group)] {
        options::account_name(what, name).map_err(|why| {
            Diagnostic::error(format!(
                "cannot run uWSGI as {what} {name:?} ({from}): {why}"
            ))
            .with_help("pass --user and --group")
        })?;
    }
    Ok(Account { user, group, from })
}

/// What becomes of a file already at the uWSGI ini's path.
enum ExistingIni {
    /// There is none: the ini is created.
    None,
    /// A uWSGI ini that serves this site: it stays.
    Kept(String),
    /// A uWSGI ini that does not: the plan replaces it, for this reason.
    Replaced(String),
}

/// Keeps an existing uWSGI ini only when nginx will reach it and it loads
/// this site's paste.ini; a file there that is no uWSGI ini at all stops
/// the move (it is likely another file named by mistake).
fn existing_ini(
    deployment: &Deployment,
    socket: &crate::protocol::Address,
) -> Result<ExistingIni, Diagnostic> {
    let Some(file) = &deployment.uwsgi else {
        return Ok(ExistingIni::None);
    };
    if file.document.section("uwsgi").is_none() {
        return Err(Diagnostic::error(format!(
            "{} is where the uWSGI ini goes, but it has no [uwsgi] section",
            file.path.display()
        ))
        .in_file(&file.path)
        .with_note(
            "nothing was written: mgdeploy will not overwrite a file that is not a uWSGI ini",
        )
        .with_help("name where the uWSGI ini goes with --uwsgi-ini FILE"));
    }
    let sockets = deployment.uwsgi_sockets();
    let listens = sockets.iter().any(|s| socket.reaches(s));
    let paste = deployment
        .server(&deployment.paste.path)
        .display()
        .to_string();
    let loads = crate::deploy::uwsgi_entries(file).any(|e| {
        matches!(
            e.key.as_str(),
            "paste" | "mount" | "ini-paste" | "ini-paste-logged"
        ) && e.value.contains(&paste)
    });
    let heard: Vec<String> = sockets.iter().map(|s| s.to_nginx()).collect();
    Ok(match (listens, loads) {
        (true, true) => ExistingIni::Kept(format!(
            "it listens on {} and loads {paste}",
            socket.to_nginx()
        )),
        (false, _) => ExistingIni::Replaced(format!(
            "it listens on {}, not on {}, where nginx will pass",
            if heard.is_empty() {
                "nothing".to_string()
            } else {
                heard.join(", ")
            },
            socket.to_nginx()
        )),
        (true, false) => ExistingIni::Replaced(format!("it does not load {paste}")),
    })
}

/// The server the move starts from: `--from` when given and nginx reaches
/// MediaGoblin that way, else the one way nginx reaches it; `None` when
/// there is nothing of that kind to move.
fn origin(selection: &Selection<'_>, from: Option<Origin>) -> Result<Option<Origin>, Diagnostic> {
    let fastcgi = !selection.fastcgi.is_empty();
    let http = !selection.http.is_empty();
    Ok(match from {
        Some(Origin::FastCgi) => fastcgi.then_some(Origin::FastCgi),
        Some(Origin::Http) => http.then_some(Origin::Http),
        None if let (Some(f), Some(h)) = (selection.fastcgi.first(), selection.http.first()) => {
            return Err(Diagnostic::error(
                "nginx reaches MediaGoblin both over FastCGI and over HTTP; mgdeploy will not guess which to move",
            )
            .at(&f.config.source, f.pass.span(), "FastCGI (paster/flup)")
            .with_related(&h.config.source, h.pass.span(), "HTTP (paster's HTTP server)")
            .with_help("choose with --from fastcgi or --from http"));
        }
        None if fastcgi => Some(Origin::FastCgi),
        None if http => Some(Origin::Http),
        None => None,
    })
}

/// Nothing to move from (`--from`'s server, or any): the site is on uWSGI
/// already (nothing to do), or served another way, or not found.
fn nothing_to_move(
    deployment: &Deployment,
    selection: &Selection<'_>,
    from: Option<Origin>,
) -> Result<Migration, Diagnostic> {
    if let Some(location) = selection.uwsgi.first() {
        let mut notes = Notes::default();
        let place = format!(
            "{}: uwsgi_pass {}",
            location.pass_place(),
            location.address.to_nginx()
        );
        if deployment.uwsgi.is_none() {
            notes.warning(format!(
                "no uWSGI ini of this site was found at {}; `mgdeploy check --uwsgi-ini FILE` checks the one that serves {}",
                deployment.uwsgi_path.display(),
                location.address.to_nginx()
            ));
        }
        return Ok(Migration {
            plan: Plan::new(&deployment.root),
            notes,
            uwsgi_ini_values: None,
            start_command: None,
            already_on_uwsgi: Some(place),
        });
    }
    if from == Some(Origin::FastCgi)
        && let Some(location) = selection.http.first()
    {
        return Err(Diagnostic::error(
            "MediaGoblin is served over HTTP here, not FastCGI: there is no FastCGI to move",
        )
        .at(
            &location.config.source,
            location.pass.span(),
            format!("nginx proxies to paster's HTTP server at {}", location.address),
        )
        .with_note("this is how MediaGoblin 0.10 and later are deployed (paster serve paste.ini behind proxy_pass)")
        .with_help("--from http moves it"));
    }
    if from == Some(Origin::Http)
        && let Some(location) = selection.fastcgi.first()
    {
        return Err(Diagnostic::error(
            "MediaGoblin is served over FastCGI here, not HTTP: there is no HTTP server to move",
        )
        .at(
            &location.config.source,
            location.pass.span(),
            format!("nginx passes to FastCGI at {}", location.address),
        )
        .with_help("--from fastcgi moves it"));
    }
    let mut error = Diagnostic::error("no nginx location passes requests to MediaGoblin")
        .in_file(&deployment.nginx.main)
        .with_help("name the nginx file that has MediaGoblin's `location` with --nginx FILE");
    if from == Some(Origin::Http) {
        let listening: Vec<String> = deployment
            .http_servers
            .iter()
            .map(|a| a.to_nginx())
            .collect();
        error = error.with_note(if listening.is_empty() {
            format!(
                "{} has no [server:*] that says where paster's HTTP server listens (host and port, or unix_socket)",
                deployment.paste.path.display()
            )
        } else {
            format!(
                "no proxy_pass reaches where paste.ini's HTTP servers listen: {}",
                listening.join(", ")
            )
        });
    }
    Err(error)
}

fn lazystarter_uses_bin(deployment: &Deployment) -> bool {
    deployment
        .lazystarter
        .as_ref()
        .is_some_and(|starter| String::from_utf8_lossy(starter.source.bytes()).contains("./bin"))
}

/// The SQLite file of `sql_engine`, when the database is one.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite:///")?;
    Some(PathBuf::from(format!("/{}", path.trim_start_matches('/'))))
}

/// Paths the uWSGI user must read, run or write, and what each is.
fn paths_to_reach(
    deployment: &Deployment,
    runtime: &Runtime,
) -> Vec<(PathBuf, Want, &'static str)> {
    let mut out = Vec::new();
    if let Some(venv) = &deployment.python {
        out.push((venv.python(), Want::Run, "the virtualenv's Python"));
        if let Some(version) = venv.version {
            let os = venv.dir.join(format!("lib/python{version}/os.py"));
            if os.exists() {
                out.push((os, Want::Read, "the Python standard library"));
            }
        }
    }
    if let runtime::Program::Virtualenv(uwsgi) = &runtime.program
        && uwsgi.exists()
    {
        out.push((uwsgi.clone(), Want::Run, "uWSGI"));
    }
    out.push((deployment.paste.path.clone(), Want::Read, "paste.ini"));
    // Without mediagoblin.ini MediaGoblin's defaults apply, from the checkout.
    let file = deployment.mediagoblin_ini.as_ref();
    let here = file
        .and_then(|f| f.path.parent())
        .unwrap_or(&deployment.root);
    let settings = file
        .and_then(|f| view::<MediaGoblinSettings>(f, "mediagoblin"))
        .unwrap_or_default();
    let database = settings
        .sql_engine
        .map(|v| configobj_unquote(v.trim()).to_string())
        .unwrap_or_else(|| format!("sqlite:///{}/mediagoblin.db", here.display()));
    if let Some(db) = sqlite_path(&database) {
        if let Some(dir) = db.parent() {
            out.push((
                dir.to_path_buf(),
                Want::Write,
                "the database's directory (SQLite writes its journal there)",
            ));
        }
        out.push((db, Want::Write, "the database"));
    }
    for (section, default, what) in [
        (
            "storage:publicstore",
            "user_dev/media/public",
            "the media directory",
        ),
        (
            "storage:queuestore",
            "user_dev/media/queue",
            "the upload queue",
        ),
    ] {
        let dir = file
            .and_then(|f| view::<PublicStore>(f, section))
            .and_then(|store| store.base_dir)
            .map(|d| PathBuf::from(configobj_unquote(d.trim())))
            .unwrap_or_else(|| here.join(default));
        out.push((dir, Want::Write, what));
    }
    out
}

/// Warns when the account uWSGI switches to cannot reach what MediaGoblin
/// needs.
fn access_warnings(
    deployment: &Deployment,
    user: &str,
    group: &str,
    runtime: &Runtime,
    notes: &mut Notes,
) {
    let Some(account) = deployment.accounts.user(user, Some(group)) else {
        notes.warning(format!(
            "uWSGI is to run as {user}:{group}, which /etc/passwd and /etc/group do not both list; check --user and --group"
        ));
        return;
    };
    for (path, want, what) in paths_to_reach(deployment, runtime) {
        let verb = match want {
            Want::Read => "read",
            Want::Write => "write to",
            Want::Run => "run",
        };
        match blocked(&path, &account, want) {
            None => {}
            Some(Blocked::Missing) => notes.warning(format!(
                "{what}, {}, does not exist (or is a link to nothing)",
                path.display()
            )),
            Some(Blocked::Closed(stop)) => {
                let because =
                    if stop == path || std::fs::canonicalize(&path).is_ok_and(|p| p == stop) {
                        String::new()
                    } else {
                        format!(" ({} is closed to it)", stop.display())
                    };
                notes.warning(format!(
                    "uWSGI runs MediaGoblin as {user}, who cannot {verb} {what}, {}{because}",
                    path.display()
                ));
            }
        }
    }
}

fn next_steps(
    deployment: &Deployment,
    origin: Origin,
    runtime: &Runtime,
    start: &[String],
    planned: &service::Planned,
    account: &Account,
    notes: &mut Notes,
) {
    let (user, group) = (&account.user, &account.group);
    if let Some(install) = &runtime.install {
        notes.next_step(format!(
            "Install uWSGI into the virtualenv, built against its Python (it needs a C compiler and the Python headers): `{}`.",
            runtime::shell_command(install)
        ));
    }
    if deployment.services_of(origin.role()).next().is_none() {
        notes.next_step(match origin {
            Origin::FastCgi => "Stop the FastCGI server: the `paster serve ... --server-name=fcgi` process started by lazyserver.sh.",
            Origin::Http => "Stop paster's HTTP server, so that uWSGI can take its address: the `paster serve ... --server-name=main` process started by lazyserver.sh.",
        });
    }
    for step in &planned.steps {
        notes.next_step(step.clone());
    }
    if !planned.started_at_boot {
        notes.next_step(format!(
            "Start uWSGI as root (it switches to {user}:{group}): `{}`. Nothing starts it at boot: `--service-style systemd` writes a unit that does.",
            runtime::shell_command(start)
        ));
    }
    notes.next_step("Check and reload nginx: `nginx -t && nginx -s reload`.");
    if deployment.celery.is_eager() {
        notes.next_step(format!(
            "Nothing to do for celery: background tasks keep running inside the web process ({}; the uWSGI ini sets it too).",
            deployment.celery.reason()
        ));
    } else {
        let worker = deployment
            .services
            .iter()
            .find(|s| s.role == Role::Celery)
            .map_or_else(
                || {
                    format!(
                        "`./lazycelery.sh` (in {})",
                        deployment.server(&deployment.root).display()
                    )
                },
                |s| deployment.server(&s.path).display().to_string(),
            );
        notes.next_step(format!(
            "MediaGoblin does not run celery eagerly here ({}), so a celery worker must keep running: {worker}.",
            deployment.celery.reason()
        ));
    }
}
