//! Rewriting MediaGoblin's FastCGI locations into uWSGI ones as minimal
//! edits: directive names renamed, FastCGI-only directives and MediaGoblin's
//! PATH_INFO workaround removed with their comment, the params include
//! switched to uwsgi_params, the prefix moved when asked (HTTP locations:
//! `proxy.rs`, then the same prefix and SCRIPT_NAME steps). SCRIPT_NAME always
//! reaches the app: MediaGoblin and Paste's urlmap read
//! `environ['SCRIPT_NAME']`, uwsgi_params sends none, and uWSGI adds none for
//! an app at `/`, so at `/` the location sends it empty. Nothing outside
//! those locations changes, except the uwsgi_cache_path twin a cached
//! location needs.

use std::path::Path;

use super::notes::Notes;
use super::options::{Mount, ScriptName};
use crate::deploy::Nginx;
use crate::deploy::locations::PassLocation;
use crate::diagnostic::Diagnostic;
use crate::escape::nginx_word;
use crate::lines::{
    comment_lines_above, insert_line_after, line_end, line_start, removal, tidy_removals,
};
use crate::nginx::syntax::walk;
use crate::nginx::syntax::{Config, Directive, Word};
use crate::plan::Edit;
use crate::protocol::directives::{Fate, PARAMS_FILES, UWSGI_PARAMS, fate};
use crate::protocol::{Address, Protocol};
use crate::source::Span;

/// What the rewrite needs to know besides the locations.
pub struct Options<'a> {
    /// The address uWSGI will listen on, when it is not the FastCGI one.
    pub socket: Option<&'a Address>,
    /// The prefix MediaGoblin is served under after the move.
    pub mount: &'a Mount,
    pub script_name: ScriptName,
    /// Where the server's files are read.
    pub sysroot: &'a crate::sysroot::Sysroot,
}

/// Edits by file (index into `Nginx::loaded`).
#[derive(Debug, Default)]
pub struct Rewrite {
    pub edits: Vec<(usize, Edit)>,
    pub notes: Notes,
}

/// The comment that says why SCRIPT_NAME is sent at `/`.
const SCRIPT_NAME_COMMENT: &str =
    "# MediaGoblin reads SCRIPT_NAME, which uwsgi_params does not send.";

/// A directive as written: its name and raw arguments, then `;`.
pub(super) fn text(config: &Config, directive: &Directive) -> String {
    let mut out = config.raw(&directive.name).into_owned();
    for arg in &directive.args {
        out.push(' ');
        out.push_str(&config.raw(arg));
    }
    out.push(';');
    out
}

