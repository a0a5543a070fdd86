//! Finding and reading a deployment's files, as the DISCOVERY options and
//! MediaGoblin's own conventions say (paste_local.ini before paste.ini, the
//! first readable file of the app's `config`, lazyserver.sh linking to
//! lazystarter.sh).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::host::{Host, PLUGIN_DIR};
use super::{
    Celery, Deployment, FcgiServer, IniFile, Lazystarter, Nginx, StaticUrls, configobj_unquote,
    python, view,
};
use crate::diagnostic::Diagnostic;
use crate::ini::typed::{CelerySettings, MediaGoblinSettings, PasteApp, PasteServer, PublicStore};
use crate::ini::{paste, uwsgi};
use crate::nginx::include::{follow_includes, read_main};
use crate::nginx::syntax::Node;
use crate::protocol::Address;
use crate::service::{self, Role, Service, ServiceDirs};
use crate::source::SourceFile;
use crate::sysroot::Sysroot;

/// Where nginx keeps its configuration on Debian and most other systems.
pub const NGINX_DIR: &str = "/etc/nginx";

fn read_paste_dialect(sysroot: &Sysroot, path: &Path) -> Result<IniFile, Diagnostic> {
    let source = SourceFile::read_in(sysroot, path).map_err(|e| {
        Diagnostic::error(format!("cannot read {}: {e}", path.display())).in_file(path)
    })?;
    let document = paste::read(&source)?;
    Ok(IniFile {
        path: path.to_path_buf(),
        document,
    })
}

/// Problems that leave the model usable, for the caller to weigh: `migrate`
/// will not rewrite a configuration nginx cannot read, `check` reports them.
#[derive(Debug, Default)]
pub struct Problems {
    /// nginx files that do not parse, includes that are missing.
    pub nginx: Vec<Diagnostic>,
    /// Anything else (a mediagoblin.ini configparser cannot read).
    pub other: Vec<Diagnostic>,
}

/// Where the deployment's files are, as the user named them (command line,
/// mgdeploy.toml). `None` means "find it as MediaGoblin's conventions say".
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    pub root: PathBuf,
    pub paste: Option<PathBuf>,
    pub mediagoblin_ini: Option<PathBuf>,
    pub nginx: Option<PathBuf>,
    pub nginx_prefix: Option<PathBuf>,
    pub uwsgi_ini: Option<PathBuf>,
    pub service: Option<PathBuf>,
    /// The server's tree, mirrored on this machine.
    pub sysroot: Option<PathBuf>,
    /// The uWSGI ini an earlier migration wrote, as this machine's journal
    /// records it (`apply::last_written_uwsgi_ini`, read by the caller):
    /// where the ini is when it was written away from the default.
    pub written_uwsgi_ini: Option<PathBuf>,
}

impl Discovery {
    /// The checkout as this machine names it (not resolved): with a mirror,
    /// an absolute root is the server's path.
    pub fn host_root(&self) -> PathBuf {
        match &self.sysroot {
            Some(dir) if self.root.is_absolute() => {
                dir.join(self.root.strip_prefix("/").unwrap_or(&self.root))
            }
            _ => self.root.clone(),
        }
    }
}

fn cannot_use(what: &str, path: &Path, error: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(format!("cannot use {} as {what}: {error}", path.display())).in_file(path)
}

