//! Rewriting MediaGoblin's `proxy_pass` location (paster's HTTP server, the
//! way MediaGoblin 0.10 and later are deployed) into a uWSGI one, as
//! minimal edits: `proxy_pass` becomes `uwsgi_pass` on the same address,
//! `include uwsgi_params` is added, `proxy_*` settings with a `uwsgi_*` twin
//! are renamed and the others removed with the reason, and the request
//! headers nginx set for paster (`proxy_set_header`, Debian's
//! `proxy_params`) become the `uwsgi_param HTTP_*` variables MediaGoblin
//! reads them from, so it builds the same absolute URLs. What the server
//! and http blocks set for the location (headers, timeouts) follows it. The prefix
//! and SCRIPT_NAME are then handled as for FastCGI (`nginx.rs`).

use super::nginx::{CacheZone, Found, Options, Rewrite, rename_to_twin, text, word, zone_twin};
use crate::deploy::Nginx;
use crate::deploy::locations::PassLocation;
use crate::diagnostic::Diagnostic;
use crate::lines::{comment_lines_above, insert_line_after, line_end, line_start, removal};
use crate::nginx::syntax::{Config, Directive, walk};
use crate::plan::Edit;
use crate::protocol::Protocol;
use crate::protocol::directives::{Fate, UWSGI_PARAMS, fate};
use crate::protocol::http::{ProxyUrl, header_param, header_variable, is_hop_by_hop};
use crate::source::Span;

/// The comment that says what the `uwsgi_param HTTP_*` lines are.
const HEADERS_COMMENT: &str =
    "# The request headers nginx set for paster, as the variables MediaGoblin reads.";

/// A header's value with the variables that only exist while proxying
/// (`$proxy_host`, `$proxy_port`) replaced by what they held.
/// `None` too when the address holds a character that would need quoting
/// in nginx (it is written into the value as it is).
fn without_proxy_variables(raw: &str, url: &ProxyUrl<'_>) -> Option<String> {
    if !crate::escape::nginx_literal(url.authority) {
        return None;
    }
    let port = url.port();
    let replaced = raw
        .replace("${proxy_host}", url.authority)
        .replace("$proxy_host", url.authority)
        .replace("${proxy_port}", &port)
        .replace("$proxy_port", &port);
    (replaced != raw).then_some(replaced)
}

/// What one `proxy_set_header` becomes.
enum Header {
    /// `uwsgi_param` lines, and what to say about them.
    Param {
        lines: Vec<String>,
        said: Option<String>,
    },
    /// Nothing, for this reason.
    Dropped(String),
}

fn header(name: &str, raw_value: &str, url: &ProxyUrl<'_>) -> Header {
    let lower = name.to_ascii_lowercase();
    if is_hop_by_hop(name) {
        return Header::Dropped(
            "a header of the HTTP connection to paster; the uwsgi protocol has no such connection"
                .to_string(),
        );
    }
    let Some(variable) = header_variable(name) else {
        return Header::Dropped(format!(
            "`{name}` is not a header name of letters, digits and -, so there is no telling which uWSGI variable it would be"
        ));
    };
    let (value, replaced) = match without_proxy_variables(raw_value, url) {
        Some(value) => (value, true),
        None => (raw_value.to_string(), false),
    };
    let empty = matches!(raw_value, "\"\"" | "''");
    let sets_scheme = lower == "x-forwarded-proto" && raw_value != "$scheme" && !empty;
    let said = if replaced {
        Some(format!(
            "$proxy_host and $proxy_port exist only while proxying; they are written out as what they held ({})",
            url.authority
        ))
    } else if lower == "host" {
        Some("MediaGoblin builds its absolute URLs from this Host, as before".to_string())
    } else if lower == "x-forwarded-proto" && raw_value == "$scheme" {
        Some("MediaGoblin sees the scheme nginx received: uwsgi_params sends HTTPS on for a request over TLS".to_string())
    } else if sets_scheme {
        Some(format!(
            "uWSGI takes the scheme MediaGoblin sees from UWSGI_SCHEME, so it is {value} as the header says"
        ))
    } else {
        None
    };
    let mut lines = vec![header_param(&variable, &value)];
    if sets_scheme {
        lines.push(header_param("UWSGI_SCHEME", &value));
    }
    Header::Param { lines, said }
}

