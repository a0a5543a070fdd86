//! An HTTP location's own directives (paster's HTTP server, the way
//! MediaGoblin 0.10 and later are deployed), moved to uWSGI:
//! `proxy_pass` becomes `uwsgi_pass` on the same address, `include
//! uwsgi_params` is added, `proxy_*` settings with a `uwsgi_*` twin are
//! renamed and the others removed with the reason, and the request headers
//! nginx set for paster (`proxy_set_header`, Debian's `proxy_params`, and
//! those the levels above set) become the `uwsgi_param HTTP_*` variables
//! MediaGoblin reads them from, so it builds the same absolute URLs.

use super::cache::CacheZone;
use super::{Found, Options, Rewrite, rename_to_twin, text, word};
use crate::deploy::Nginx;
use crate::deploy::locations::PassLocation;
use crate::diagnostic::Diagnostic;
use crate::lines::{insert_line_after, line_start, removal, reword_comment_above};
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

/// Rewrites the HTTP directives of one location, then carries over what
/// the levels above set for it; the caller then moves the prefix and sends
/// SCRIPT_NAME.
pub(super) fn rewrite(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    options: &Options<'_>,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<Found, Diagnostic> {
    let config = location.config;
    let url_text = config.arg(location.pass, 0).unwrap_or_default();
    let url = ProxyUrl::parse(&url_text);
    refuse_what_cannot_move(location, &url_text, &url)?;
    say_what_the_url_meant(location, &url, out);

    let mut directives: Vec<&Directive> = Vec::new();
    walk(location.location.children(), |d, _| directives.push(d));
    let mut rewrite = HttpRewrite {
        nginx,
        location,
        options,
        url: &url,
        out,
        cache_zones,
        found: Found::default(),
        first_header: None,
        carried_forwarded_for: false,
        host_set: false,
    };
    for d in directives {
        rewrite.directive(d)?;
    }
    rewrite.headers_comment();
    rewrite.include_uwsgi_params()?;
    let inherited = super::inherit::from_above(
        nginx,
        location,
        Protocol::Http,
        rewrite.first_header.is_some(),
        rewrite.out,
        rewrite.cache_zones,
    )?;
    rewrite.inherited_headers(&inherited.headers);
    rewrite.say_what_changes_for_mediagoblin();
    Ok(rewrite.found)
}

/// A `proxy_pass` mgdeploy cannot move: to a variable, or replacing the
/// location's prefix with another path.
fn refuse_what_cannot_move(
    location: &PassLocation<'_>,
    url_text: &str,
    url: &ProxyUrl<'_>,
) -> Result<(), Diagnostic> {
    let config = location.config;
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
    Ok(())
}

/// What the URL's path and scheme meant, now that they go.
fn say_what_the_url_meant(location: &PassLocation<'_>, url: &ProxyUrl<'_>, out: &mut Rewrite) {
    let place = location.place();
    let mount = crate::migrate::options::Mount::of_location(&location.uri());
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
}

/// One location's rewrite in progress.
struct HttpRewrite<'r, 'n> {
    nginx: &'n Nginx,
    location: &'r PassLocation<'n>,
    options: &'r Options<'r>,
    url: &'r ProxyUrl<'r>,
    out: &'r mut Rewrite,
    cache_zones: &'r mut Vec<CacheZone>,
    found: Found,
    /// The first line that set headers, and whether it is a
    /// proxy_set_header (else an include, which writes its own comment).
    first_header: Option<(usize, bool)>,
    carried_forwarded_for: bool,
    host_set: bool,
}

impl HttpRewrite<'_, '_> {
    fn directive(&mut self, d: &Directive) -> Result<(), Diagnostic> {
        let name = String::from_utf8_lossy(self.location.config.name_of(d)).into_owned();
        match name.as_str() {
            "proxy_pass" => self.pass(d),
            "proxy_set_header" => {
                self.set_header(d);
                Ok(())
            }
            "include" => self.include(d),
            other if other.starts_with("proxy_") => self.other(d, other),
            _ => {
                self.proxy_variables(d);
                Ok(())
            }
        }
    }

