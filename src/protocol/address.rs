//! Where an application server listens and where nginx sends requests, as
//! one type. nginx writes a UNIX socket as `unix:/path` (`*_pass`, and
//! `proxy_pass http://unix:/path:`, read by `http::ProxyUrl`), uWSGI as a
//! bare `/path` (or `@name` for the abstract namespace), flup and paste as
//! `host`/`port` settings.
//! Parsing each spelling into `Address` is the only place those rules live.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// A UNIX socket (path normalised: `///run/x` is `/run/x`).
    Unix(PathBuf),
    /// A socket in Linux's abstract namespace (uWSGI's `@name`).
    Abstract(String),
    /// `host:port`; an empty host (`:26543`) means every interface.
    Tcp { host: String, port: u16 },
    /// An nginx `upstream` block's name.
    Upstream(String),
}

/// Why a text is not an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressError(pub String);

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `/a//b/` → `/a/b/`: what the kernel makes of a socket path.
fn normalise_path(path: &str) -> PathBuf {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    PathBuf::from(out)
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|port| *port > 0)
}

/// `host:port`, `[v6]:port`, `:port`.
fn parse_host_port(text: &str) -> Option<Address> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':')?)
    } else {
        let (host, port) = text.rsplit_once(':')?;
        if host.contains(':') {
            return None;
        }
        (host, port)
    };
    Some(Address::Tcp {
        host: host.to_ascii_lowercase(),
        port: parse_port(port)?,
    })
}

impl Address {
    /// The argument of `uwsgi_pass`/`fastcgi_pass`: `unix:/path`,
    /// `host:port`, an upstream name, with an optional `uwsgi://` or
    /// `suwsgi://` scheme.
    pub fn parse_nginx(text: &str) -> Address {
        let bare = text
            .strip_prefix("uwsgi://")
            .or_else(|| text.strip_prefix("suwsgi://"))
            .unwrap_or(text);
        if let Some(path) = bare.strip_prefix("unix:") {
            return Address::Unix(normalise_path(path));
        }
        parse_host_port(bare).unwrap_or_else(|| Address::Upstream(bare.to_string()))
    }

