//! The choices a migration takes, validated: what the command line gives is
//! checked here once (exit 2 with what is allowed), so planning only ever
//! sees a mount that is a URL path, names that are names, and an address
//! that is an address.

use std::fmt;
use std::path::PathBuf;

use crate::protocol::Address;

/// How MediaGoblin learns the URL prefix it is served under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptName {
    /// uWSGI `mount` + `manage-script-name`: nginx sends nothing extra.
    Mount,
    /// nginx sends SCRIPT_NAME, uWSGI strips it with `route-run = fixpathinfo:`.
    Fixpathinfo,
    /// `uwsgi_modifier1 30`, as old guides show. Works only on Python 2.
    Modifier1,
}

/// The server MediaGoblin is moved from: how nginx reaches it today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// paster/flup behind `fastcgi_pass` (MediaGoblin up to 0.9).
    FastCgi,
    /// paster/waitress behind `proxy_pass` (MediaGoblin 0.10 and later).
    Http,
}

impl Origin {
    pub fn parse(text: &str) -> Result<Origin, String> {
        match text {
            "fastcgi" => Ok(Origin::FastCgi),
            "http" => Ok(Origin::Http),
            other => Err(format!(
                "`{other}` is not a server to move from: use fastcgi or http"
            )),
        }
    }

    /// What the services that ran this server do.
    pub fn role(self) -> crate::service::Role {
        match self {
            Origin::FastCgi => crate::service::Role::FastCgi,
            Origin::Http => crate::service::Role::Http,
        }
    }
}

/// What starts uWSGI after the move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceStyle {
    /// A systemd unit: the one that started FastCGI, rewritten, or a new
    /// `mediagoblin-uwsgi.service`.
    Systemd,
    /// Debian's uwsgi package: the ini in /etc/uwsgi/apps-available, linked
    /// from apps-enabled.
    DebianApps,
    /// A vassal of the uWSGI emperor (/etc/uwsgi-emperor/vassals).
    Emperor,
    /// Nothing: the summary says how to start it.
    None,
}

impl ServiceStyle {
    pub fn parse(text: &str) -> Result<ServiceStyle, String> {
        match text {
            "systemd" => Ok(ServiceStyle::Systemd),
            "debian-apps" => Ok(ServiceStyle::DebianApps),
            "emperor" => Ok(ServiceStyle::Emperor),
            "none" => Ok(ServiceStyle::None),
            other => Err(format!(
                "`{other}` is not a service style: use systemd, debian-apps, emperor or none"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStyle::Systemd => "systemd",
            ServiceStyle::DebianApps => "debian-apps",
            ServiceStyle::Emperor => "emperor",
            ServiceStyle::None => "none",
        }
    }
}

/// A URL prefix MediaGoblin is served under: `/`, or `/seg/seg` without a
/// trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount(String);

impl Mount {
    pub fn root() -> Self {
        Mount("/".to_string())
    }

    /// `--mount` as typed: `/`, `/mediagoblin`, `mediagoblin/`; segments of
    /// URL-safe characters (letters, digits, `-._~`), none `.` or `..`.
    pub fn parse(text: &str) -> Result<Mount, String> {
        let trimmed = text.trim_matches('/');
        if trimmed.is_empty() {
            return Ok(Mount::root());
        }
        for segment in trimmed.split('/') {
            let valid = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
            if !valid {
                return Err(format!(
                    "`{text}` is not a URL prefix mgdeploy can serve MediaGoblin under: use / or /name/name, each name of letters, digits and - . _ ~ (not . or ..)"
                ));
            }
        }
        Ok(Mount(format!("/{trimmed}")))
    }

    /// The prefix a location's URI mounts MediaGoblin at: `/mediagoblin/` →
    /// `/mediagoblin`. Not validated: it is what nginx has today.
    pub fn of_location(uri: &str) -> Mount {
        let trimmed = uri.trim_end_matches('/');
        if trimmed.is_empty() {
            Mount::root()
        } else {
            Mount(trimmed.to_string())
        }
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `location` URI that serves it: `/` or `/mediagoblin/`.
    pub fn location_uri(&self) -> String {
        if self.is_root() {
            "/".to_string()
        } else {
            format!("{}/", self.0)
        }
    }
}

impl fmt::Display for Mount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user or group name uWSGI can switch to: a POSIX name (letters,
/// digits, `_`, `.`, `-`, not starting with `-`, at most 32 characters,
/// optionally ending in `$`), or a numeric id.
pub fn account_name(what: &str, text: &str) -> Result<String, String> {
    let body = text.strip_suffix('$').unwrap_or(text);
    let valid = !body.is_empty()
        && text.len() <= 32
        && !body.starts_with('-')
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a {what} name: use letters, digits, _ . - (not first), at most 32 characters, or a number"
        ))
    }
}

/// A uWSGI plugin name: letters, digits and `_`.
pub fn plugin_name(text: &str) -> Result<String, String> {
    if !text.is_empty()
        && text.len() <= 64
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a uWSGI plugin name: use letters, digits and _ (e.g. python3, python27)"
        ))
    }
}