/// Reads the deployment; what cannot be read at all stops here.
pub fn discover(args: &Discovery) -> Result<(Deployment, Problems), Diagnostic> {
    let mut problems = Problems::default();
    let sysroot = match &args.sysroot {
        Some(dir) => {
            Sysroot::mirror(dir).map_err(|e| cannot_use("the server's tree (--sysroot)", dir, e))?
        }
        None => Sysroot::none(),
    };
    // With a mirror, an absolute path given is the server's; a relative one
    // is this machine's, from the working directory.
    let host = |path: &Path| sysroot.from_command_line(path);
    let as_named = host(&args.root);
    let root = sysroot
        .resolve(&sysroot.server(&as_named))
        .map_err(|e| cannot_use("the MediaGoblin checkout", &args.root, e))?;
    if !sysroot.is_dir(&root) {
        return Err(
            Diagnostic::error(format!("{} is not a directory", root.display())).in_file(&root),
        );
    }
    let root_as_named = (as_named != root).then_some(as_named);

    let paste_path = match &args.paste {
        Some(path) => host(path),
        None => ["paste_local.ini", "paste.ini"]
            .iter()
            .map(|name| root.join(name))
            .find(|p| sysroot.is_file(p))
            .ok_or_else(|| {
                Diagnostic::error(format!("no paste_local.ini or paste.ini in {}", root.display()))
                    .in_file(&root)
                    .with_help("run mgdeploy in the MediaGoblin checkout, or name it with -C DIR (or the file with --paste)")
            })?,
    };
    let paste = read_paste_dialect(&sysroot, &paste_path)?;
    super::paste_app::check(&paste)?;
    let lazystarter = find_lazystarter(&root, &sysroot);

    let mediagoblin_path = match &args.mediagoblin_ini {
        Some(path) => Some(host(path)),
        None => mediagoblin_config(&paste, &root, &sysroot),
    };
    let mediagoblin_ini = match mediagoblin_path {
        Some(path) => match read_paste_dialect(&sysroot, &path) {
            Ok(file) => Some(file),
            Err(error) => {
                problems.other.push(error.with_note(
                    "static URLs and celery settings are assumed to be MediaGoblin's defaults",
                ));
                None
            }
        },
        None => None,
    };

    let nginx_main = match &args.nginx {
        Some(path) => host(path),
        None => sysroot.host(&Path::new(NGINX_DIR).join("nginx.conf")),
    };
    let nginx_prefix = args
        .nginx_prefix
        .as_deref()
        .map(|p| sysroot.server(&host(p)));
    let nginx = load_nginx(&nginx_main, nginx_prefix.as_deref(), &sysroot)?;
    problems.nginx.extend(nginx.loaded.problems().cloned());
    problems.nginx.extend(crate::nginx::analyze::analyze(
        &nginx.loaded,
        nginx.is_main_conf,
    ));

    // Services and inis name the checkout by its server path.
    let names: Vec<PathBuf> = std::iter::once(root.clone())
        .chain(root_as_named.clone())
        .map(|p| sysroot.server(&p))
        .collect();
    let default_ini = root.join("mediagoblin-uwsgi.ini");
    let uwsgi_path = match args.uwsgi_ini.as_deref() {
        Some(path) => host(path),
        None if sysroot.is_file(&default_ini) => default_ini,
        // A mirror's journal is a repository's file, not a record of what
        // this machine did: it tells nothing there.
        None => (!sysroot.is_mirror())
            .then(|| args.written_uwsgi_ini.clone())
            .flatten()
            .or_else(|| find_uwsgi_ini(&sysroot, &names))
            .unwrap_or(default_ini),
    };
    let uwsgi = read_uwsgi_ini(&sysroot, &uwsgi_path)?;

    let named_venv = uwsgi
        .as_ref()
        .and_then(|file| ini_virtualenv(file, &sysroot.server(&root)))
        .map(|server| sysroot.host(&server));
    let python = python::find(&sysroot, &root, named_venv.as_deref());
    let plugins = Host::read(&sysroot, &sysroot.host(Path::new(PLUGIN_DIR)));
    let named_service = args.service.as_deref().map(host);
    let dirs = ServiceDirs::standard(&sysroot);
    let dirs = match &named_service {
        Some(path) => dirs.with_named(path),
        None => dirs,
    };
    let services = service::discover(&names, named_service.as_deref(), &dirs)?;

    let fcgi_server = fcgi_server(&paste);
    let http_servers = http_servers(&paste);
    let celery = celery_mode(
        lazystarter.as_ref(),
        mediagoblin_ini.as_ref(),
        uwsgi.as_ref(),
        &services,
        &sysroot,
    );
    let static_urls = static_urls(mediagoblin_ini.as_ref());
    // A mirror's owners are this machine's, not the server's.
    let owner = (!sysroot.is_mirror())
        .then(|| sysroot.metadata(&root).ok().map(|m| (m.uid(), m.gid())))
        .flatten();
    let accounts = super::access::Accounts::read(&sysroot);

    Ok((
        Deployment {
            root,
            root_as_named,
            paste,
            mediagoblin_ini,
            lazystarter,
            python,
            host: plugins,
            services,
            nginx,
            uwsgi_path,
            uwsgi_path_named: args.uwsgi_ini.is_some(),
            uwsgi,
            fcgi_server,
            http_servers,
            celery,
            static_urls,
            owner,
            accounts,
            sysroot,
        },
        problems,
    ))
}