/// The `include uwsgi_params;` mgdeploy adds: the file next to nginx.conf
/// when it is there, else the one beside the files the configuration
/// already includes from an absolute directory (`/etc/nginx/mime.types`),
/// else `/etc/nginx/uwsgi_params`.
fn uwsgi_params_path(nginx: &Nginx, options: &Options<'_>) -> (String, bool) {
    let exists = |server: &std::path::Path| options.sysroot.is_file(&options.sysroot.host(server));
    if exists(&nginx.prefix.join(UWSGI_PARAMS)) {
        return (UWSGI_PARAMS.to_string(), true);
    }
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    for config in nginx.loaded.configs() {
        walk(&config.children, |d, _| {
            if config.name_of(d) != b"include" {
                return;
            }
            if let Some(arg) = d.args.first() {
                let value = config.value(arg);
                let path = std::path::Path::new(&value);
                if path.is_absolute()
                    && let Some(dir) = path.parent()
                    && !dirs.iter().any(|known| known == dir)
                {
                    dirs.push(dir.to_path_buf());
                }
            }
        });
    }
    dirs.push(std::path::PathBuf::from("/etc/nginx"));
    for dir in &dirs {
        let candidate = dir.join(UWSGI_PARAMS);
        if exists(&candidate) {
            return (candidate.display().to_string(), true);
        }
    }
    (UWSGI_PARAMS.to_string(), false)
}

/// A `proxy_set_header`'s header name and raw value.
fn header_of(config: &Config, d: &Directive) -> (String, String) {
    let raw_value = d
        .args
        .get(1)
        .map(|a| config.raw(a).into_owned())
        .unwrap_or_default();
    (config.arg(d, 0).unwrap_or_default(), raw_value)
}

/// The `proxy_set_header`s at the top of the files an `include` at `d`
/// pulls in (Debian's `proxy_params`), in order; those inside the files'
/// blocks are not at the include's level.
fn included_headers<'n>(
    nginx: &'n Nginx,
    file: usize,
    d: &Directive,
) -> Vec<(&'n Config, &'n Directive)> {
    let mut out = Vec::new();
    let Some(loaded) = nginx.loaded.files.get(file) else {
        return out;
    };
    let Some((_, files)) = loaded
        .includes
        .iter()
        .find(|(span, _)| *span == d.name.span)
    else {
        return out;
    };
    for index in files {
        let Some(Ok(config)) = nginx.loaded.files.get(*index).map(|f| &f.config) else {
            continue;
        };
        for node in &config.children {
            if let crate::nginx::syntax::Node::Directive(inner) = node
                && config.name_of(inner) == b"proxy_set_header"
            {
                out.push((config, inner));
            }
        }
    }
    out
}

/// What the server and http blocks gave MediaGoblin's location over HTTP.
#[derive(Default)]
struct Inherited {
    /// `uwsgi_param HTTP_*` lines for the location (its headers).
    header_lines: Vec<String>,
    host_set: bool,
    carried_forwarded_for: bool,
}

/// One level of nginx's inheritance above the location: its directives,
/// each with the file (index into `Nginx::loaded`) and configuration it is
/// in.
struct Level<'n> {
    name: &'static str,
    directives: Vec<(usize, &'n Config, &'n Directive)>,
}

