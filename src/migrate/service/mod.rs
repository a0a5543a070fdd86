//! What starts uWSGI after the move, so that the site comes back after a
//! reboot (`--service-style`). By default, what started paster (FastCGI,
//! or its HTTP server) is rewritten to start uWSGI: the systemd unit, init script or supervisor
//! program. For a site nothing started (lazyserver.sh by hand), nothing is
//! guessed: the summary says how to start it, and which style the host
//! could use (its emperor, Debian's apps directory, systemd). Every change is part of the migration's plan (one
//! diff, one transaction, one rollback); what only the admin can do
//! (`systemctl daemon-reload` …) is a next step, in order.

pub mod paster;
pub mod script;
pub mod unit;

use std::path::{Path, PathBuf};

use super::Runtime;
use super::notes::Notes;
use super::options::ServiceStyle;
use super::runtime::Program;
use crate::deploy::Deployment;
use crate::diagnostic::Diagnostic;
use crate::plan::Plan;
use crate::service::{Manager, Service};

/// The name Debian's apps directory and the emperor know the site by.
const NAME: &str = "mediagoblin";
/// A unit mgdeploy writes when no unit started the site.
const NEW_UNIT: &str = "mediagoblin-uwsgi.service";
/// Where the admin's units live (relative to `/`).
const ETC_SYSTEMD: &str = "etc/systemd/system";
const APPS_AVAILABLE: &str = "etc/uwsgi/apps-available";
const APPS_ENABLED: &str = "etc/uwsgi/apps-enabled";
const VASSALS: &str = "etc/uwsgi-emperor/vassals";
const EMPEROR_INI: &str = "etc/uwsgi-emperor/emperor.ini";

