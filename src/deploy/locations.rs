//! The nginx locations that pass requests to an application server, and
//! which of them are MediaGoblin's: the FastCGI ones whose address matches
//! paste.ini's `[server:fcgi]` (or `--fcgi-address`), else the only one that
//! is not PHP's; the uWSGI ones; and the `proxy_pass` ones that reach the
//! HTTP server paste.ini configures.

use super::{Deployment, Nginx};
use crate::diagnostic::Diagnostic;
use crate::nginx::syntax::{Config, Directive, walk};
use crate::protocol::{Address, Protocol};

/// A `location` block with a `fastcgi_pass`, `uwsgi_pass` or `proxy_pass`.
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
    pub address_text: String,
    pub address: Address,
    /// The addresses it reaches: itself, or an upstream's servers.
    pub reaches: Vec<Address>,
    pub php: bool,
}

impl<'d> PassLocation<'d> {
    /// The levels this location inherits settings from, itself first
    /// (`nginx::semantics::levels`).
    pub fn levels(
        &self,
        loaded: &'d crate::nginx::include::Loaded,
    ) -> Vec<crate::nginx::semantics::Level<'d>> {
        crate::nginx::semantics::levels(loaded, self.file, self.config, self.location, self.server)
    }

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

    /// `file:line:col` of the `*_pass`.
    pub fn pass_place(&self) -> String {
        self.config.source.location(self.pass.name.span.start)
    }

    /// How long nginx lets a request's headers grow here
    /// (`nginx::semantics::header_room`).
    pub fn header_room(&self, loaded: &crate::nginx::include::Loaded) -> u64 {
        crate::nginx::semantics::header_room(loaded, self.config, self.location, self.server)
    }

    /// Whether it reaches a server listening on `listen`.
    pub fn reaches(&self, listen: &Address) -> bool {
        self.reaches.iter().any(|r| r.reaches(listen))
    }
}

/// Every `upstream NAME { server ADDR ...; }` of the configuration, read
/// once: a pass to NAME reaches those servers.
fn upstreams(nginx: &Nginx) -> std::collections::HashMap<String, Vec<Address>> {
    let mut out = std::collections::HashMap::new();
    for config in nginx.loaded.configs() {
        walk(&config.children, |d, _| {
            if config.name_of(d) != b"upstream" {
                return;
            }
            let Some(upstream) = d.args.first().map(|a| config.value(a)) else {
                return;
            };
            let servers = d
                .directives()
                .filter(|s| config.name_of(s) == b"server")
                .filter_map(|s| {
                    s.args
                        .first()
                        .map(|a| Address::parse_nginx(&config.value(a)))
                })
                .collect();
            out.entry(upstream).or_insert(servers);
        });
    }
    out
}

fn looks_like_php(config: &Config, location: &Directive, address: &str) -> bool {
    let mentions_php = |text: &str| text.to_ascii_lowercase().contains("php");
    if location.args.iter().any(|a| mentions_php(&config.value(a))) || mentions_php(address) {
        return true;
    }
    let mut php = false;
    walk(location.children(), |d, _| {
        let directive = config.name_of(d);
        if directive == b"fastcgi_param" && config.arg(d, 0).is_some_and(|a| a == "SCRIPT_FILENAME")
        {
            php = true;
        }
        if (directive == b"fastcgi_index" || directive == b"include")
            && d.args.iter().any(|a| mentions_php(&config.value(a)))
        {
            php = true;
        }
    });
    php
}

/// Every location that passes to FastCGI, uWSGI or HTTP.
pub fn pass_locations(nginx: &Nginx) -> Vec<PassLocation<'_>> {
    let upstreams = upstreams(nginx);
    let mut out = Vec::new();
    for (file, loaded) in nginx.loaded.files.iter().enumerate() {
        let Ok(config) = &loaded.config else { continue };
        walk(&config.children, |d, parents| {
            let Some(protocol) = Protocol::of_pass(config.name_of(d)) else {
                return;
            };
            // The innermost location around the pass (it may sit in an `if`).
            let Some(location) = parents
                .iter()
                .rev()
                .find(|p| config.name_of(p) == b"location")
            else {
                return;
            };
            let server = parents
                .iter()
                .rev()
                .find(|p| config.name_of(p) == b"server")
                .copied();
            let address_text = d.args.first().map(|a| config.value(a)).unwrap_or_default();
            let address = protocol.address(&address_text);
            let reaches = match &address {
                Address::Upstream(upstream) => upstreams
                    .get(upstream)
                    .cloned()
                    .unwrap_or_else(|| vec![address.clone()]),
                other => vec![other.clone()],
            };
            out.push(PassLocation {
                file,
                config,
                location,
                server,
                pass: d,
                protocol,
                php: looks_like_php(config, location, &address_text),
                address_text,
                address,
                reaches,
            });
        });
    }
    out
}