/// The server block around the location, then the http level: the `http`
/// blocks' own lines, and the top-level lines of the location's file when
/// its server block is at the top (a site file, read in `http`).
fn levels<'n>(nginx: &'n Nginx, location: &PassLocation<'n>) -> Vec<Level<'n>> {
    let mut out = Vec::new();
    let Some(server) = location.server else {
        return out;
    };
    let config = location.config;
    out.push(Level {
        name: "server block",
        directives: server
            .directives()
            .map(|d| (location.file, config, d))
            .collect(),
    });
    let mut http = Vec::new();
    for (file, loaded) in nginx.loaded.files.iter().enumerate() {
        let Ok(other) = &loaded.config else { continue };
        for node in &other.children {
            if let crate::nginx::syntax::Node::Directive(d) = node
                && other.name_of(d) == b"http"
            {
                http.extend(d.directives().map(|inner| (file, other, inner)));
            }
        }
    }
    let server_at_top = config.children.iter().any(
        |node| matches!(node, crate::nginx::syntax::Node::Directive(d) if std::ptr::eq(d, server)),
    );
    if server_at_top {
        for node in &config.children {
            if let crate::nginx::syntax::Node::Directive(d) = node {
                http.push((location.file, config, d));
            }
        }
    }
    out.push(Level {
        name: "http block",
        directives: http,
    });
    out
}

/// The HTTP settings of the levels above MediaGoblin's location (server,
/// then http), which applied to it unless a nearer level set its own: the
/// nearest level's headers (when the location sets none, as nginx inherits
/// `proxy_set_header`) become uwsgi_param lines in the location (a
/// `uwsgi_param` there stops any above from being inherited); a setting
/// with a uWSGI twin gets the twin beside it, where it applies to uWSGI
/// locations only; the rest is said not to apply. The `proxy_*` lines stay
/// for the other locations.
fn from_above(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    own_headers: bool,
    url: &ProxyUrl<'_>,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<Inherited, Diagnostic> {
    let mut inherited = Inherited::default();
    // Directive names set at the location or a nearer level.
    let mut set_nearer: Vec<Vec<u8>> = Vec::new();
    walk(location.location.children(), |d, _| {
        set_nearer.push(location.config.name_of(d).to_vec());
    });
    let mut headers_decided = own_headers;
    let carry = |name: &str, raw_value: &str, inherited: &mut Inherited| {
        if let Header::Param { lines, .. } = header(name, raw_value, url) {
            inherited.host_set |= name.eq_ignore_ascii_case("host");
            inherited.carried_forwarded_for |= name.eq_ignore_ascii_case("x-forwarded-for");
            inherited.header_lines.extend(lines);
        }
    };
    for level in levels(nginx, location) {
        let names: Vec<Vec<u8>> = level
            .directives
            .iter()
            .map(|(_, config, d)| config.name_of(d).to_vec())
            .collect();
        let mut has_headers = false;
        for &(file, config, d) in &level.directives {
            let place = config.source.location(d.name.span.start);
            let name = String::from_utf8_lossy(config.name_of(d)).into_owned();
            match name.as_str() {
                "proxy_set_header" => {
                    has_headers = true;
                    if headers_decided {
                        continue;
                    }
                    let (name, raw_value) = header_of(config, d);
                    carry(&name, &raw_value, &mut inherited);
                    out.notes.changed(format!(
                        "{place}: the {}'s `{}` reached paster; MediaGoblin's location sends it as uwsgi_param",
                        level.name,
                        text(config, d)
                    ));
                }
                "include" => {
                    let headers = included_headers(nginx, file, d);
                    has_headers |= !headers.is_empty();
                    if headers_decided || headers.is_empty() {
                        continue;
                    }
                    for (included, h) in headers {
                        let (name, raw_value) = header_of(included, h);
                        carry(&name, &raw_value, &mut inherited);
                    }
                    out.notes.changed(format!(
                        "{place}: the headers of the {}'s `{}` reached paster; MediaGoblin's location sends them as uwsgi_param",
                        level.name,
                        text(config, d)
                    ));
                }
                // A zone is declared, not inherited: `cache_twins` declares
                // the twin of a zone the location uses.
                "proxy_cache_path" => {}
                other
                    if other.starts_with("proxy_")
                        && !set_nearer.iter().any(|n| n == other.as_bytes()) =>
                {
                    match fate(Protocol::Http, other) {
                        Some(Fate::Rename(twin)) => {
                            if set_nearer
                                .iter()
                                .chain(&names)
                                .any(|n| *n == twin.as_bytes())
                            {
                                continue;
                            }
                            let mut args: Vec<String> =
                                d.args.iter().map(|a| config.raw(a).into_owned()).collect();
                            if other == "proxy_cache"
                                && let Some(zone) = d.args.first()
                                && let Some(twin) =
                                    zone_twin(config, zone, Protocol::Http, cache_zones)?
                                && let Some(first) = args.first_mut()
                            {
                                *first = twin;
                            }
                            let line = format!("{twin} {};", args.join(" "));
                            out.edits.push((
                                file,
                                insert_line_after(config.source.bytes(), d.span().end, &line),
                            ));
                            out.notes.changed(format!(
                                "{place}: the {}'s `{}` applied to MediaGoblin; `{line}` added beside it",
                                level.name,
                                text(config, d)
                            ));
                        }
                        Some(Fate::Drop(why)) => out.notes.dropped(
                            format!(
                                "{place}: the {}'s `{}`, for MediaGoblin",
                                level.name,
                                text(config, d)
                            ),
                            why,
                        ),
                        None => {}
                    }
                }
                _ => {}
            }
        }
        headers_decided |= has_headers;
        set_nearer.extend(names);
    }
    Ok(inherited)
}