/// What was chosen, and the services that started paster's server.
#[derive(Debug)]
pub enum Choice<'d> {
    /// These services are rewritten to start uWSGI.
    Rewrite(Vec<&'d Service>),
    /// A new unit; these (not systemd's) are stopped and disabled.
    NewUnit(Vec<&'d Service>),
    /// Debian's apps directory; these are stopped and disabled.
    DebianApps(Vec<&'d Service>),
    /// An emperor vassal; these are stopped and disabled.
    Emperor(Vec<&'d Service>),
    /// Nothing starts uWSGI; these are stopped and disabled.
    None(Vec<&'d Service>),
}

impl Choice<'_> {
    pub fn style(&self) -> ServiceStyle {
        match self {
            Choice::Rewrite(_) | Choice::NewUnit(_) => ServiceStyle::Systemd,
            Choice::DebianApps(_) => ServiceStyle::DebianApps,
            Choice::Emperor(_) => ServiceStyle::Emperor,
            Choice::None(_) => ServiceStyle::None,
        }
    }

    /// Where the uWSGI ini goes, when the style decides (Debian's apps
    /// directory, the emperor's vassals), as a host path.
    pub fn ini_path(&self, deployment: &Deployment) -> PathBuf {
        // An ini that is there, or one the user named, stays where it is.
        if deployment.uwsgi.is_some() || deployment.uwsgi_path_named {
            return deployment.uwsgi_path.clone();
        }
        let host = |dir: &str| {
            deployment
                .sysroot
                .host(&Path::new("/").join(dir).join(format!("{NAME}.ini")))
        };
        match self {
            Choice::DebianApps(_) => host(APPS_AVAILABLE),
            Choice::Emperor(_) => host(VASSALS),
            _ => deployment.uwsgi_path.clone(),
        }
    }
}

/// Debian's uWSGI packages run /usr/bin/uwsgi: a site whose uWSGI is the
/// virtualenv's own (Python 2.7) cannot be one of their apps or vassals.
fn needs_system_uwsgi(style: ServiceStyle, runtime: &Runtime) -> Result<(), Diagnostic> {
    match runtime.program {
        Program::System => Ok(()),
        Program::Virtualenv(_) => Err(Diagnostic::error(format!(
            "--service-style {} runs Debian's uWSGI, which cannot run this site",
            style.as_str()
        ))
        .with_note(format!("the site runs on {}", runtime.why))
        .with_help("use --service-style systemd (a unit that starts the virtualenv's uWSGI)")),
    }
}

/// Why an account other than root could change the ini that Debian's
/// uwsgi or the emperor, which run as root, would read: it lies in the
/// checkout, or (on the server) a directory on the way is not root's.
fn site_can_change(deployment: &Deployment, ini: &Path) -> Option<String> {
    let server = deployment.server(ini);
    if server.starts_with(deployment.server(&deployment.root)) {
        return Some(format!(
            "it is in the checkout, {}, which the site's account can change",
            deployment.server(&deployment.root).display()
        ));
    }
    if deployment.sysroot.is_mirror() {
        return None;
    }
    crate::deploy::access::writable_by_others(ini)
}

/// Debian's uwsgi and the emperor start as root and read the ini before
/// they switch users: it must be a file only root can change.
fn root_reads(style: ServiceStyle, deployment: &Deployment, ini: &Path) -> Result<(), Diagnostic> {
    match site_can_change(deployment, ini) {
        None => Ok(()),
        Some(why) => Err(Diagnostic::error(format!(
            "--service-style {} would make a uWSGI running as root read {}: {why}",
            style.as_str(),
            deployment.server(ini).display()
        ))
        .in_file(ini)
        .with_note("an ini can run commands as root before uWSGI switches users (`exec-as-root`, `@(exec://…)`)")
        .with_help("let mgdeploy write the ini where only root can: drop --uwsgi-ini (and move an ini in the checkout away), or use --service-style systemd, whose unit starts uWSGI as the site's user")),
    }
}

/// Chooses what starts uWSGI: `style` when given, else what the host uses.
/// `role`: what the services to replace ran (FastCGI or paster's HTTP server).
pub fn choose<'d>(
    deployment: &'d Deployment,
    style: Option<ServiceStyle>,
    runtime: &Runtime,
    role: crate::service::Role,
) -> Result<Choice<'d>, Diagnostic> {
    let fastcgi: Vec<&Service> = deployment.services_of(role).collect();
    Ok(match style {
        None if !fastcgi.is_empty() => Choice::Rewrite(fastcgi),
        None | Some(ServiceStyle::None) => Choice::None(fastcgi),
        Some(ServiceStyle::Systemd) => {
            let (units, others): (Vec<&Service>, Vec<&Service>) = fastcgi
                .into_iter()
                .partition(|s| s.manager == Manager::Systemd);
            if units.is_empty() {
                Choice::NewUnit(others)
            } else {
                // An init script beside the unit is rewritten too: left as
                // it is, it would start paster on uWSGI's address.
                Choice::Rewrite(units.into_iter().chain(others).collect())
            }
        }
        Some(ServiceStyle::DebianApps) => {
            needs_system_uwsgi(ServiceStyle::DebianApps, runtime)?;
            Choice::DebianApps(fastcgi)
        }
        Some(ServiceStyle::Emperor) => {
            needs_system_uwsgi(ServiceStyle::Emperor, runtime)?;
            Choice::Emperor(fastcgi)
        }
    })
}

/// The uWSGI program as a unit or script names it: an absolute path.
fn program_path(runtime: &Runtime, deployment: &Deployment) -> String {
    match &runtime.program {
        Program::Virtualenv(path) => deployment.server(path).display().to_string(),
        Program::System => "/usr/bin/uwsgi".to_string(),
    }
}

/// How to stop a service that started paster (FastCGI or HTTP) and keep
/// it from starting at boot.
fn stop_and_disable(service: &Service, deployment: &Deployment) -> String {
    let name = service.name();
    let how = match service.manager {
        Manager::Systemd => format!("`systemctl disable --now {name}`"),
        Manager::SysV => format!("`service {name} stop && update-rc.d {name} disable`"),
        Manager::Supervisor => format!(
            "`supervisorctl stop {name}`, and set `autostart=false` in {}",
            deployment.server(&service.path).display()
        ),
    };
    format!(
        "Stop {} and keep it from starting at boot: {how} ({} starts it).",
        service.role.server(),
        deployment.server(&service.path).display()
    )
}

/// What the chosen style adds to the plan, and the steps it leaves.
pub struct Planned {
    /// In order, before nginx is reloaded.
    pub steps: Vec<String>,
    /// Something will start uWSGI at boot.
    pub started_at_boot: bool,
}

/// Who uWSGI runs as, as the service that starts it says it.
pub struct RunAs<'a> {
    /// The ini's `uid` and `gid`.
    pub user: &'a str,
    pub group: &'a str,
    /// nginx's group, when uWSGI listens on a UNIX socket that it gives to
    /// that group (`chown-socket`): a uWSGI that never was root can only
    /// give it to a group it is in.
    pub socket_group: Option<String>,
    /// The UNIX socket's directory.
    pub socket_dir: Option<PathBuf>,
}