/// The uWSGI ini at `path`, when there is one; what else is there is named.
fn read_uwsgi_ini(sysroot: &Sysroot, path: &Path) -> Result<Option<IniFile>, Diagnostic> {
    match sysroot.what_is_at(path) {
        None => Ok(None),
        Some("a file" | "a symbolic link to a file") => {
            let source = SourceFile::read_in(sysroot, path).map_err(|e| {
                Diagnostic::error(format!("cannot read {}: {e}", path.display())).in_file(path)
            })?;
            let document = uwsgi::read(&source).map_err(|e| {
                e.with_note(format!(
                    "mgdeploy reads {} as the site's uWSGI ini",
                    path.display()
                ))
                .with_help("if that is not the uWSGI ini, name where it goes with --uwsgi-ini FILE")
            })?;
            Ok(Some(IniFile {
                path: path.to_path_buf(),
                document,
            }))
        }
        Some(other) => Err(Diagnostic::error(format!(
            "{} is {other}; it is where the uWSGI ini goes",
            path.display()
        ))
        .in_file(path)
        .with_help("move it away, or name another place for the ini with --uwsgi-ini FILE")),
    }
}

/// The app section MediaGoblin's egg is loaded from, and its view.
pub fn app_section(paste: &IniFile) -> Option<(String, PasteApp)> {
    let apps: Vec<(String, PasteApp)> = paste
        .document
        .sections_with_prefix("app:")
        .filter_map(|s| view::<PasteApp>(paste, &s.name).map(|app| (s.name.clone(), app)))
        .collect();
    let mediagoblin = apps
        .iter()
        .position(|(_, app)| app.use_.contains("mediagoblin"));
    apps.into_iter().nth(mediagoblin.unwrap_or(0))
}

/// MediaGoblin reads the first file of its app's `config` setting that
/// exists (mediagoblin/app.py); older checkouts name only mediagoblin.ini.
fn mediagoblin_config(paste: &IniFile, root: &Path, sysroot: &Sysroot) -> Option<PathBuf> {
    let listed: Vec<PathBuf> = app_section(paste)
        .and_then(|(_, app)| app.config)
        .map(|config| {
            config
                .split_whitespace()
                .map(|p| sysroot.named_in_file(Path::new(p), root))
                .collect()
        })
        .unwrap_or_default();
    listed
        .into_iter()
        .chain(
            ["mediagoblin_local.ini", "mediagoblin.ini"]
                .iter()
                .map(|n| root.join(n)),
        )
        .find(|p| sysroot.is_file(p))
}

fn find_lazystarter(root: &Path, sysroot: &Sysroot) -> Option<Lazystarter> {
    let resolve = |p: &Path| sysroot.resolve(&sysroot.server(p)).ok();
    let starter = root.join("lazystarter.sh");
    // Before 0.3.0 lazyserver.sh was the script itself.
    let named = if sysroot.is_file(&starter) {
        starter
    } else {
        root.join("lazyserver.sh")
    };
    let path = resolve(&named).filter(|p| sysroot.is_file(p))?;
    let source = SourceFile::read_in(sysroot, &path).ok()?;
    let mut links: Vec<PathBuf> = sysroot
        .read_dir(root)
        .ok()?
        .into_iter()
        .map(|name| root.join(name))
        .filter(|p| {
            sysroot
                .symlink_metadata(p)
                .is_ok_and(|m| m.file_type().is_symlink())
        })
        .filter(|p| resolve(p).is_some_and(|target| target == path))
        .collect();
    links.sort();
    Some(Lazystarter {
        path,
        named,
        source,
        links,
    })
}

