//! The nginx locations that pass requests to an application server, and
//! which of them are MediaGoblin's: the FastCGI ones whose address matches
//! paste.ini's `[server:fcgi]` (or `--fcgi-address`), else the only one that
//! is not PHP's.

use super::{Deployment, Nginx};
use crate::diagnostic::Diagnostic;
use crate::nginx::syntax::{Config, Directive, Node};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    FastCgi,
    Uwsgi,
}

/// A `location` block with a `fastcgi_pass` or `uwsgi_pass` in it.
#[derive(Clone, Debug)]
pub struct PassLocation<'d> {
    /// Index of the file in `Nginx::loaded`.
    pub file: usize,
    pub config: &'d Config,
    pub location: &'d Directive,
    /// The `server` block around it, if any.
    pub server: Option<&'d Directive>,
    pub pass: &'d Directive,
    pub protocol: Protocol,
    /// The `*_pass` argument as nginx reads it.
    pub address: String,
    /// The addresses it reaches: itself, or an upstream's servers.
    pub reaches: Vec<String>,
    pub php: bool,
}

impl PassLocation<'_> {
    /// The location's URI (its last argument): `/`, `/mediagoblin/`, ...
    pub fn uri(&self) -> String {
        self.location
            .args
            .last()
            .map(|w| self.config.value(w))
            .unwrap_or_default()
    }

    /// `file:line:col` of the location, for messages.
    pub fn place(&self) -> String {
        self.config.source.location(self.location.name.span.start)
    }
}

fn name<'a>(config: &'a Config, directive: &Directive) -> &'a [u8] {
    config.bytes(directive.name.span)
}

/// Every directive of a block, nested blocks included, with the blocks
/// around it (outermost first).
pub fn walk<'c>(
    config: &'c Config,
    nodes: &'c [Node],
    mut visit: impl FnMut(&'c Directive, &[&'c Directive]),
) {
    fn go<'c>(
        nodes: &'c [Node],
        parents: &mut Vec<&'c Directive>,
        visit: &mut dyn FnMut(&'c Directive, &[&'c Directive]),
    ) {
        for node in nodes {
            if let Node::Directive(d) = node {
                visit(d, parents);
                if let Some(block) = d.block() {
                    parents.push(d);
                    go(&block.children, parents, visit);
                    parents.pop();
                }
            }
        }
    }
    let _ = config;
    go(nodes, &mut Vec::new(), &mut visit);
}

