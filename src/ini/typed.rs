//! Typed views of the INI sections mgdeploy reads, filled by serde from
//! interpolated `key -> value` pairs (through `serde_json::Value`, which
//! fills `Option` fields where serde's plain map deserializer cannot).
//! Unknown keys are ignored. A key whose value does not interpolate (such as
//! `%(fcgi_host)s`, left to paster's command line) is left out, so an
//! optional field reads as absent; a missing required key is a diagnostic
//! at the section header.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::paste::Resolver;
use super::{Document, Section};
use crate::diagnostic::Diagnostic;

/// A `[server:NAME]` of a MediaGoblin paste.ini (`egg:flup#fcgi_fork`,
/// `egg:waitress#main` ...).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PasteServer {
    #[serde(rename = "use")]
    pub use_: String,
    pub host: Option<String>,
    pub port: Option<String>,
    /// A UNIX socket, which flup takes instead of host and port.
    pub socket: Option<String>,
    /// waitress's name for a UNIX socket.
    pub unix_socket: Option<String>,
    /// waitress's `listen = HOST:PORT ...` (instead of host and port).
    pub listen: Option<String>,
}

/// `[app:mediagoblin]`: the app egg and its config files.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PasteApp {
    #[serde(rename = "use")]
    pub use_: String,
    pub config: Option<String>,
}

/// `[mediagoblin]` of mediagoblin.ini: where static files are served from.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct MediaGoblinSettings {
    pub direct_remote_path: Option<String>,
    pub theme_web_path: Option<String>,
    pub plugin_web_path: Option<String>,
    pub upload_limit: Option<String>,
    pub max_file_size: Option<String>,
    /// The database, an SQLAlchemy URL (`sqlite:///%(here)s/mediagoblin.db`).
    pub sql_engine: Option<String>,
}

/// `[celery]` of mediagoblin.ini.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct CelerySettings {
    #[serde(rename = "CELERY_ALWAYS_EAGER")]
    pub always_eager: Option<String>,
}

/// `[storage:publicstore]` (or `[storage:queuestore]`) of mediagoblin.ini.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct PublicStore {
    pub base_url: Option<String>,
    pub base_dir: Option<String>,
}

/// Fills `T` from a section of a paste dialect document, interpolating
/// every value first; `None` when there is no such section.
pub fn paste_view<T: DeserializeOwned>(
    resolver: &Resolver<'_>,
    document: &Document,
    section: &str,
) -> Result<Option<T>, Diagnostic> {
    let Some(found) = document.section(section) else {
        return Ok(None);
    };
    let pairs = resolver
        .keys(section)
        .into_iter()
        .filter_map(|key| match resolver.get(section, &key) {
            Some(Ok(value)) => Some((key, value)),
            _ => None,
        })
        .collect();
    fill(document, found, pairs).map(Some)
}

fn fill<T: DeserializeOwned>(
    document: &Document,
    section: &Section,
    pairs: Vec<(String, String)>,
) -> Result<T, Diagnostic> {
    let map = pairs
        .into_iter()
        .map(|(key, value)| (key, serde_json::Value::String(value)))
        .collect();
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|error| {
        let diagnostic = Diagnostic::error(format!("[{}]: {error}", section.name));
        match section.header_span {
            Some(span) => diagnostic.at(&document.source, span, "in this section"),
            None => diagnostic.in_file(document.source.path()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ini::paste;
    use crate::source::SourceFile;
    use std::path::Path;

    #[test]
    fn fcgi_server_view() {
        let source = SourceFile::new(
            "/srv/mg/paste.ini",
            b"[DEFAULT]\nfcgi_port = 26543\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = 127.0.0.1\nport = %(fcgi_port)s\n[server:bad]\nhost = x\n".to_vec(),
        );
        let doc = paste::read(&source).unwrap();
        let resolver = doc.resolver(Path::new("/srv/mg/paste.ini"));
        let server: PasteServer = paste_view(&resolver, &doc, "server:fcgi").unwrap().unwrap();
        assert_eq!(server.port.as_deref(), Some("26543"));
        let placeholders = paste::read(&SourceFile::new(
            "/srv/mg/paste.ini",
            b"[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = %(fcgi_host)s\n".to_vec(),
        ))
        .unwrap();
        let resolver2 = placeholders.resolver(Path::new("/srv/mg/paste.ini"));
        let left_open: PasteServer = paste_view(&resolver2, &placeholders, "server:fcgi")
            .unwrap()
            .unwrap();
        assert_eq!(
            left_open.host, None,
            "a value that does not interpolate reads as absent"
        );
        assert_eq!(server.use_, "egg:flup#fcgi_fork");
        let missing = paste_view::<PasteServer>(&resolver, &doc, "server:bad").unwrap_err();
        assert!(
            missing.to_string().contains("missing field `use`"),
            "{missing}"
        );
        assert!(
            paste_view::<PasteServer>(&resolver, &doc, "server:none")
                .unwrap()
                .is_none()
        );
    }
}