/// Reads nginx's configuration from `main` (a host path), following
/// includes; `prefix` is the server's nginx directory, when given.
fn load_nginx(main: &Path, prefix: Option<&Path>, sysroot: &Sysroot) -> Result<Nginx, Diagnostic> {
    let real = sysroot.resolve(&sysroot.server(main)).map_err(|e| {
        Diagnostic::error(format!("cannot read {}: {e}", main.display()))
            .in_file(main)
            .with_help("name the nginx site file or nginx.conf with --nginx FILE")
    })?;
    let mut first = read_main(sysroot, &real)?;
    // Named as given: a symlink in sites-enabled stays what the user sees.
    first.path = main.to_path_buf();
    if let Ok(config) = &mut first.config {
        config.source = SourceFile::new(main, config.source.bytes().to_vec());
    }
    // nginx.conf has `http` or `events` at its top; a site file is included
    // from nginx.conf, and its relative includes start at /etc/nginx.
    let is_main_conf = first.config.as_ref().is_ok_and(|config| {
        config.children.iter().any(|node| match node {
            Node::Directive(d) => matches!(config.bytes(d.name.span), b"http" | b"events"),
            Node::Comment(_) => false,
        })
    });
    let prefix = match prefix {
        Some(prefix) => prefix.to_path_buf(),
        None if is_main_conf => sysroot
            .server(main)
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
        None => PathBuf::from(NGINX_DIR),
    };
    let loaded = follow_includes(first, &prefix, sysroot);
    Ok(Nginx {
        main: main.to_path_buf(),
        is_main_conf,
        prefix,
        loaded,
    })
}

/// Where Debian's uwsgi package and its emperor keep the inis they run
/// (relative to `/`), and where an ini waits to be enabled.
pub const UWSGI_INI_DIRS: [&str; 3] = [
    "etc/uwsgi/apps-enabled",
    "etc/uwsgi-emperor/vassals",
    "etc/uwsgi/apps-available",
];

/// An ini in `UWSGI_INI_DIRS` (under `sysroot`) that names the checkout.
fn find_uwsgi_ini(sysroot: &Sysroot, names: &[PathBuf]) -> Option<PathBuf> {
    UWSGI_INI_DIRS
        .iter()
        .flat_map(|dir| {
            let dir = sysroot.host(&Path::new("/").join(dir));
            let mut names = sysroot.read_dir(&dir).unwrap_or_default();
            names.sort();
            names.into_iter().map(move |name| dir.join(name))
        })
        .filter(|path| path.extension().is_some_and(|e| e == "ini"))
        .filter(|path| {
            sysroot
                .metadata(path)
                .is_ok_and(|m| m.is_file() && m.len() < 1024 * 1024)
        })
        .find(|path| {
            sysroot.read(path).is_ok_and(|bytes| {
                let text = String::from_utf8_lossy(&bytes);
                names.iter().any(|n| service::mentions_path(&text, n))
            })
        })
}

/// The virtualenv an existing uWSGI ini names (`virtualenv`, `home`,
/// `venv`, `pyhome`), as a server path, relative ones from the checkout's;
/// values with uWSGI placeholders are left alone.
fn ini_virtualenv(file: &IniFile, root: &Path) -> Option<PathBuf> {
    let value = super::uwsgi_entries(file)
        .filter(|e| {
            matches!(
                e.key.as_str(),
                "virtualenv" | "home" | "venv" | "pyhome" | "H"
            )
        })
        .map(|e| e.value.trim().to_string())
        .last()?;
    if value.is_empty() || value.contains('%') || value.contains('$') {
        return None;
    }
    Some(root.join(value))
}