/// Whether the server block around `location` takes TLS connections.
fn serves_tls(config: &Config, location: &PassLocation<'_>) -> bool {
    location.server.is_some_and(|server| {
        server.directives().any(|d| match config.name_of(d) {
            b"listen" => d.args.iter().skip(1).any(|a| config.value(a) == "ssl"),
            b"ssl" => config.arg(d, 0).is_some_and(|v| v == "on"),
            _ => false,
        })
    })
}

/// Rewrites the HTTP directives of one location; the caller then moves the
/// prefix and sends SCRIPT_NAME.
pub(super) fn rewrite_location(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    options: &Options<'_>,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<Found, Diagnostic> {
    let config = location.config;
    let bytes = config.source.bytes();
    let file = location.file;
    let place = location.place();
    let url_text = config.arg(location.pass, 0).unwrap_or_default();
    let url = ProxyUrl::parse(&url_text);
    if url_text.contains('$') {
        return Err(
            Diagnostic::error("proxy_pass names its address with a variable")
                .at(
                    &config.source,
                    location.pass.span(),
                    "mgdeploy cannot tell where this goes",
                )
                .with_help("write the address of paster's HTTP server out, then run migrate again"),
        );
    }
    if !matches!(url.uri, "" | "/") {
        return Err(Diagnostic::error(format!(
            "proxy_pass replaces the location's prefix with {}",
            url.uri
        ))
        .at(&config.source, location.pass.span(), "MediaGoblin sees other paths than nginx")
        .with_note("mgdeploy moves `proxy_pass http://ADDRESS` and `proxy_pass http://ADDRESS/`: MediaGoblin is then served at the location's prefix")
        .with_help("serve MediaGoblin at the location's prefix first (proxy_pass without the path, and the prefix in paste.ini), then run migrate again"));
    }
    let mount = super::Mount::of_location(&location.uri());
    if url.uri == "/" && !mount.is_root() {
        out.notes.changed(format!(
            "{place}: nginx cut {mount} off the path before paster saw it; uWSGI now tells MediaGoblin its prefix (SCRIPT_NAME {mount}), so its links carry it"
        ));
    }
    if url.https {
        out.notes.warning(format!(
            "{place}: nginx reached paster over https; uWSGI is reached over its own socket, without TLS"
        ));
    }

    let mut found = Found::default();
    let mut directives: Vec<&Directive> = Vec::new();
    walk(location.location.children(), |d, _| directives.push(d));
    // The first line that set headers, and whether it is a
    // proxy_set_header (else an include, which writes its own comment).
    let mut first_header: Option<(usize, bool)> = None;
    let mut carried_forwarded_for = false;
    let mut host_set = false;
    for d in directives {
        let place = config.source.location(d.name.span.start);
        let name = String::from_utf8_lossy(config.name_of(d)).into_owned();
        match name.as_str() {
            "proxy_pass" => {
                let own = d.span() == location.pass.span();
                let value = config.arg(d, 0).unwrap_or_default();
                if !own && Protocol::Http.address(&value) != location.address {
                    return Err(Diagnostic::error(format!(
                        "MediaGoblin's location also proxies to {value}"
                    ))
                    .at(&config.source, d.span(), "not paster's HTTP server")
                    .with_related(&config.source, location.pass.span(), "paster's")
                    .with_help("mgdeploy moves a location whose proxy_pass all reach paster: move the other one to a location of its own, then run migrate again"));
                }
                out.edits
                    .push((file, Edit::replace(d.name.inner_span(), "uwsgi_pass")));
                let address = match options.socket {
                    Some(socket) => socket.to_nginx(),
                    None => location.address.to_nginx(),
                };
                if let Some(arg) = d.args.first() {
                    out.edits
                        .push((file, Edit::replace(arg.span, word(&address)?)));
                }
                if own {
                    found.pass_end = Some(d.span().end);
                }
                out.notes.changed(format!(
                    "{place}: `{}` → `uwsgi_pass {address};`",
                    text(config, d)
                ));
            }
            "proxy_set_header" => {
                first_header.get_or_insert((line_start(bytes, d.span().start), true));
                let (header_name, raw_value) = header_of(config, d);
                match header(&header_name, &raw_value, &url) {
                    Header::Param { lines, said } => {
                        let start = d.span().start;
                        let mut rest = lines.iter();
                        let line = rest.next().cloned().unwrap_or_default();
                        out.edits.push((
                            file,
                            Edit::replace(Span::new(start, d.span().end), line.clone()),
                        ));
                        for more in rest {
                            out.edits
                                .push((file, insert_line_after(bytes, d.span().end, more)));
                        }
                        let line = lines.join(" ");
                        carried_forwarded_for |=
                            header_name.eq_ignore_ascii_case("x-forwarded-for");
                        host_set |= header_name.eq_ignore_ascii_case("host");
                        out.notes.changed(format!(
                            "{place}: `{}` → `{line}`{}",
                            text(config, d),
                            said.map(|s| format!(": {s}")).unwrap_or_default()
                        ));
                    }
                    Header::Dropped(why) => {
                        found.removals.push(removal(bytes, d.span()));
                        out.notes
                            .dropped(format!("{place}: `{}`", text(config, d)), why);
                    }
                }
            }
            "include" => {
                let headers = included_headers(nginx, location.file, d);
                let Some(arg) = d.args.first() else { continue };
                let value = config.value(arg);
                let file_name = value.rsplit('/').next().unwrap_or_default();
                if file_name != "proxy_params" && headers.is_empty() {
                    continue;
                }
                if found.include_end.is_some() && file_name == "proxy_params" {
                    found.removals.push(removal(bytes, d.span()));
                    out.notes.dropped(
                        format!("{place}: `{}`", text(config, d)),
                        "proxy_params is included above already; its headers are there as uwsgi_param lines",
                    );
                    continue;
                }
                first_header.get_or_insert((line_start(bytes, d.span().start), false));
                let raw = config.raw(arg).into_owned();
                let replaced = match raw.rfind(file_name) {
                    Some(at) if file_name == "proxy_params" => {
                        let beside = format!(
                            "{}{UWSGI_PARAMS}",
                            value.strip_suffix(file_name).unwrap_or_default()
                        );
                        let server_path = nginx.prefix.join(&beside);
                        if options.sysroot.is_file(&options.sysroot.host(&server_path)) {
                            format!(
                                "{}{UWSGI_PARAMS}{}",
                                raw.get(..at).unwrap_or_default(),
                                raw.get(at + file_name.len()..).unwrap_or_default()
                            )
                        } else {
                            // proxy_params came from mgdeploy's stock copy, or
                            // uwsgi_params lives elsewhere.
                            word(&uwsgi_params_path(nginx, options).0)?
                        }
                    }
                    _ => {
                        // Some other file of proxy_set_header lines: it goes,
                        // its headers stay as uWSGI params.
                        found.removals.push(removal(bytes, d.span()));
                        String::new()
                    }
                };
                let mut lines = vec![HEADERS_COMMENT.to_string()];
                for (included, h) in &headers {
                    let (header_name, raw_value) = header_of(included, h);
                    if let Header::Param { lines: more, .. } =
                        header(&header_name, &raw_value, &url)
                    {
                        carried_forwarded_for |=
                            header_name.eq_ignore_ascii_case("x-forwarded-for");
                        host_set |= header_name.eq_ignore_ascii_case("host");
                        lines.extend(more);
                    }
                }
                if replaced.is_empty() {
                    out.notes.dropped(
                        format!("{place}: `{}`", text(config, d)),
                        "its proxy_set_header lines are written into the location as uwsgi_param HTTP_* lines",
                    );
                } else {
                    out.edits
                        .push((file, Edit::replace(arg.span, replaced.clone())));
                    found.include_end = Some(d.span().end);
                    out.notes.changed(format!(
                        "{place}: `include {raw};` → `include {replaced};`, and its {} headers as uwsgi_param HTTP_* lines",
                        lines.len() - 1
                    ));
                }
                if lines.len() > 1 {
                    for line in lines {
                        out.edits
                            .push((file, insert_line_after(bytes, d.span().end, &line)));
                    }
                }
            }
            other if other.starts_with("proxy_") => match fate(Protocol::Http, other) {
                Some(Fate::Rename(_)) => {
                    rename_to_twin(config, d, Protocol::Http, file, out, cache_zones)?;
                }
                Some(Fate::Drop(why)) => {
                    found.removals.push(removal(bytes, d.span()));
                    out.notes
                        .dropped(format!("{place}: `{}`", text(config, d)), why);
                    if matches!(other, "proxy_method" | "proxy_set_body") {
                        out.notes.warning(format!(
                            "{place}: `{}` changed what paster received; check that MediaGoblin does not depend on it",
                            text(config, d)
                        ));
                    }
                }
                None => out.notes.warning(format!(
                    "{place}: `{}` is not a directive nginx knows; it was left as it is",
                    text(config, d)
                )),
            },
            _ => {
                if d.args.iter().any(|a| {
                    config.raw(a).contains("$proxy_host") || config.raw(a).contains("$proxy_port")
                }) {
                    out.notes.warning(format!(
                        "{place}: `{}` uses $proxy_host or $proxy_port, which are empty without proxy_pass",
                        text(config, d)
                    ));
                }
            }
        }
    }

    // The comment above the headers spoke of proxy_set_header (the docs':
    // "... can be replaced by: include proxy_params;"): its first line says
    // what the lines are now, the rest goes.
    if let Some((start, replace_first)) = first_header {
        let comments = comment_lines_above(bytes, start);
        let about_headers = comments.iter().any(|span| {
            let line = String::from_utf8_lossy(config.bytes(*span)).to_ascii_lowercase();
            line.contains("proxy_set_header") || line.contains("proxy_params")
        });
        if about_headers {
            let mut lines = comments.into_iter();
            if replace_first && let Some(first) = lines.next() {
                let end = line_end(bytes, first.start);
                let hash = bytes
                    .get(first.start..end)
                    .and_then(|line| line.iter().position(|&b| b == b'#'))
                    .map_or(first.start, |i| first.start + i);
                out.edits
                    .push((file, Edit::replace(Span::new(hash, end), HEADERS_COMMENT)));
            }
            found.removals.extend(lines);
        }
    }

    if found.include_end.is_none() {
        let (path, exists) = uwsgi_params_path(nginx, options);
        let after = found.pass_end.unwrap_or(location.pass.span().end);
        out.edits.push((
            file,
            insert_line_after(bytes, after, &format!("include {};", word(&path)?)),
        ));
        out.notes.changed(format!(
            "{place}: added `include {path};`, the variables uWSGI needs"
        ));
        if !exists && !options.sysroot.is_mirror() {
            out.notes.warning(
                "no uwsgi_params was found beside nginx.conf or in /etc/nginx; nginx needs one (Debian's nginx-common ships it)",
            );
        }
    }
    let inherited = from_above(
        nginx,
        location,
        first_header.is_some(),
        &url,
        out,
        cache_zones,
    )?;
    host_set |= inherited.host_set;
    carried_forwarded_for |= inherited.carried_forwarded_for;
    if !inherited.header_lines.is_empty() {
        let after = found
            .include_end
            .or(found.pass_end)
            .unwrap_or(location.pass.span().end);
        for line in std::iter::once(HEADERS_COMMENT.to_string()).chain(inherited.header_lines) {
            out.edits
                .push((file, insert_line_after(bytes, after, &line)));
        }
    }
    if !host_set {
        out.notes.warning(format!(
            "{place}: nginx sent paster its own Host, {} (proxy_pass's default), so the absolute URLs MediaGoblin wrote (feeds, e-mails) named that address; uWSGI passes the visitor's Host, as MediaGoblin's docs set it from 0.12.1 on",
            url.authority
        ));
    }
    if serves_tls(config, location) {
        out.notes.warning(format!(
            "{place}: nginx serves this over TLS, and MediaGoblin now sees it (uwsgi_params' HTTPS): its cookies are Secure and its absolute URLs start with https://; paster saw http unless paste.ini's server trusted nginx's X-Forwarded-Proto (waitress's trusted_proxy)"
        ));
    }
    out.notes.changed(format!(
        "{place}: MediaGoblin now sees the visitor's address as REMOTE_ADDR (uwsgi_params), where paster saw nginx's{}",
        if carried_forwarded_for {
            "; X-Forwarded-For still reaches it as HTTP_X_FORWARDED_FOR"
        } else {
            ""
        }
    ));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_become_uwsgi_variables() {
        let url = ProxyUrl::parse("http://127.0.0.1:6543");
        assert_eq!(
            without_proxy_variables("$proxy_host", &url).as_deref(),
            Some("127.0.0.1:6543")
        );
        let odd = ProxyUrl::parse("http://a;b");
        assert_eq!(without_proxy_variables("$proxy_host", &odd), None);
        assert!(matches!(
            header("Connection", "\"\"", &url),
            Header::Dropped(_)
        ));
        let Header::Param { lines, .. } = header("X-Forwarded-Proto", "https", &url) else {
            panic!("X-Forwarded-Proto dropped");
        };
        assert_eq!(
            lines,
            [
                "uwsgi_param HTTP_X_FORWARDED_PROTO https;",
                "uwsgi_param UWSGI_SCHEME https;"
            ]
        );
        let Header::Param { lines, .. } = header("X-Forwarded-Proto", "$scheme", &url) else {
            panic!("X-Forwarded-Proto dropped");
        };
        assert_eq!(lines.len(), 1, "uwsgi_params' HTTPS carries $scheme");
        assert!(matches!(
            header("Upgrade", "$http_upgrade", &url),
            Header::Dropped(_)
        ));
    }
}