/// MediaGoblin's locations, by how nginx reaches it.
#[derive(Debug, Default)]
pub struct Selection<'d> {
    pub fastcgi: Vec<PassLocation<'d>>,
    pub uwsgi: Vec<PassLocation<'d>>,
    /// `proxy_pass` to the HTTP server of paste.ini.
    pub http: Vec<PassLocation<'d>>,
}

/// Picks MediaGoblin's locations. `chosen` is `--fcgi-address`.
pub fn mediagoblin_locations<'d>(
    deployment: &'d Deployment,
    chosen: Option<&Address>,
) -> Result<Selection<'d>, Diagnostic> {
    let mut fastcgi = Vec::new();
    let mut uwsgi = Vec::new();
    let mut http = Vec::new();
    for location in pass_locations(&deployment.nginx) {
        match location.protocol {
            Protocol::FastCgi => fastcgi.push(location),
            Protocol::Uwsgi => uwsgi.push(location),
            Protocol::Http => http.push(location),
        }
    }

    let candidates: Vec<PassLocation<'d>> = match chosen {
        Some(address) => {
            let chosen: Vec<_> = fastcgi
                .iter()
                .filter(|l| l.reaches(address) || l.address == *address)
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
                .and_then(|s| s.address.as_ref())
            {
                Some(address) => fastcgi
                    .iter()
                    .filter(|l| !l.php && l.reaches(address))
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

    let mut addresses: Vec<&Address> = candidates.iter().map(|l| &l.address).collect();
    addresses.sort_by_key(|a| a.to_nginx());
    addresses.dedup();
    if addresses.len() > 1 {
        let mut ambiguous = Diagnostic::error(format!(
            "{} FastCGI addresses could be MediaGoblin's; mgdeploy will not guess",
            addresses.len()
        ))
        .with_note(listing(&candidates))
        .with_help("choose one with --fcgi-address ADDR");
        if let Some(first) = candidates.first() {
            ambiguous = ambiguous.at(&first.config.source, first.pass.span(), "this one");
        }
        // The others beside it, a few: the note lists every one.
        for other in candidates.iter().skip(1).take(4) {
            ambiguous = ambiguous.with_related(&other.config.source, other.pass.span(), "or this");
        }
        return Err(ambiguous);
    }
    // Locations already on uWSGI: those that reach the uWSGI ini's socket,
    // or all of them when none does (or there is no ini to say).
    let sockets = deployment.uwsgi_sockets();
    let matching: Vec<PassLocation<'d>> = uwsgi
        .iter()
        .filter(|l| sockets.iter().any(|s| l.reaches(s)))
        .cloned()
        .collect();
    let uwsgi = if matching.is_empty() { uwsgi } else { matching };
    // HTTP: only what reaches a server paste.ini runs; nginx proxies to many
    // other things.
    let http = http
        .into_iter()
        .filter(|l| deployment.http_servers.iter().any(|s| l.reaches(s)))
        .collect();
    Ok(Selection {
        fastcgi: candidates,
        uwsgi,
        http,
    })
}

/// Makes a missing include (a warning) an error where one of `locations`
/// holds it: what the file would set is what MediaGoblin's location runs on.
pub fn escalate_missing_includes(diagnostics: &mut [Diagnostic], locations: &[&PassLocation<'_>]) {
    for diagnostic in diagnostics.iter_mut() {
        if diagnostic.code != Some(crate::nginx::include::MISSING)
            || diagnostic.severity != crate::diagnostic::Severity::Warning
        {
            continue;
        }
        let Some(label) = diagnostic.primary() else {
            continue;
        };
        let inside = locations.iter().find(|l| {
            label.source.path() == l.config.source.path()
                && l.location.span().start <= label.span.start
                && label.span.end <= l.location.span().end
        });
        if let Some(location) = inside {
            let note = format!(
                "MediaGoblin's location {} ({}) depends on what this file would set",
                location.uri(),
                location.place()
            );
            *diagnostic = diagnostic
                .clone()
                .with_severity(crate::diagnostic::Severity::Error)
                .with_note(note);
        }
    }
}

fn listing(locations: &[PassLocation<'_>]) -> String {
    let lines: Vec<String> = locations
        .iter()
        .map(|l| {
            format!(
                "{}: location {} passes to {}",
                l.place(),
                l.uri(),
                l.address_text
            )
        })
        .collect();
    format!("candidates:\n{}", lines.join("\n"))
}