    fn place(&self, d: &Directive) -> String {
        self.location.config.source.location(d.name.span.start)
    }

    fn bytes(&self) -> &[u8] {
        self.location.config.source.bytes()
    }

    fn edit(&mut self, edit: Edit) {
        self.out.edits.push((self.location.file, edit));
    }

    fn insert_after(&mut self, end: usize, line: &str) {
        let edit = insert_line_after(self.bytes(), end, line);
        self.edit(edit);
    }

    fn remove(&mut self, d: &Directive) {
        let span = removal(self.bytes(), d.span());
        self.found.removals.push(span);
    }

    /// A header carried to uWSGI: remember what MediaGoblin gets.
    fn carried(&mut self, header_name: &str) {
        self.carried_forwarded_for |= header_name.eq_ignore_ascii_case("x-forwarded-for");
        self.host_set |= header_name.eq_ignore_ascii_case("host");
    }

    /// `proxy_pass` → `uwsgi_pass` on the address paster listened on (or
    /// `--socket`'s); a second one elsewhere must reach paster too.
    fn pass(&mut self, d: &Directive) -> Result<(), Diagnostic> {
        let config = self.location.config;
        let own = d.span() == self.location.pass.span();
        let value = config.arg(d, 0).unwrap_or_default();
        if !own && Protocol::Http.address(&value) != self.location.address {
            return Err(Diagnostic::error(format!(
                "MediaGoblin's location also proxies to {value}"
            ))
            .at(&config.source, d.span(), "not paster's HTTP server")
            .with_related(&config.source, self.location.pass.span(), "paster's")
            .with_help("mgdeploy moves a location whose proxy_pass all reach paster: move the other one to a location of its own, then run migrate again"));
        }
        self.edit(Edit::replace(d.name.inner_span(), "uwsgi_pass"));
        let address = match self.options.socket {
            Some(socket) => socket.to_nginx(),
            None => self.location.address.to_nginx(),
        };
        if let Some(arg) = d.args.first() {
            self.edit(Edit::replace(arg.span, word(&address)?));
        }
        if own {
            self.found.pass_end = Some(d.span().end);
        }
        let place = self.place(d);
        self.out.notes.changed(format!(
            "{place}: `{}` → `uwsgi_pass {address};`",
            text(config, d)
        ));
        Ok(())
    }

    /// `proxy_set_header NAME VALUE;` → `uwsgi_param HTTP_NAME VALUE`, or
    /// removed with the reason.
    fn set_header(&mut self, d: &Directive) {
        let config = self.location.config;
        let start = line_start(self.bytes(), d.span().start);
        self.first_header.get_or_insert((start, true));
        let (header_name, raw_value) = header_of(config, d);
        let place = self.place(d);
        match header(&header_name, &raw_value, self.url) {
            Header::Param { lines, said } => {
                let mut rest = lines.iter();
                let line = rest.next().cloned().unwrap_or_default();
                self.edit(Edit::replace(Span::new(d.span().start, d.span().end), line));
                for more in rest {
                    self.insert_after(d.span().end, more);
                }
                self.carried(&header_name);
                self.out.notes.changed(format!(
                    "{place}: `{}` → `{}`{}",
                    text(config, d),
                    lines.join(" "),
                    said.map(|s| format!(": {s}")).unwrap_or_default()
                ));
            }
            Header::Dropped(why) => {
                self.remove(d);
                self.out
                    .notes
                    .dropped(format!("{place}: `{}`", text(config, d)), why);
            }
        }
    }