/// What the service plan starts from.
pub struct Site<'a> {
    pub deployment: &'a Deployment,
    pub runtime: &'a Runtime,
    /// The uWSGI ini (host path).
    pub ini: &'a Path,
    /// The ini stops uWSGI on SIGTERM.
    pub die_on_term: bool,
    /// `--templates`.
    pub templates: Option<&'a Path>,
    /// Who the ini runs MediaGoblin as.
    pub run_as: RunAs<'a>,
}

/// Adds to `plan` what `choice` needs.
pub fn plan(
    site: &Site<'_>,
    choice: &Choice<'_>,
    plan: &mut Plan,
    notes: &mut Notes,
) -> Result<Planned, Diagnostic> {
    let Site {
        deployment,
        runtime,
        ini,
        die_on_term,
        templates,
        ref run_as,
    } = *site;
    let program = program_path(runtime, deployment);
    let server_ini = deployment.server(ini).display().to_string();
    let mut steps = Vec::new();
    let disable = |services: &[&Service], steps: &mut Vec<String>| {
        for service in services {
            steps.push(stop_and_disable(service, deployment));
        }
    };
    if matches!(choice, Choice::DebianApps(_) | Choice::Emperor(_)) {
        root_reads(choice.style(), deployment, ini)?;
    }
    let started_at_boot = match choice {
        Choice::Rewrite(services) => {
            let mut units_rewritten = Vec::new();
            for service in services {
                match service.manager {
                    Manager::Systemd => {
                        let rewrite = unit::rewrite(
                            service,
                            &program,
                            &server_ini,
                            die_on_term,
                            run_as,
                            notes,
                        )?;
                        let under = |dir: &str| deployment.sysroot.host(&Path::new("/").join(dir));
                        let etc = under(ETC_SYSTEMD);
                        let packages =
                            [under("lib/systemd/system"), under("usr/lib/systemd/system")];
                        for file in rewrite.files {
                            match unit::admin_path(&file.path, &packages, &etc) {
                                Some(copy) => {
                                    let text =
                                        crate::plan::apply_edits(&file.original, &file.edits)
                                            .map_err(|e| {
                                                Diagnostic::error(e.to_string()).in_file(&file.path)
                                            })?;
                                    notes.changed(format!(
                                        "{}: a copy of {} that starts uWSGI (it takes precedence; the package's unit stays as it is)",
                                        copy.display(),
                                        file.path.display()
                                    ));
                                    plan.create(&copy, String::from_utf8_lossy(&text).into_owned());
                                }
                                None => plan.modify(&file.path, &file.original, file.edits),
                            }
                        }
                        units_rewritten.push(service.name());
                        if !service.enabled(&deployment.sysroot) {
                            steps.push(format!(
                                "Enable the unit, so that uWSGI starts at boot: `systemctl enable {}`.",
                                service.name()
                            ));
                        }
                    }
                    Manager::SysV => {
                        let edits =
                            script::init_script(service, &program, &server_ini, run_as, notes)?;
                        plan.modify(&service.path, service.source.bytes(), edits);
                        steps.push(format!(
                            "Restart the init script, which now starts uWSGI: `service {} restart`.",
                            service.name()
                        ));
                    }
                    Manager::Supervisor => {
                        let edits =
                            script::supervisor(service, &program, &server_ini, run_as, notes)?;
                        plan.modify(&service.path, service.source.bytes(), edits);
                        steps.push(format!(
                            "Have supervisor start uWSGI instead of paster: `supervisorctl reread && supervisorctl update {}`.",
                            service.name()
                        ));
                    }
                }
            }
            if !units_rewritten.is_empty() {
                steps.insert(
                    0,
                    format!(
                        "Reload systemd and restart the unit, which now starts uWSGI (this stops paster): `systemctl daemon-reload && systemctl restart {}`.",
                        units_rewritten.join(" ")
                    ),
                );
            }
            true
        }
        Choice::NewUnit(others) => {
            let path = deployment
                .sysroot
                .host(&Path::new("/").join(ETC_SYSTEMD).join(NEW_UNIT));
            // What the replaced service set for the site (supervisor's
            // `environment=`, an init script's exports) goes on with it.
            let mut environment: Vec<(String, String)> = Vec::new();
            for (name, value) in others.iter().flat_map(|s| &s.environment) {
                environment.retain(|(n, _)| n != name);
                environment.push((name.clone(), value.clone()));
            }
            if !environment.is_empty() {
                let names: Vec<&str> = environment.iter().map(|(n, _)| n.as_str()).collect();
                notes.changed(format!(
                    "the new unit sets what {} set: {}",
                    others
                        .iter()
                        .map(|s| deployment.server(&s.path).display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    names.join(", ")
                ));
            }
            let values = unit::NewUnit::new(
                &deployment.server(&deployment.root).display().to_string(),
                &[program.clone(), "--ini".to_string(), server_ini.clone()],
                &environment,
                die_on_term,
                run_as,
            )?;
            plan.create(&path, unit::render_new(&values, templates)?);
            notes.changed(format!(
                "{}: a systemd unit that starts uWSGI",
                path.display()
            ));
            disable(others, &mut steps);
            steps.push(format!(
                "Start uWSGI now and at boot: `systemctl daemon-reload && systemctl enable --now {}`.",
                NEW_UNIT.trim_end_matches(".service")
            ));
            true
        }
        Choice::DebianApps(others) => {
            let link = deployment.sysroot.host(
                &Path::new("/")
                    .join(APPS_ENABLED)
                    .join(format!("{NAME}.ini")),
            );
            let available = deployment
                .sysroot
                .host(&Path::new("/").join(APPS_AVAILABLE));
            let target = match ini.strip_prefix(&available) {
                Ok(name) => Path::new("../apps-available").join(name),
                Err(_) => deployment.server(ini),
            };
            plan.link(&link, &target);
            notes.changed(format!(
                "{}: links to the ini, so that Debian's uwsgi starts it (with /usr/share/uwsgi/conf/default.ini)",
                link.display()
            ));
            disable(others, &mut steps);
            let sysroot = &deployment.sysroot;
            if !sysroot.exists(&sysroot.host(Path::new("/etc/init.d/uwsgi"))) {
                steps.push("Install Debian's uwsgi package, which starts the apps in /etc/uwsgi/apps-enabled: `apt-get install uwsgi`.".to_string());
            }
            steps.push(format!(
                "Start it (Debian's uwsgi starts it at boot from now on): `service uwsgi start {NAME}`."
            ));
            true
        }
        Choice::Emperor(others) => {
            let vassals = deployment.sysroot.host(&Path::new("/").join(VASSALS));
            if !ini.starts_with(&vassals) {
                let link = vassals.join(format!("{NAME}.ini"));
                plan.link(&link, &deployment.server(ini));
                notes.changed(format!(
                    "{}: the emperor's vassal, linked to the ini",
                    link.display()
                ));
            } else {
                notes.changed(format!("{}: a vassal of the uWSGI emperor", ini.display()));
            }
            emperor_user(deployment, notes);
            disable(others, &mut steps);
            steps.push("Make sure the emperor runs, and starts at boot; it starts the vassal by itself: `systemctl enable --now uwsgi-emperor`.".to_string());
            true
        }
        Choice::None(services) => {
            disable(services, &mut steps);
            let styles = if runtime.program == Program::System {
                "`--service-style systemd` (a unit), `debian-apps` (Debian's uwsgi package) or `emperor` (a vassal)"
            } else {
                "`--service-style systemd` (a unit that starts the virtualenv's uWSGI)"
            };
            notes.warning(format!(
                "nothing will start uWSGI at boot: {styles} makes something do it"
            ));
            false
        }
    };
    Ok(Planned {
        steps,
        started_at_boot,
    })
}

/// `root` or uid 0.
pub fn is_root_name(name: &str) -> bool {
    name == "root" || name == "0"
}

/// Debian's emperor.ini makes the emperor www-data: vassals then run as
/// www-data whatever their uid says (a non-root uWSGI cannot switch).
fn emperor_user(deployment: &Deployment, notes: &mut Notes) {
    let path = deployment.sysroot.host(&Path::new("/").join(EMPEROR_INI));
    let Ok(source) = crate::source::SourceFile::read_in(&deployment.sysroot, &path) else {
        return;
    };
    let text = String::from_utf8_lossy(source.bytes());
    let user = text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "uid").then(|| value.trim().to_string())
    });
    if let Some(user) = user.filter(|u| u != "root" && u != "0") {
        notes.warning(format!(
            "{} runs the emperor as {user}: its vassals run as {user} too, whatever their uid says; remove uid and gid there (the emperor then runs as root and each vassal switches to its own) or make {user} able to run the site",
            deployment.server(&path).display()
        ));
    }
}