    /// A uWSGI `socket` value: `/path`, `@name`, `host:port`, `:port`
    /// (also nginx's `unix:` spelling, which uWSGI accepts too).
    pub fn parse_uwsgi(text: &str) -> Option<Address> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("unix:") {
            return Some(Address::Unix(normalise_path(path)));
        }
        if text.starts_with('/') {
            return Some(Address::Unix(normalise_path(text)));
        }
        if let Some(name) = text.strip_prefix('@') {
            return Some(Address::Abstract(name.to_string()));
        }
        parse_host_port(text)
    }

    /// `--socket`/`--fcgi-address` as a person types it: `unix:/absolute/path`
    /// of safe characters, or `host:port` with a host and a port 1–65535.
    /// Anything else is refused with what is allowed.
    pub fn parse_cli(text: &str) -> Result<Address, AddressError> {
        if let Some(path) = text.strip_prefix("unix:") {
            let safe = path.starts_with('/')
                && path.len() > 1
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-+@".contains(c))
                && !path.split('/').any(|segment| segment == "..");
            return if safe {
                Ok(Address::Unix(normalise_path(path)))
            } else {
                Err(AddressError(format!(
                    "`{text}` is not a usable UNIX socket: give unix:/absolute/path of letters, digits and / . _ - + @ (no `..`)"
                )))
            };
        }
        match parse_host_port(text) {
            Some(Address::Tcp { host, port }) if valid_host(&host) => {
                Ok(Address::Tcp { host, port })
            }
            Some(Address::Tcp { host, .. }) if host.is_empty() => Err(AddressError(format!(
                "`{text}` has no host: give 127.0.0.1:PORT (an empty host listens on every interface)"
            ))),
            _ => Err(AddressError(format!(
                "`{text}` is neither unix:/path nor host:port (a port from 1 to 65535)"
            ))),
        }
    }

    /// The address as nginx writes it in `*_pass`.
    pub fn to_nginx(&self) -> String {
        match self {
            Address::Unix(path) => format!("unix:{}", path.display()),
            Address::Abstract(name) => format!("unix:@{name}"),
            Address::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Address::Tcp { host, port } => format!("{host}:{port}"),
            Address::Upstream(name) => name.clone(),
        }
    }

    /// The address as uWSGI's `socket` wants it.
    pub fn to_uwsgi(&self) -> String {
        match self {
            Address::Unix(path) => path.display().to_string(),
            Address::Abstract(name) => format!("@{name}"),
            other => other.to_nginx(),
        }
    }

    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            Address::Unix(path) => Some(path),
            _ => None,
        }
    }

    /// Only this machine can connect: a UNIX socket, or TCP on a loopback
    /// address.
    pub fn is_local(&self) -> bool {
        match self {
            Address::Unix(_) | Address::Abstract(_) => true,
            Address::Tcp { host, .. } => is_loopback_host(host),
            Address::Upstream(_) => false,
        }
    }

    /// A TCP address on every interface (`:port`, `0.0.0.0`, `[::]`, `*`).
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Address::Tcp { host, .. } if matches!(host.as_str(), "" | "0.0.0.0" | "::" | "*"))
    }

    /// Whether connecting to `self` reaches a server listening on `listen`
    /// (`localhost` is loopback; a wildcard listener takes every host).
    pub fn reaches(&self, listen: &Address) -> bool {
        match (self, listen) {
            (
                Address::Tcp { host, port },
                Address::Tcp {
                    host: listen_host,
                    port: listen_port,
                },
            ) => {
                port == listen_port
                    && (host == listen_host
                        || listen.is_wildcard()
                        || (is_loopback_host(host) && is_loopback_host(listen_host)))
            }
            (a, b) => a == b,
        }
    }
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// A host name or address of safe characters.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_nginx())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Address {
        Address::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn every_spelling_reads_as_one_address() {
        let socket = Address::Unix("/var/run/uwsgi.sock".into());
        assert_eq!(Address::parse_nginx("unix:///var/run/uwsgi.sock"), socket);
        assert_eq!(
            Address::parse_nginx("uwsgi://unix:/var/run/uwsgi.sock"),
            socket
        );
        assert_eq!(
            Address::parse_uwsgi("/var/run//uwsgi.sock"),
            Some(socket.clone())
        );
        assert_eq!(
            Address::parse_nginx("127.0.0.1:26543"),
            tcp("127.0.0.1", 26543)
        );
        assert_eq!(Address::parse_nginx("[::1]:26543"), tcp("::1", 26543));
        assert_eq!(
            Address::parse_nginx("mediagoblin"),
            Address::Upstream("mediagoblin".into())
        );
        assert_eq!(Address::parse_uwsgi(":26543"), Some(tcp("", 26543)));
        assert_eq!(socket.to_nginx(), "unix:/var/run/uwsgi.sock");
        assert_eq!(socket.to_uwsgi(), "/var/run/uwsgi.sock");
        assert_eq!(tcp("::1", 80).to_nginx(), "[::1]:80");
    }

    #[test]
    fn addresses_compare_as_servers_listen() {
        let reaches =
            |a: &str, b: &str| Address::parse_nginx(a).reaches(&Address::parse_uwsgi(b).unwrap());
        assert!(reaches("127.0.0.1:26543", "127.0.0.1:26543"));
        assert!(reaches("localhost:26543", "127.0.0.1:26543"));
        assert!(reaches("127.0.0.1:26543", "0.0.0.0:26543"));
        assert!(reaches("127.0.0.1:26543", ":26543"));
        assert!(!reaches("127.0.0.1:26543", "127.0.0.1:9000"));
        assert!(reaches("unix:/run/mg.sock", "/run/mg.sock"));
        assert!(!reaches("unix:/run/mg.sock", "/run/other.sock"));
    }

    #[test]
    fn loopback_is_one_rule() {
        assert!(tcp("127.0.0.1", 1).is_local());
        assert!(tcp("127.1.2.3", 1).is_local());
        assert!(tcp("localhost", 1).is_local());
        assert!(tcp("::1", 1).is_local());
        assert!(Address::Unix("/x".into()).is_local());
        assert!(!tcp("", 1).is_local());
        assert!(!tcp("0.0.0.0", 1).is_local());
        assert!(!tcp("192.168.1.2", 1).is_local());
        // As uWSGI spells them.
        let uwsgi = |text: &str| Address::parse_uwsgi(text).unwrap();
        assert!(uwsgi("[::1]:3031").is_local());
        assert!(uwsgi("localhost:3031").is_local());
        for wildcard in [":3031", "0.0.0.0:3031", "[::]:3031", "*:3031"] {
            assert!(uwsgi(wildcard).is_wildcard(), "{wildcard}");
            assert!(!uwsgi(wildcard).is_local(), "{wildcard}");
        }
    }

    #[test]
    fn command_line_addresses_are_validated() {
        assert_eq!(
            Address::parse_cli("unix:/run/mediagoblin/uwsgi.sock"),
            Ok(Address::Unix("/run/mediagoblin/uwsgi.sock".into()))
        );
        assert_eq!(
            Address::parse_cli("127.0.0.1:26543"),
            Ok(tcp("127.0.0.1", 26543))
        );
        for bad in [
            "unix:/run/x.sock; return 200 pwned",
            "unix:/run/x sock",
            "unix:/run/{x}",
            "unix:relative.sock",
            "unix:/run/../etc/x",
            ":80",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            "127.0.0.1",
            "a b:80",
            "host;:80",
            "",
        ] {
            assert!(Address::parse_cli(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