    /// `include proxy_params;` → `include uwsgi_params;` with its headers
    /// as uwsgi_param lines; another file of headers goes, its headers
    /// staying as lines.
    fn include(&mut self, d: &Directive) -> Result<(), Diagnostic> {
        let config = self.location.config;
        let headers = included_headers(self.nginx, self.location.file, d);
        let Some(arg) = d.args.first() else {
            return Ok(());
        };
        let value = config.value(arg);
        let file_name = value.rsplit('/').next().unwrap_or_default().to_string();
        if file_name != "proxy_params" && headers.is_empty() {
            return Ok(());
        }
        let place = self.place(d);
        if self.found.include_end.is_some() && file_name == "proxy_params" {
            self.remove(d);
            self.out.notes.dropped(
                format!("{place}: `{}`", text(config, d)),
                "proxy_params is included above already; its headers are there as uwsgi_param lines",
            );
            return Ok(());
        }
        let start = line_start(self.bytes(), d.span().start);
        self.first_header.get_or_insert((start, false));
        let raw = config.raw(arg).into_owned();
        let replaced = match raw.rfind(&file_name) {
            Some(at) if file_name == "proxy_params" => {
                let beside = format!(
                    "{}{UWSGI_PARAMS}",
                    value.strip_suffix(&file_name).unwrap_or_default()
                );
                let server_path = self.nginx.prefix.join(&beside);
                let sysroot = self.options.sysroot;
                if sysroot.is_file(&sysroot.host(&server_path)) {
                    format!(
                        "{}{UWSGI_PARAMS}{}",
                        raw.get(..at).unwrap_or_default(),
                        raw.get(at + file_name.len()..).unwrap_or_default()
                    )
                } else {
                    // proxy_params came from mgdeploy's stock copy, or
                    // uwsgi_params lives elsewhere.
                    word(&uwsgi_params_path(self.nginx, self.options).0)?
                }
            }
            _ => {
                // Some other file of proxy_set_header lines: it goes, its
                // headers stay as uWSGI params.
                self.remove(d);
                String::new()
            }
        };
        let mut lines = vec![HEADERS_COMMENT.to_string()];
        for (included, h) in &headers {
            let (header_name, raw_value) = header_of(included, h);
            if let Header::Param { lines: more, .. } = header(&header_name, &raw_value, self.url) {
                self.carried(&header_name);
                lines.extend(more);
            }
        }
        if replaced.is_empty() {
            self.out.notes.dropped(
                format!("{place}: `{}`", text(config, d)),
                "its proxy_set_header lines are written into the location as uwsgi_param HTTP_* lines",
            );
        } else {
            self.edit(Edit::replace(arg.span, replaced.clone()));
            self.found.include_end = Some(d.span().end);
            self.out.notes.changed(format!(
                "{place}: `include {raw};` → `include {replaced};`, and its {} headers as uwsgi_param HTTP_* lines",
                lines.len() - 1
            ));
        }
        if lines.len() > 1 {
            for line in lines {
                self.insert_after(d.span().end, &line);
            }
        }
        Ok(())
    }

    /// Any other `proxy_*`: renamed to its twin, or removed with the
    /// table's reason.
    fn other(&mut self, d: &Directive, name: &str) -> Result<(), Diagnostic> {
        let config = self.location.config;
        let place = self.place(d);
        match fate(Protocol::Http, name) {
            Some(Fate::Rename(_)) => rename_to_twin(
                config,
                d,
                Protocol::Http,
                self.location.file,
                self.out,
                self.cache_zones,
            )?,
            Some(Fate::Drop(why)) => {
                self.remove(d);
                self.out
                    .notes
                    .dropped(format!("{place}: `{}`", text(config, d)), why);
                if matches!(name, "proxy_method" | "proxy_set_body") {
                    self.out.notes.warning(format!(
                        "{place}: `{}` changed what paster received; check that MediaGoblin does not depend on it",
                        text(config, d)
                    ));
                }
            }
            None => self.out.notes.warning(format!(
                "{place}: `{}` is not a directive nginx knows; it was left as it is",
                text(config, d)
            )),
        }
        Ok(())
    }