/// The edits that give `d` (a directive of the module speaking `from`,
/// with a uWSGI twin) the twin's name; `{family}_cache ZONE` also gets
/// ZONE's twin, which `cache_twins` declares.
pub(super) fn rename_to_twin(
    config: &Config,
    d: &Directive,
    from: Protocol,
    file: usize,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<(), Diagnostic> {
    out.edits
        .extend(twin_name(config, d, from).map(|e| (file, e)));
    if config.name_of(d).strip_prefix(from.prefix().as_bytes()) == Some(b"cache")
        && let Some(zone) = d.args.first()
        && let Some(twin) = zone_twin(config, zone, from, cache_zones)?
    {
        out.edits.push((file, Edit::replace(zone.span, twin)));
    }
    Ok(())
}

/// The uWSGI twin of the cache zone a `{family}_cache` names, as an nginx
/// word, with the zone kept for `cache_twins` to declare; `None` for `off`.
pub(super) fn zone_twin(
    config: &Config,
    zone: &Word,
    from: Protocol,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<Option<String>, Diagnostic> {
    let name = config.value(zone);
    if name == "off" {
        return Ok(None);
    }
    let twin = word(&format!("{name}_uwsgi"))?;
    cache_zones.push(CacheZone {
        name,
        declared_by: format!("{}cache_path", from.prefix()),
    });
    Ok(Some(twin))
}

/// The edit that gives `d`, a directive of the module speaking `from`, its
/// uWSGI twin's name, as the directive table names it.
pub(super) fn twin_name(config: &Config, d: &Directive, from: Protocol) -> Option<Edit> {
    let name = String::from_utf8_lossy(config.name_of(d));
    match fate(from, &name)? {
        Fate::Rename(twin) => Some(Edit::replace(d.name.inner_span(), twin)),
        Fate::Drop(_) => None,
    }
}

/// Edits the arguments of `d` that use a FastCGI variable, with a warning.
fn replace_fastcgi_variables(
    config: &Config,
    d: &Directive,
    file: usize,
    place: &str,
    out: &mut Rewrite,
) {
    for arg in &d.args {
        if let Some(replaced) = crate::protocol::fastcgi::without_variables(&config.raw(arg)) {
            out.edits.push((file, Edit::replace(arg.span, replaced)));
            out.notes.warning(format!(
                "{place}: `{}` used a FastCGI variable; it now uses $uri, which is what the variable held here",
                text(config, d)
            ));
        }
    }
}

/// Rewrites every location of `locations` (all in `nginx`).
pub fn rewrite(
    nginx: &Nginx,
    locations: &[PassLocation<'_>],
    options: &Options<'_>,
) -> Result<Rewrite, Diagnostic> {
    let mut out = Rewrite::default();
    let mut cache_zones: Vec<CacheZone> = Vec::new();
    // A location with several passes (one in an `if`) is listed once per
    // pass, and rewritten once.
    let mut done: Vec<(usize, Span)> = Vec::new();
    for location in locations {
        let key = (location.file, location.location.span());
        if done.contains(&key) {
            continue;
        }
        done.push(key);
        rewrite_location(nginx, location, options, &mut out, &mut cache_zones)?;
    }
    cache_twins(nginx, &cache_zones, &mut out);
    Ok(out)
}

/// A cache zone a renamed `fastcgi_cache`/`proxy_cache` used.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct CacheZone {
    pub name: String,
    /// The directive that declares it: `fastcgi_cache_path`, `proxy_cache_path`.
    pub declared_by: String,
}

/// The nginx value of a word mgdeploy writes, quoted as nginx needs it.
pub(super) fn word(value: &str) -> Result<String, Diagnostic> {
    nginx_word(value)
        .map_err(|e| Diagnostic::error(format!("cannot write the nginx configuration: {e}")))
}

/// What one location's rewrite has found so far.
#[derive(Default)]
pub(super) struct Found {
    pub removals: Vec<Span>,
    /// Start of the first line of MediaGoblin's SCRIPT_NAME/PATH_INFO
    /// workaround (removed or kept), where its comment ends.
    pub first_workaround: Option<usize>,
    /// The location sends SCRIPT_NAME itself (`fastcgi_param SCRIPT_NAME
    /// "";` kept as `uwsgi_param` at `/`, ...).
    pub kept_script_name: bool,
    /// Where the params include ends, after which SCRIPT_NAME goes.
    pub include_end: Option<usize>,
    pub pass_end: Option<usize>,
}

fn rewrite_location(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    options: &Options<'_>,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<(), Diagnostic> {
    let config = location.config;
    let source = &config.source;
    let prefix_location = match location.location.args.as_slice() {
        [_] => true,
        [modifier, _] => config.value(modifier) == "^~",
        _ => false,
    };
    if !prefix_location {
        return Err(Diagnostic::error("MediaGoblin is mounted with an exact or regular-expression location")
            .at(source, location.location.span(), "mgdeploy rewrites prefix locations only")
            .with_help("change it to a prefix location such as `location /mediagoblin/ {`, then run migrate again"));
    }
    let found = match location.protocol {
        Protocol::Http => {
            super::proxy::rewrite_location(nginx, location, options, out, cache_zones)?
        }
        Protocol::FastCgi | Protocol::Uwsgi => {
            rewrite_fastcgi(nginx, location, options, out, cache_zones)?
        }
    };
    finish_location(location, options, found, out)
}

/// The FastCGI directives of one location, renamed or removed.
fn rewrite_fastcgi(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    options: &Options<'_>,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<Found, Diagnostic> {
    let config = location.config;
    let bytes = config.source.bytes();
    let file = location.file;
    let at_root = options.mount.is_root();
    let has_split = {
        let mut found = false;
        walk(location.location.children(), |d, _| {
            found |= config.name_of(d) == b"fastcgi_split_path_info";
        });
        found
    };
    let mut found = Found::default();

    let mut directives: Vec<&Directive> = Vec::new();
    walk(location.location.children(), |d, _| directives.push(d));
    for d in directives {
        let place = config.source.location(d.name.span.start);
        let directive_name = String::from_utf8_lossy(config.name_of(d)).into_owned();
        let args: Vec<String> = d.args.iter().map(|a| config.value(a)).collect();
        match directive_name.as_str() {
            "fastcgi_pass" => {
                out.edits
                    .extend(twin_name(config, d, Protocol::FastCgi).map(|e| (file, e)));
                if let (Some(socket), Some(arg)) = (options.socket, d.args.first())
                    && Address::parse_nginx(&config.value(arg)) != *socket
                {
                    out.edits
                        .push((file, Edit::replace(arg.span, word(&socket.to_nginx())?)));
                }
                if d.span() == location.pass.span() {
                    found.pass_end = Some(d.span().end);
                }
                out.notes.changed(format!(
                    "{place}: `{}` → `uwsgi_pass {};`",
                    text(config, d),
                    match options.socket {
                        Some(socket) => socket.to_nginx(),
                        None => location.address_text.clone(),
                    }
                ));
            }
            "fastcgi_param" => {
                let param = args.first().map(String::as_str).unwrap_or_default();
                let value = args.get(1).map(String::as_str).unwrap_or_default();
                let path_workaround = param == "PATH_INFO" && value == "$fastcgi_script_name";
                let empty_script_name = param == "SCRIPT_NAME" && value.is_empty();
                let subpath = has_split && matches!(param, "PATH_INFO" | "SCRIPT_NAME");
                if path_workaround || empty_script_name || subpath {
                    found
                        .first_workaround
                        .get_or_insert(line_start(bytes, d.span().start));
                }
                if empty_script_name && !subpath && at_root && !found.kept_script_name {
                    out.edits
                        .extend(twin_name(config, d, Protocol::FastCgi).map(|e| (file, e)));
                    found.kept_script_name = true;
                    out.notes.changed(format!(
                        "{place}: `{}` → `uwsgi_param SCRIPT_NAME \"\";`: MediaGoblin reads SCRIPT_NAME, which uwsgi_params does not send",
                        text(config, d)
                    ));
                    continue;
                }
                if path_workaround || empty_script_name || subpath {
                    found.removals.push(removal(bytes, d.span()));
                    let why = if found.kept_script_name && empty_script_name && at_root {
                        "the same SCRIPT_NAME is sent above already".to_string()
                    } else if param == "PATH_INFO" && !subpath {
                        "MediaGoblin's FastCGI workaround; uwsgi_params already sends PATH_INFO as $document_uri".to_string()
                    } else if options.script_name == ScriptName::Mount && !at_root {
                        format!(
                            "uWSGI's mount sets SCRIPT_NAME to {} and takes it off PATH_INFO",
                            options.mount
                        )
                    } else if at_root {
                        "at / the location sends SCRIPT_NAME \"\" instead".to_string()
                    } else {
                        format!("nginx sends SCRIPT_NAME {} instead (below)", options.mount)
                    };
                    out.notes
                        .dropped(format!("{place}: `{}`", text(config, d)), why);
                    continue;
                }
                out.edits
                    .extend(twin_name(config, d, Protocol::FastCgi).map(|e| (file, e)));
                replace_fastcgi_variables(config, d, file, &place, out);
                // The location sends SCRIPT_NAME itself.
                found.kept_script_name |= param == "SCRIPT_NAME";
            }
            "include" => {
                let Some(arg) = d.args.first() else { continue };
                let raw = config.raw(arg).into_owned();
                let Some(params) = PARAMS_FILES.iter().find(|p| {
                    let value = config.value(arg);
                    value == **p || value.ends_with(&format!("/{p}"))
                }) else {
                    continue;
                };
                let Some(at) = raw.rfind(params) else {
                    continue;
                };
                let replaced = format!(
                    "{}{UWSGI_PARAMS}{}",
                    raw.get(..at).unwrap_or_default(),
                    raw.get(at + params.len()..).unwrap_or_default()
                );
                out.edits
                    .push((file, Edit::replace(arg.span, replaced.clone())));
                found.include_end = Some(d.span().end);
                out.notes
                    .changed(format!("{place}: `include {raw};` → `include {replaced};`"));
                let value = config.value(arg);
                let new_value = format!(
                    "{}{UWSGI_PARAMS}",
                    value.strip_suffix(params).unwrap_or_default()
                );
                let resolved = if Path::new(&new_value).is_absolute() {
                    Path::new(&new_value).to_path_buf()
                } else {
                    nginx.prefix.join(&new_value)
                };
                // A mirror need not hold nginx's stock files: the server's
                // nginx package has them.
                if !options.sysroot.is_mirror() && !options.sysroot.is_file(&resolved) {
                    out.notes.warning(format!(
                        "{} does not exist here; nginx needs it (Debian's nginx-common ships it)",
                        resolved.display()
                    ));
                }
            }
            other if other.starts_with("fastcgi_") => match fate(Protocol::FastCgi, other) {
                Some(Fate::Rename(_)) => {
                    rename_to_twin(config, d, Protocol::FastCgi, file, out, cache_zones)?;
                }
                Some(Fate::Drop(why)) => {
                    found.removals.push(removal(bytes, d.span()));
                    out.notes
                        .dropped(format!("{place}: `{}`", text(config, d)), why);
                }
                None => out.notes.warning(format!(
                    "{place}: `{}` is not a directive nginx knows; it was left as it is",
                    text(config, d)
                )),
            },
            _ => replace_fastcgi_variables(config, d, file, &place, out),
        }
    }

    // The comment that explained the workaround: it goes with it, or, when
    // SCRIPT_NAME stays, its first line says why instead.
    if let Some(start) = found.first_workaround {
        let comments = comment_lines_above(bytes, start);
        let explains = comments.iter().any(|span| {
            let line = String::from_utf8_lossy(config.bytes(*span)).to_ascii_lowercase();
            line.contains("script_name") || line.contains("path_info")
        });
        if explains {
            let mut lines = comments.into_iter();
            if found.kept_script_name
                && let Some(first) = lines.next()
            {
                let end = line_end(bytes, first.start);
                let hash = bytes
                    .get(first.start..end)
                    .and_then(|line| line.iter().position(|&b| b == b'#'))
                    .map_or(first.start, |i| first.start + i);
                out.edits.push((
                    file,
                    Edit::replace(Span::new(hash, end), SCRIPT_NAME_COMMENT),
                ));
            }
            found.removals.extend(lines);
        }
    }
    Ok(found)
}

/// What every moved location gets, whatever it passed to before: the
/// removals made tidy, the prefix moved when asked, SCRIPT_NAME sent as the
/// mount needs, and a word on settings inherited from the server block.
fn finish_location(
    location: &PassLocation<'_>,
    options: &Options<'_>,
    mut found: Found,
    out: &mut Rewrite,
) -> Result<(), Diagnostic> {
    let config = location.config;
    let bytes = config.source.bytes();
    let file = location.file;
    let current = Mount::of_location(&location.uri());
    let at_root = options.mount.is_root();
    for span in tidy_removals(bytes, std::mem::take(&mut found.removals)) {
        out.edits.push((file, Edit::delete(span)));
    }

    let place = location.place();
    // Moving the prefix.
    if *options.mount != current
        && let Some(uri) = location.location.args.last()
    {
        out.edits.push((
            file,
            Edit::replace(uri.span, word(&options.mount.location_uri())?),
        ));
        out.notes.changed(format!(
            "{place}: MediaGoblin moves from {current} to {}",
            options.mount
        ));
        if current.is_root()
            && let Some(server) = location.server
            && let Some(root) = server.directives().find(|d| config.name_of(d) == b"root")
        {
            out.notes.warning(format!(
                    "{}: `{}`: requests outside {} are now served from that directory; make sure it holds nothing private (paste.ini, mediagoblin.ini)",
                    config.source.location(root.name.span.start),
                    text(config, root),
                    options.mount
                ));
        }
    }
    let after = found
        .include_end
        .or(found.pass_end)
        .unwrap_or(location.pass.span().end);
    if at_root && !found.kept_script_name {
        // uwsgi_params sends no SCRIPT_NAME, and MediaGoblin needs one.
        for line in [
            SCRIPT_NAME_COMMENT.to_string(),
            "uwsgi_param SCRIPT_NAME \"\";".to_string(),
        ] {
            out.edits
                .push((file, insert_line_after(bytes, after, &line)));
        }
        out.notes.changed(format!(
            "{place}: nginx sends SCRIPT_NAME \"\": MediaGoblin reads SCRIPT_NAME, which uwsgi_params does not send"
        ));
    }
    // nginx sends the prefix itself unless uWSGI's mount handles it.
    if !at_root && options.script_name != ScriptName::Mount {
        let mut lines = vec![format!(
            "uwsgi_param SCRIPT_NAME {};",
            word(options.mount.as_str())?
        )];
        let how = if options.script_name == ScriptName::Modifier1 {
            lines.push("uwsgi_modifier1 30;".to_string());
            "with uwsgi_modifier1 30"
        } else {
            "and uWSGI strips it from PATH_INFO"
        };
        for line in lines {
            out.edits
                .push((file, insert_line_after(bytes, after, &line)));
        }
        out.notes.changed(format!(
            "{place}: nginx sends SCRIPT_NAME {} {how}",
            options.mount
        ));
    }

    // FastCGI settings inherited from the server block do not reach uWSGI
    // (`proxy.rs` carries an HTTP server block's over).
    if location.protocol != Protocol::Http
        && let Some(server) = location.server
    {
        let inherited: Vec<String> = server
            .directives()
            .filter(|d| config.name_of(d).starts_with(b"fastcgi_"))
            .map(|d| format!("`{}`", text(config, d)))
            .collect();
        if !inherited.is_empty() {
            out.notes.warning(format!(
                "{place}: the server block sets {}; these applied to MediaGoblin over FastCGI, and their uwsgi_* twins must be added by hand if still wanted",
                inherited.join(" ")
            ));
        }
    }
    Ok(())
}

/// `fastcgi_cache ZONE` (or `proxy_cache ZONE`) became `uwsgi_cache
/// ZONE_uwsgi`: the zone needs a `uwsgi_cache_path` of its own (cache zones
/// of two modules cannot be shared), next to the `fastcgi_cache_path` (or
/// `proxy_cache_path`) that declares ZONE.
fn cache_twins(nginx: &Nginx, zones: &[CacheZone], out: &mut Rewrite) {
    let mut zones = zones.to_vec();
    zones.sort();
    zones.dedup();
    for CacheZone {
        name: zone,
        declared_by,
    } in zones
    {
        let mut found = false;
        for (file, loaded) in nginx.loaded.files.iter().enumerate() {
            let Ok(config) = &loaded.config else { continue };
            let mut declared: Vec<&Directive> = Vec::new();
            let mut twin_exists = false;
            walk(&config.children, |d, _| {
                let keys_zone = |d: &Directive, z: &str| {
                    d.args
                        .iter()
                        .any(|a| config.value(a).starts_with(&format!("keys_zone={z}:")))
                };
                if config.name_of(d) == declared_by.as_bytes() && keys_zone(d, &zone) {
                    declared.push(d);
                }
                if config.name_of(d) == b"uwsgi_cache_path"
                    && keys_zone(d, &format!("{zone}_uwsgi"))
                {
                    twin_exists = true;
                }
            });
            for d in declared {
                found = true;
                if twin_exists {
                    continue;
                }
                let mut args: Vec<String> = Vec::new();
                for (index, arg) in d.args.iter().enumerate() {
                    let value = config.raw(arg).into_owned();
                    if index == 0 {
                        args.push(format!("{}_uwsgi", value.trim_end_matches('/')));
                    } else if let Some(rest) = value.strip_prefix(&format!("keys_zone={zone}:")) {
                        args.push(format!("keys_zone={zone}_uwsgi:{rest}"));
                    } else {
                        args.push(value);
                    }
                }
                let twin = format!("uwsgi_cache_path {};", args.join(" "));
                out.edits.push((
                    file,
                    insert_line_after(config.source.bytes(), d.span().end, &twin),
                ));
                out.notes.changed(format!(
                    "{}: added `{twin}`, the uWSGI twin of cache zone {zone}",
                    config.source.location(d.name.span.start)
                ));
            }
        }
        if !found {
            out.notes.warning(format!(
                "no {declared_by} declares cache zone {zone}; add a uwsgi_cache_path with keys_zone={zone}_uwsgi"
            ));
        }
    }
}
