//! A MediaGoblin deployment as mgdeploy sees it: the files (found by
//! `discover`), parsed once, and what they say about where MediaGoblin is
//! mounted, how nginx reaches it and how it runs. `migrate` and `check` both
//! read this model and nothing else.

pub mod access;
pub mod discover;
pub mod host;
pub mod locations;
pub mod paste_app;
pub mod python;
pub mod uwsgi;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ini::{self, Document};
use crate::nginx::include::Loaded;
use crate::protocol::Address;
use crate::service::Service;
use crate::source::SourceFile;

/// An INI file and where it was read from (absolute).
#[derive(Debug)]
pub struct IniFile {
    pub path: PathBuf,
    pub document: Document,
}

/// The nginx configuration: every file, from the one named first.
#[derive(Debug)]
pub struct Nginx {
    /// The file discovery started from (nginx.conf or a site file).
    pub main: PathBuf,
    /// `main` is a whole nginx.conf (it has `http` or `events`), which
    /// `nginx -t -c` can test.
    pub is_main_conf: bool,
    /// What relative includes start from: the server's nginx directory (a
    /// server path).
    pub prefix: PathBuf,
    pub loaded: Loaded,
}

/// lazystarter.sh (or an old standalone lazyserver.sh) and the names that
/// link to it.
#[derive(Debug)]
pub struct Lazystarter {
    /// The file itself, symlinks resolved.
    pub path: PathBuf,
    /// The name it was found by in the checkout (`lazystarter.sh`, or
    /// `lazyserver.sh` before 0.3.0): what the plan changes, so that
    /// applying it follows the link only as far as it may.
    pub named: PathBuf,
    pub source: Arc<SourceFile>,
    /// `lazyserver.sh`, `lazycelery.sh` ... that are symlinks to it.
    pub links: Vec<PathBuf>,
}

/// Where the site's background work runs, and what says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Celery {
    /// In the web process (`CELERY_ALWAYS_EAGER=true`).
    Eager(String),
    /// In a separate celery worker.
    Worker(String),
}

impl Celery {
    pub fn is_eager(&self) -> bool {
        matches!(self, Celery::Eager(_))
    }

    /// What decided it, for messages.
    pub fn reason(&self) -> &str {
        match self {
            Celery::Eager(reason) | Celery::Worker(reason) => reason,
        }
    }
}

/// URLs MediaGoblin builds for static files, from mediagoblin.ini (they do
/// not follow SCRIPT_NAME).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticUrls {
    pub static_files: String,
    pub media: String,
    pub theme: String,
    pub plugin: String,
}

impl Default for StaticUrls {
    fn default() -> Self {
        StaticUrls {
            static_files: "/mgoblin_static/".into(),
            media: "/mgoblin_media/".into(),
            theme: "/theme_static/".into(),
            plugin: "/plugin_static/".into(),
        }
    }
}

/// The `[server:fcgi]` of paste.ini: where flup listens, when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FcgiServer {
    /// `None` when it is left to the command line (`%(fcgi_host)s`).
    pub address: Option<Address>,
}

/// Everything mgdeploy knows about one site, read once by `discover`.
#[derive(Debug)]
pub struct Deployment {
    /// The checkout, absolute.
    pub root: PathBuf,
    /// The checkout as named on the command line, when that differs (a
    /// symlinked path that service files may use).
    pub root_as_named: Option<PathBuf>,
    pub paste: IniFile,
    pub mediagoblin_ini: Option<IniFile>,
    pub lazystarter: Option<Lazystarter>,
    /// The virtualenv MediaGoblin is installed in.
    pub python: Option<python::Virtualenv>,
    /// The uWSGI plugins this host has.
    pub host: host::Host,
    /// Services (systemd, SysV init, supervisor) that start this site.
    pub services: Vec<Service>,
    pub nginx: Nginx,
    /// Where the uWSGI ini is (or will be).
    pub uwsgi_path: PathBuf,
    /// The user named it (--uwsgi-ini, mgdeploy.toml): it stays there.
    pub uwsgi_path_named: bool,
    /// The uWSGI ini, when it exists.
    pub uwsgi: Option<IniFile>,
    pub fcgi_server: Option<FcgiServer>,
    /// Where paste.ini's other servers (waitress, paster's http) listen.
    pub http_servers: Vec<Address>,
    pub celery: Celery,
    pub static_urls: StaticUrls,
    /// Owner and group of the checkout; unknown in a mirror of the server.
    pub owner: Option<(u32, u32)>,
    /// The users and groups of the server.
    pub accounts: access::Accounts,
    /// Where the server's files are on this machine.
    pub sysroot: crate::sysroot::Sysroot,
}