    /// `$proxy_host`/`$proxy_port` in another directive: empty from now on.
    fn proxy_variables(&mut self, d: &Directive) {
        let config = self.location.config;
        let uses = d.args.iter().any(|a| {
            let raw = config.raw(a);
            raw.contains("$proxy_host") || raw.contains("$proxy_port")
        });
        if uses {
            let place = self.place(d);
            self.out.notes.warning(format!(
                "{place}: `{}` uses $proxy_host or $proxy_port, which are empty without proxy_pass",
                text(config, d)
            ));
        }
    }

    /// The comment above the headers spoke of proxy_set_header (the docs':
    /// "... can be replaced by: include proxy_params;"): its first line
    /// says what the lines are now, the rest goes.
    fn headers_comment(&mut self) {
        let Some((start, replace_first)) = self.first_header else {
            return;
        };
        let (reword, removals) = reword_comment_above(
            self.bytes(),
            start,
            |line| line.contains("proxy_set_header") || line.contains("proxy_params"),
            replace_first.then_some(HEADERS_COMMENT),
        );
        if let Some(edit) = reword {
            self.edit(edit);
        }
        self.found.removals.extend(removals);
    }

    /// `include uwsgi_params;` after the pass, unless an include became it.
    fn include_uwsgi_params(&mut self) -> Result<(), Diagnostic> {
        if self.found.include_end.is_some() {
            return Ok(());
        }
        let (path, exists) = uwsgi_params_path(self.nginx, self.options);
        let after = self.found.pass_end.unwrap_or(self.location.pass.span().end);
        self.insert_after(after, &format!("include {};", word(&path)?));
        let place = self.location.place();
        self.out.notes.changed(format!(
            "{place}: added `include {path};`, the variables uWSGI needs"
        ));
        if !exists && !self.options.sysroot.is_mirror() {
            self.out.notes.warning(
                "no uwsgi_params was found beside nginx.conf or in /etc/nginx; nginx needs one (Debian's nginx-common ships it)",
            );
        }
        Ok(())
    }

    /// The headers the levels above set, as uwsgi_param lines in the
    /// location.
    fn inherited_headers(&mut self, headers: &[(String, String)]) {
        let mut lines = Vec::new();
        for (name, raw_value) in headers {
            if let Header::Param { lines: more, .. } = header(name, raw_value, self.url) {
                self.carried(name);
                lines.extend(more);
            }
        }
        if lines.is_empty() {
            return;
        }
        let after = self.found.insert_at(self.location);
        for line in std::iter::once(HEADERS_COMMENT.to_string()).chain(lines) {
            self.insert_after(after, &line);
        }
    }

    /// What MediaGoblin sees differently behind uWSGI: the Host, the
    /// scheme, the visitor's address.
    fn say_what_changes_for_mediagoblin(&mut self) {
        let place = self.location.place();
        if !self.host_set {
            self.out.notes.warning(format!(
                "{place}: nginx sent paster its own Host, {} (proxy_pass's default), so the absolute URLs MediaGoblin wrote (feeds, e-mails) named that address; uWSGI passes the visitor's Host, as MediaGoblin's docs set it from 0.12.1 on",
                self.url.authority
            ));
        }
        if serves_tls(self.location.config, self.location) {
            self.out.notes.warning(format!(
                "{place}: nginx serves this over TLS, and MediaGoblin now sees it (uwsgi_params' HTTPS): its cookies are Secure and its absolute URLs start with https://; paster saw http unless paste.ini's server trusted nginx's X-Forwarded-Proto (waitress's trusted_proxy)"
            ));
        }
        self.out.notes.changed(format!(
            "{place}: MediaGoblin now sees the visitor's address as REMOTE_ADDR (uwsgi_params), where paster saw nginx's{}",
            if self.carried_forwarded_for {
                "; X-Forwarded-For still reaches it as HTTP_X_FORWARDED_FOR"
            } else {
                ""
            }
        ));
    }
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