/// `[server:fcgi]`: flup's address, unless it is left to the command line.
fn fcgi_server(paste: &IniFile) -> Option<FcgiServer> {
    paste.document.section("server:fcgi")?;
    let server = view::<PasteServer>(paste, "server:fcgi");
    let address = server.and_then(|s| match (s.socket, s.host, s.port) {
        (Some(socket), _, _) => Address::parse_uwsgi(&socket),
        (None, Some(host), Some(port)) => Address::parse_uwsgi(&format!("{host}:{port}")),
        _ => None,
    });
    Some(FcgiServer { address })
}

/// Where paste.ini's HTTP servers listen (every `[server:*]` but flup's
/// with a host and port, or a UNIX socket, that interpolate).
fn http_servers(paste: &IniFile) -> Vec<Address> {
    paste
        .document
        .sections_with_prefix("server:")
        .filter(|s| s.name != "server:fcgi")
        .filter_map(|s| view::<PasteServer>(paste, &s.name))
        .filter(|server| !server.use_.contains("flup"))
        .flat_map(|server| {
            match (
                server.unix_socket.or(server.socket),
                server.listen,
                server.host,
                server.port,
            ) {
                (Some(socket), ..) => Address::parse_uwsgi(&socket).into_iter().collect(),
                // waitress: `listen = 127.0.0.1:6543 [::1]:6543 *:8080`.
                (None, Some(listen), ..) => listen
                    .split_whitespace()
                    .filter_map(|one| {
                        Address::parse_uwsgi(&match one.strip_prefix("*:") {
                            Some(port) => format!("0.0.0.0:{port}"),
                            None => one.to_string(),
                        })
                    })
                    .collect(),
                (None, None, host, Some(port)) => {
                    // waitress and paster's http take `host = 0.0.0.0` or nothing.
                    let host = host.unwrap_or_else(|| "0.0.0.0".to_string());
                    Address::parse_uwsgi(&format!("{host}:{port}"))
                        .into_iter()
                        .collect()
                }
                _ => Vec::new(),
            }
        })
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether background tasks run in the web process, from what actually
/// starts the site. MediaGoblin is eager when its process environment has
/// CELERY_ALWAYS_EAGER=true (lazystarter.sh exports it), or when
/// mediagoblin.ini's [celery] says so; otherwise a worker runs the tasks.
fn celery_mode(
    lazystarter: Option<&Lazystarter>,
    mediagoblin: Option<&IniFile>,
    uwsgi: Option<&IniFile>,
    services: &[Service],
    sysroot: &Sysroot,
) -> Celery {
    let ini_setting = mediagoblin
        .and_then(|file| view::<CelerySettings>(file, "celery"))
        .and_then(|celery| celery.always_eager)
        .map(|v| configobj_unquote(v.trim()).eq_ignore_ascii_case("true"));
    let ini_or = |worker_reason: String| match ini_setting {
        Some(true) => Celery::Eager("mediagoblin.ini sets CELERY_ALWAYS_EAGER = true".into()),
        _ => Celery::Worker(worker_reason),
    };
    // After a move: what the uWSGI ini sets.
    if let Some(file) = uwsgi
        && let Some(value) = super::uwsgi_entries(file)
            .filter(|e| e.key == "env")
            .filter_map(|e| {
                e.value
                    .trim()
                    .strip_prefix("CELERY_ALWAYS_EAGER=")
                    .map(str::to_string)
            })
            .last()
    {
        return if value.eq_ignore_ascii_case("true") {
            Celery::Eager("the uWSGI ini sets CELERY_ALWAYS_EAGER=true".into())
        } else {
            ini_or(format!("the uWSGI ini sets CELERY_ALWAYS_EAGER={value}"))
        };
    }
    let exports_eager = lazystarter.is_some_and(|starter| {
        String::from_utf8_lossy(starter.source.bytes()).contains("CELERY_ALWAYS_EAGER=true")
    });
    let workers: Vec<&Service> = services.iter().filter(|s| s.role == Role::Celery).collect();
    let with_workers = |reason: String| match workers.first() {
        Some(worker) => format!(
            "{reason}; {} runs a celery worker",
            sysroot.server(&worker.path).display()
        ),
        None => reason,
    };
    // A service that starts paster's server (FastCGI or HTTP) decides.
    if let Some(server) = services
        .iter()
        .find(|s| s.role == Role::FastCgi)
        .or_else(|| services.iter().find(|s| s.role == Role::Http))
    {
        // Said in the ini mgdeploy writes: the server's name for it.
        let server_path = sysroot.server(&server.path);
        let name = server_path.display();
        if server.runs_lazyserver() && exports_eager {
            return Celery::Eager(format!(
                "{name} starts lazyserver.sh, which exports CELERY_ALWAYS_EAGER=true"
            ));
        }
        return match server.env("CELERY_ALWAYS_EAGER") {
            Some(value) if value.eq_ignore_ascii_case("true") => {
                Celery::Eager(format!("{name} sets CELERY_ALWAYS_EAGER=true"))
            }
            Some(value) => ini_or(with_workers(format!(
                "{name} sets CELERY_ALWAYS_EAGER={value}"
            ))),
            None => ini_or(with_workers(format!(
                "{name} does not set CELERY_ALWAYS_EAGER"
            ))),
        };
    }
    // Started by hand with lazyserver.sh, as the docs say.
    if exports_eager && let Some(starter) = lazystarter {
        return Celery::Eager(format!(
            "{} sets CELERY_ALWAYS_EAGER=true",
            file_name(&starter.path)
        ));
    }
    ini_or(with_workers(
        "nothing sets CELERY_ALWAYS_EAGER=true".to_string(),
    ))
}

fn static_urls(mediagoblin: Option<&IniFile>) -> StaticUrls {
    let mut urls = StaticUrls::default();
    let Some(file) = mediagoblin else {
        return urls;
    };
    let unquote = |value: String| configobj_unquote(value.trim()).to_string();
    if let Some(settings) = view::<MediaGoblinSettings>(file, "mediagoblin") {
        let set = |target: &mut String, value: Option<String>| {
            if let Some(value) = value {
                *target = unquote(value);
            }
        };
        set(&mut urls.static_files, settings.direct_remote_path);
        set(&mut urls.theme, settings.theme_web_path);
        set(&mut urls.plugin, settings.plugin_web_path);
    }
    if let Some(base_url) =
        view::<PublicStore>(file, "storage:publicstore").and_then(|s| s.base_url)
    {
        urls.media = unquote(base_url);
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paste_ini(text: &str) -> IniFile {
        let path = Path::new("/srv/mg/paste.ini");
        let source = SourceFile::new(path, text.as_bytes().to_vec());
        IniFile {
            path: path.to_path_buf(),
            document: paste::read(&source).expect("paste.ini reads"),
        }
    }

    #[test]
    fn http_servers_are_read_as_pastedeploy_reads_them() {
        let file = paste_ini(
            "[DEFAULT]\nhttp_port = 6543\n\n[server:main]\nuse = egg:waitress#main\nhost = 127.0.0.1\nport = %(http_port)s\n\n[server:sock]\nuse = egg:waitress#main\nunix_socket = %(here)s/run/paster.sock\n\n[server:listen]\nuse = egg:waitress#main\nlisten = 127.0.0.1:8080 *:8081\n\n[server:cli]\nuse = egg:waitress#main\nhost = %(http_host)s\nport = %(http_port_given)s\n\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = 127.0.0.1\nport = 26543\n",
        );
        let found: Vec<String> = http_servers(&file).iter().map(Address::to_nginx).collect();
        assert_eq!(
            found,
            [
                "127.0.0.1:6543",
                "unix:/srv/mg/run/paster.sock",
                "127.0.0.1:8080",
                "0.0.0.0:8081"
            ]
        );
    }
}
