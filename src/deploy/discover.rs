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
use crate::cli::DiscoveryArgs;
use crate::diagnostic::Diagnostic;
use crate::ini::typed::{CelerySettings, MediaGoblinSettings, PasteApp, PasteServer, PublicStore};
use crate::ini::{paste, uwsgi};
use crate::nginx::include::{follow_includes, read_main};
use crate::nginx::syntax::Node;
use crate::protocol::Address;
use crate::service::{self, Role, Service, ServiceDirs};
use crate::source::SourceFile;

/// Where nginx keeps its configuration on Debian and most other systems.
pub const NGINX_DIR: &str = "/etc/nginx";

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    }
}

fn read_paste_dialect(path: &Path) -> Result<IniFile, Diagnostic> {
    let source = SourceFile::read(path).map_err(|e| {
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

/// Reads the deployment; what cannot be read at all stops here.
pub fn discover(args: &DiscoveryArgs) -> Result<(Deployment, Problems), Diagnostic> {
    let mut problems = Problems::default();
    let root = std::fs::canonicalize(&args.root).map_err(|e| {
        Diagnostic::error(format!(
            "cannot use {} as the MediaGoblin checkout: {e}",
            args.root.display()
        ))
        .in_file(&args.root)
    })?;
    if !root.is_dir() {
        return Err(
            Diagnostic::error(format!("{} is not a directory", root.display())).in_file(&root),
        );
    }

    let paste_path = match &args.paste {
        Some(path) => absolute(path),
        None => ["paste_local.ini", "paste.ini"]
            .iter()
            .map(|name| root.join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Diagnostic::error(format!("no paste_local.ini or paste.ini in {}", root.display()))
                    .in_file(&root)
                    .with_help("run mgdeploy in the MediaGoblin checkout, or name it with -C DIR (or the file with --paste)")
            })?,
    };
    let paste = read_paste_dialect(&paste_path)?;
    super::paste_app::check(&paste)?;
    let lazystarter = find_lazystarter(&root);
    let as_named = absolute(&args.root);
    let root_as_named = (as_named != root).then_some(as_named);

    let mediagoblin_path = match &args.mediagoblin_ini {
        Some(path) => Some(absolute(path)),
        None => mediagoblin_config(&paste, &root),
    };
    let mediagoblin_ini = match mediagoblin_path {
        Some(path) => match read_paste_dialect(&path) {
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
        Some(path) => absolute(path),
        None => PathBuf::from(NGINX_DIR).join("nginx.conf"),
    };
    let nginx = load_nginx(&nginx_main, args.nginx_prefix.as_deref())?;
    problems.nginx.extend(nginx.loaded.errors().cloned());
    problems.nginx.extend(crate::nginx::analyze::analyze(
        &nginx.loaded,
        nginx.is_main_conf,
    ));

    let names: Vec<PathBuf> = std::iter::once(root.clone())
        .chain(root_as_named.clone())
        .collect();
    let default_ini = root.join("mediagoblin-uwsgi.ini");
    let uwsgi_path = match args.uwsgi_ini.as_deref() {
        Some(path) => absolute(path),
        None if default_ini.is_file() => default_ini,
        None => find_uwsgi_ini(Path::new("/"), &names).unwrap_or(default_ini),
    };
    let uwsgi = match crate::source::what_is_at(&uwsgi_path) {
        None => None,
        Some("a file" | "a symbolic link to a file") => {
            let source = SourceFile::read(&uwsgi_path).map_err(|e| {
                Diagnostic::error(format!("cannot read {}: {e}", uwsgi_path.display()))
                    .in_file(&uwsgi_path)
            })?;
            let document = uwsgi::read(&source).map_err(|e| {
                e.with_note(format!(
                    "mgdeploy reads {} as the site's uWSGI ini",
                    uwsgi_path.display()
                ))
                .with_help("if that is not the uWSGI ini, name where it goes with --uwsgi-ini FILE")
            })?;
            Some(IniFile {
                path: uwsgi_path.clone(),
                document,
            })
        }
        Some(other) => {
            return Err(Diagnostic::error(format!(
                "{} is {other}; it is where the uWSGI ini goes",
                uwsgi_path.display()
            ))
            .in_file(&uwsgi_path)
            .with_help("move it away, or name another place for the ini with --uwsgi-ini FILE"));
        }
    };

    let named_venv = uwsgi.as_ref().and_then(|file| ini_virtualenv(file, &root));
    let python = python::find(&root, named_venv.as_deref());
    let host = Host::read(Path::new(PLUGIN_DIR));
    let named_service = args.service.as_deref().map(absolute);
    let dirs = match &named_service {
        Some(path) => ServiceDirs::standard(Path::new("/")).with_named(path),
        None => ServiceDirs::standard(Path::new("/")),
    };
    let services = service::discover(&names, named_service.as_deref(), &dirs)?;

    let fcgi_server = fcgi_server(&paste);
    let http_servers = http_servers(&paste);
    let celery = celery_mode(
        lazystarter.as_ref(),
        mediagoblin_ini.as_ref(),
        uwsgi.as_ref(),
        &services,
    );
    let static_urls = static_urls(mediagoblin_ini.as_ref());
    let owner = std::fs::metadata(&root)
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((0, 0));

    Ok((
        Deployment {
            root,
            root_as_named,
            paste,
            mediagoblin_ini,
            lazystarter,
            python,
            host,
            services,
            nginx,
            uwsgi_path,
            uwsgi,
            fcgi_server,
            http_servers,
            celery,
            static_urls,
            owner,
            accounts: super::access::Accounts::read(Path::new("/")),
        },
        problems,
    ))
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
fn mediagoblin_config(paste: &IniFile, root: &Path) -> Option<PathBuf> {
    let listed: Vec<PathBuf> = app_section(paste)
        .and_then(|(_, app)| app.config)
        .map(|config| config.split_whitespace().map(|p| root.join(p)).collect())
        .unwrap_or_default();
    listed
        .into_iter()
        .chain(
            ["mediagoblin_local.ini", "mediagoblin.ini"]
                .iter()
                .map(|n| root.join(n)),
        )
        .find(|p| p.is_file())
}

fn find_lazystarter(root: &Path) -> Option<Lazystarter> {
    let starter = root.join("lazystarter.sh");
    let path = if starter.is_file() {
        std::fs::canonicalize(&starter).ok()?
    } else {
        // Before 0.3.0 lazyserver.sh was the script itself.
        let server = root.join("lazyserver.sh");
        std::fs::canonicalize(&server)
            .ok()
            .filter(|p| p.is_file())?
    };
    let source = SourceFile::read(&path).ok()?;
    let mut links: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
        })
        .filter(|p| std::fs::canonicalize(p).is_ok_and(|target| target == path))
        .collect();
    links.sort();
    Some(Lazystarter {
        path,
        source,
        links,
    })
}

/// Reads nginx's configuration from `main`, following includes.
fn load_nginx(main: &Path, prefix: Option<&Path>) -> Result<Nginx, Diagnostic> {
    if !main.exists() {
        return Err(
            Diagnostic::error(format!("{} does not exist", main.display()))
                .in_file(main)
                .with_help("name the nginx site file or nginx.conf with --nginx FILE"),
        );
    }
    let first = read_main(main)?;
    // nginx.conf has `http` or `events` at its top; a site file is included
    // from nginx.conf, and its relative includes start at /etc/nginx.
    let is_main_conf = first.config.as_ref().is_ok_and(|config| {
        config.children.iter().any(|node| match node {
            Node::Directive(d) => matches!(config.bytes(d.name.span), b"http" | b"events"),
            Node::Comment(_) => false,
        })
    });
    let prefix = match prefix {
        Some(prefix) => absolute(prefix),
        None if is_main_conf => main
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        None => PathBuf::from(NGINX_DIR),
    };
    let loaded = follow_includes(first, &prefix);
    Ok(Nginx {
        main: main.to_path_buf(),
        is_main_conf,
        prefix,
        loaded,
    })
}

/// Where Debian's uwsgi package and its emperor keep the inis they run
/// (relative to `/`).
pub const UWSGI_INI_DIRS: [&str; 2] = ["etc/uwsgi/apps-enabled", "etc/uwsgi-emperor/vassals"];

/// An ini in `UWSGI_INI_DIRS` (under `sysroot`) that names the checkout.
fn find_uwsgi_ini(sysroot: &Path, names: &[PathBuf]) -> Option<PathBuf> {
    UWSGI_INI_DIRS
        .iter()
        .filter_map(|dir| std::fs::read_dir(sysroot.join(dir)).ok())
        .flat_map(|entries| entries.filter_map(Result::ok).map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "ini"))
        .filter(|path| std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() < 1024 * 1024))
        .find(|path| {
            std::fs::read_to_string(path)
                .is_ok_and(|text| names.iter().any(|n| service::mentions_path(&text, n)))
        })
}

/// The virtualenv an existing uWSGI ini names (`virtualenv`, `home`,
/// `venv`, `pyhome`), relative paths from the checkout; values with uWSGI
/// placeholders are left alone.
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
        .filter_map(|server| {
            match (
                server.unix_socket.or(server.socket),
                server.host,
                server.port,
            ) {
                (Some(socket), _, _) => Address::parse_uwsgi(&socket),
                (None, host, Some(port)) => {
                    // waitress and paster's http take `host = 0.0.0.0` or nothing.
                    let host = host.unwrap_or_else(|| "0.0.0.0".to_string());
                    Address::parse_uwsgi(&format!("{host}:{port}"))
                }
                _ => None,
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
        Some(worker) => format!("{reason}; {} runs a celery worker", worker.path.display()),
        None => reason,
    };
    // A service that starts the FastCGI server decides.
    if let Some(server) = services.iter().find(|s| s.role == Role::FastCgi) {
        let name = server.path.display();
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