/// `--fcgi-address`: an address as for `--socket`, or an nginx upstream's name.
pub fn fcgi_address(text: &str) -> Result<Address, String> {
    match Address::parse_cli(text) {
        Ok(address) => Ok(address),
        Err(_)
            if !text.is_empty()
                && !text.contains(':')
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
        {
            Ok(Address::Upstream(text.to_string()))
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Everything `migrate::plan` needs besides the deployment.
#[derive(Clone, Debug)]
pub struct Options {
    /// The server to move from; `None`: the one nginx reaches today.
    pub from: Option<Origin>,
    /// Where to serve MediaGoblin; `None` keeps today's prefix.
    pub mount: Option<Mount>,
    pub script_name: ScriptName,
    /// Where uWSGI listens; `None`: where nginx passes to today.
    pub socket: Option<Address>,
    /// Which FastCGI location is MediaGoblin's.
    pub fcgi_address: Option<Address>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub processes: u32,
    /// The Python plugin, when the user names one; else chosen to fit the
    /// site's Python.
    pub plugin: Option<String>,
    pub templates: Option<PathBuf>,
    /// What starts uWSGI; `None`: what the host already uses.
    pub service_style: Option<ServiceStyle>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            from: None,
            mount: None,
            script_name: ScriptName::Mount,
            socket: None,
            fcgi_address: None,
            user: None,
            group: None,
            processes: 2,
            plugin: None,
            templates: None,
            service_style: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_are_url_paths() {
        assert_eq!(Mount::parse("/").unwrap(), Mount::root());
        assert_eq!(Mount::parse("").unwrap(), Mount::root());
        assert_eq!(
            Mount::parse("mediagoblin/").unwrap().as_str(),
            "/mediagoblin"
        );
        assert_eq!(
            Mount::parse("/a/b.c~d/").unwrap().location_uri(),
            "/a/b.c~d/"
        );
        for bad in [
            "/a\nb", "/..", "/a/../b", "/a b", "/a;b", "/{x}", "/\"x\"", "/a//b", "/./a", "/$x",
        ] {
            assert!(Mount::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(Mount::of_location("/mediagoblin/").as_str(), "/mediagoblin");
        assert!(Mount::of_location("/").is_root());
    }

    #[test]
    fn names_are_validated() {
        assert!(account_name("user", "mediagoblin").is_ok());
        assert!(account_name("user", "www-data").is_ok());
        assert!(account_name("user", "1000").is_ok());
        assert!(account_name("user", "machine$").is_ok());
        for bad in [
            "",
            "root\nexec-as-root = id",
            "-x",
            "a b",
            "a:b",
            "x".repeat(33).as_str(),
        ] {
            assert!(account_name("user", bad).is_err(), "{bad:?} accepted");
        }
        assert!(plugin_name("python27").is_ok());
        assert!(plugin_name("$(touch /tmp/x)").is_err());
        assert!(plugin_name("python3,http").is_err());
        assert_eq!(
            fcgi_address("mediagoblin").unwrap(),
            Address::Upstream("mediagoblin".into())
        );
        assert!(fcgi_address("127.0.0.1:26543").is_ok());
        assert!(fcgi_address("a b").is_err());
    }
}