/// `upstream NAME { server ADDR ...; }` anywhere in the configuration.
fn upstream_servers(nginx: &Nginx, upstream: &str) -> Option<Vec<String>> {
    for config in nginx.loaded.configs() {
        let mut found = None;
        walk(config, &config.children, |d, _| {
            if name(config, d) == b"upstream"
                && d.args.first().is_some_and(|a| config.value(a) == upstream)
            {
                let servers = d
                    .directives()
                    .filter(|s| name(config, s) == b"server")
                    .filter_map(|s| s.args.first().map(|a| config.value(a)))
                    .collect();
                found = Some(servers);
            }
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

fn looks_like_php(config: &Config, location: &Directive, address: &str) -> bool {
    let mentions_php = |text: &str| text.to_ascii_lowercase().contains("php");
    if location.args.iter().any(|a| mentions_php(&config.value(a))) || mentions_php(address) {
        return true;
    }
    let mut php = false;
    walk(config, location.children(), |d, _| {
        let directive = name(config, d);
        let args: Vec<String> = d.args.iter().map(|a| config.value(a)).collect();
        if directive == b"fastcgi_param" && args.first().is_some_and(|a| a == "SCRIPT_FILENAME") {
            php = true;
        }
        if (directive == b"fastcgi_index" || directive == b"include")
            && args.iter().any(|a| mentions_php(a))
        {
            php = true;
        }
    });
    php
}

/// Every location that passes to FastCGI or uWSGI.
pub fn pass_locations(nginx: &Nginx) -> Vec<PassLocation<'_>> {
    let mut out = Vec::new();
    for (file, loaded) in nginx.loaded.files.iter().enumerate() {
        let Ok(config) = &loaded.config else { continue };
        walk(config, &config.children, |d, parents| {
            let protocol = match name(config, d) {
                b"fastcgi_pass" => Protocol::FastCgi,
                b"uwsgi_pass" => Protocol::Uwsgi,
                _ => return,
            };
            // The innermost location around the pass (it may sit in an `if`).
            let Some(location) = parents
                .iter()
                .rev()
                .find(|p| name(config, p) == b"location")
            else {
                return;
            };
            let server = parents
                .iter()
                .rev()
                .find(|p| name(config, p) == b"server")
                .copied();
            let address = d.args.first().map(|a| config.value(a)).unwrap_or_default();
            let bare = address
                .strip_prefix("uwsgi://")
                .or_else(|| address.strip_prefix("suwsgi://"))
                .unwrap_or(&address);
            let reaches = match upstream_servers(nginx, bare) {
                Some(servers) => servers,
                None => vec![bare.to_string()],
            };
            out.push(PassLocation {
                file,
                config,
                location,
                server,
                pass: d,
                protocol,
                php: looks_like_php(config, location, &address),
                address,
                reaches,
            });
        });
    }
    out
}

/// Host and port of `host:port`, with `localhost` and the wildcard addresses
/// (where a server listens on every interface) made comparable.
fn endpoint(address: &str) -> (String, String) {
    if let Some(path) = address.strip_prefix("unix:") {
        return ("unix".into(), path.to_string());
    }
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (host, port),
        None => (address, "80"),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let host = match host.as_str() {
        "localhost" | "127.0.0.1" | "::1" => "loopback".to_string(),
        _ => host,
    };
    (host, port.to_string())
}

/// Whether nginx passing to `target` reaches a server listening on `listen`.
pub fn same_address(target: &str, listen: &str) -> bool {
    let (target_host, target_port) = endpoint(target);
    let (listen_host, listen_port) = endpoint(listen);
    target_port == listen_port
        && (target_host == listen_host
            || matches!(listen_host.as_str(), "" | "0.0.0.0" | "::" | "*"))
}

/// uWSGI writes a UNIX socket as a plain path; nginx as `unix:PATH`.
pub fn uwsgi_socket_as_nginx_address(socket: &str) -> String {
    if socket.starts_with('/') || socket.starts_with('@') {
        format!("unix:{socket}")
    } else {
        socket.to_string()
    }
}

/// MediaGoblin's locations, still on FastCGI and already on uWSGI.
#[derive(Debug, Default)]
pub struct Selection<'d> {
    pub fastcgi: Vec<PassLocation<'d>>,
    pub uwsgi: Vec<PassLocation<'d>>,
}

/// Picks MediaGoblin's FastCGI locations. `chosen` is `--fcgi-address`.
pub fn mediagoblin_locations<'d>(
    deployment: &'d Deployment,
    chosen: Option<&str>,
) -> Result<Selection<'d>, Diagnostic> {
    let all = pass_locations(&deployment.nginx);
    let (fastcgi, uwsgi): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|l| l.protocol == Protocol::FastCgi);
    let reaches = |location: &PassLocation<'_>, address: &str| {
        location.reaches.iter().any(|r| same_address(r, address))
    };

    let candidates: Vec<PassLocation<'d>> = match chosen {
        Some(address) => {
            let chosen: Vec<_> = fastcgi
                .iter()
                .filter(|l| reaches(l, address) || l.address == address)
                .cloned()
                .collect();
            if chosen.is_empty() && !fastcgi.is_empty() {
                return Err(
                    Diagnostic::error(format!("no FastCGI location passes to {address}"))
                        .with_note(listing(&fastcgi))
                        .with_help("give one of the addresses above to --fcgi-address"),
                );
            }
            chosen
        }
        None => {
            let by_paste: Vec<_> = match deployment
                .fcgi_server
                .as_ref()
                .and_then(|s| s.address.as_deref())
            {
                Some(address) => fastcgi
                    .iter()
                    .filter(|l| !l.php && reaches(l, address))
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            if by_paste.is_empty() {
                fastcgi.iter().filter(|l| !l.php).cloned().collect()
            } else {
                by_paste
            }
        }
    };

    let mut addresses: Vec<&str> = candidates.iter().map(|l| l.address.as_str()).collect();
    addresses.sort_unstable();
    addresses.dedup();
    if addresses.len() > 1 {
        return Err(Diagnostic::error(format!(
            "{} FastCGI addresses could be MediaGoblin's; mgdeploy will not guess",
            addresses.len()
        ))
        .with_note(listing(&candidates))
        .with_help("choose one with --fcgi-address ADDR"));
    }
    // Locations already on uWSGI: those that reach the uWSGI ini's socket,
    // or all of them when none does (or there is no ini to say).
    let uwsgi_address = deployment.uwsgi.as_ref().and_then(|file| {
        super::uwsgi_entries(file)
            .find(|e| e.key == "socket")
            .map(|e| uwsgi_socket_as_nginx_address(&e.value))
    });
    let matching: Vec<PassLocation<'d>> = uwsgi
        .iter()
        .filter(|l| {
            uwsgi_address
                .as_deref()
                .is_some_and(|address| reaches(l, address))
        })
        .cloned()
        .collect();
    let uwsgi = if matching.is_empty() { uwsgi } else { matching };
    Ok(Selection {
        fastcgi: candidates,
        uwsgi,
    })
}

fn listing(locations: &[PassLocation<'_>]) -> String {
    let lines: Vec<String> = locations
        .iter()
        .map(|l| {
            format!(
                "{}: location {} passes to {}",
                l.place(),
                l.uri(),
                l.address
            )
        })
        .collect();
    format!("candidates:\n{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_as_servers_listen() {
        assert!(same_address("127.0.0.1:26543", "127.0.0.1:26543"));
        assert!(same_address("localhost:26543", "127.0.0.1:26543"));
        assert!(same_address("127.0.0.1:26543", "0.0.0.0:26543"));
        assert!(!same_address("127.0.0.1:26543", "127.0.0.1:9000"));
        assert!(same_address("unix:/run/mg.sock", "unix:/run/mg.sock"));
        assert!(!same_address("unix:/run/mg.sock", "unix:/run/other.sock"));
    }
}
