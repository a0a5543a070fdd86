//! A MediaGoblin deployment as mgdeploy sees it: the files (found by
//! `discover`), parsed once, and what they say about where MediaGoblin is
//! mounted, how nginx reaches it and how it runs. `migrate` and `check` both
//! read this model and nothing else.

pub mod discover;
pub mod locations;
pub mod uwsgi;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ini::{self, Document};
use crate::nginx::include::Loaded;
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
    /// What relative includes start from.
    pub prefix: PathBuf,
    pub loaded: Loaded,
}

/// lazystarter.sh (or an old standalone lazyserver.sh) and the names that
/// link to it.
#[derive(Debug)]
pub struct Lazystarter {
    /// The file itself, symlinks resolved.
    pub path: PathBuf,
    pub source: Arc<SourceFile>,
    /// `lazyserver.sh`, `lazycelery.sh` ... that are symlinks to it.
    pub links: Vec<PathBuf>,
}

/// Where the site's background work runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Celery {
    /// In the web process (`CELERY_ALWAYS_EAGER=true`); says where it is set.
    Eager(String),
    /// A separate celery worker must run.
    Worker,
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
    /// `host:port`, or `None` when it is left to the command line
    /// (`%(fcgi_host)s`).
    pub address: Option<String>,
}

#[derive(Debug)]
pub struct Deployment {
    /// The checkout, absolute.
    pub root: PathBuf,
    pub paste: IniFile,
    pub mediagoblin_ini: Option<IniFile>,
    pub lazystarter: Option<Lazystarter>,
    /// The checkout itself when it is a virtualenv (`bin/python`).
    pub virtualenv: Option<PathBuf>,
    pub nginx: Nginx,
    /// Where the uWSGI ini is (or will be).
    pub uwsgi_path: PathBuf,
    /// The uWSGI ini, when it exists.
    pub uwsgi: Option<IniFile>,
    pub fcgi_server: Option<FcgiServer>,
    pub celery: Celery,
    pub static_urls: StaticUrls,
    /// Owner and group of the checkout.
    pub owner: (u32, u32),
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

    /// nginx's worker user and group (`user` in nginx.conf; Debian's
    /// `www-data` when nginx.conf does not say).
    pub fn nginx_user(&self) -> (String, Option<String>) {
        for config in self.nginx.loaded.configs() {
            for node in &config.children {
                if let crate::nginx::syntax::Node::Directive(d) = node
                    && config.bytes(d.name.span) == b"user"
                    && let Some(user) = d.args.first()
                {
                    return (config.value(user), d.args.get(1).map(|g| config.value(g)));
                }
            }
        }
        ("www-data".to_string(), None)
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