impl Deployment {
    /// The paste.ini has logging sections (`paste-logger` can use them).
    pub fn paste_has_logging(&self) -> bool {
        ["loggers", "handlers", "formatters"]
            .iter()
            .all(|name| self.paste.document.section(name).is_some())
    }

    pub fn paste_path(&self) -> &Path {
        &self.paste.path
    }

    /// The server path of a file read at `host` (the same path on the
    /// server itself).
    pub fn server(&self, host: &Path) -> PathBuf {
        self.sysroot.server(host)
    }

    /// How `nginx -t` tests a plan that changes this site's nginx files.
    pub fn nginx_gate(&self) -> crate::nginx::binary::Gate {
        let nginx = &self.nginx;
        crate::nginx::binary::Gate::for_site(
            &self.server(&nginx.main),
            nginx.is_main_conf,
            &nginx.prefix,
            crate::nginx::analyze::site_context(&nginx.loaded, nginx.is_main_conf),
            &self.sysroot,
        )
    }

    /// The name of the checkout's owner (its uid when it has none).
    pub fn owner_name(&self) -> Option<String> {
        let (uid, _) = self.owner?;
        Some(
            self.accounts
                .user_name(uid)
                .map_or_else(|| uid.to_string(), str::to_string),
        )
    }

    /// The name of the checkout's group (its gid when it has none).
    pub fn owner_group_name(&self) -> Option<String> {
        let (_, gid) = self.owner?;
        Some(
            self.accounts
                .group_name(gid)
                .map_or_else(|| gid.to_string(), str::to_string),
        )
    }

    /// The sockets of the uWSGI ini that speak the uwsgi protocol.
    pub fn uwsgi_sockets(&self) -> Vec<Address> {
        self.uwsgi
            .as_ref()
            .map(|file| {
                uwsgi::Settings::of(file)
                    .uwsgi_sockets()
                    .into_iter()
                    .filter_map(|e| Address::parse_uwsgi(&e.value))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The services that run `role` for the site.
    pub fn services_of(&self, role: crate::service::Role) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(move |s| s.role == role)
    }

    /// nginx's worker user and group (`user` in nginx.conf; Debian's
    /// `www-data` when nginx.conf does not say). Without a group, nginx
    /// uses the group named like the user.
    pub fn nginx_user(&self) -> (String, String) {
        for config in self.nginx.loaded.configs() {
            for node in &config.children {
                if let crate::nginx::syntax::Node::Directive(d) = node
                    && config.bytes(d.name.span) == b"user"
                    && let Some(user) = d.args.first()
                {
                    let user = config.value(user);
                    let group = d
                        .args
                        .get(1)
                        .map_or_else(|| user.clone(), |g| config.value(g));
                    return (user, group);
                }
            }
        }
        ("www-data".to_string(), "www-data".to_string())
    }
}

/// Strips one pair of matching quotes, as configobj (which MediaGoblin uses
/// for mediagoblin.ini) does.
pub fn configobj_unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// The typed view of `section` of a paste dialect file (`ini::typed`);
/// `None` when the section is absent or lacks a required key.
pub fn view<T: serde::de::DeserializeOwned>(file: &IniFile, section: &str) -> Option<T> {
    let resolver = file.document.resolver(&file.path);
    ini::typed::paste_view(&resolver, &file.document, section)
        .ok()
        .flatten()
}

/// The `[uwsgi]` entries of a uWSGI ini.
pub fn uwsgi_entries<'a>(file: &'a IniFile) -> impl Iterator<Item = &'a ini::Entry> + 'a {
    file.document.entries("uwsgi")
}
