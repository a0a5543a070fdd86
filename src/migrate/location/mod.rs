//! Rewriting the locations that pass to MediaGoblin into uWSGI ones, as
//! minimal edits. Each server MediaGoblin is moved from has its rules
//! (`fastcgi.rs`: names renamed, FastCGI-only directives and MediaGoblin's
//! PATH_INFO workaround removed with their comment, the params include
//! switched to uwsgi_params; `http.rs`: `proxy_pass` to `uwsgi_pass`,
//! headers to `uwsgi_param HTTP_*`); `inherit.rs` carries what the server
//! and http levels set for the location over, the same way for both; this
//! file dispatches and then does what every moved location gets: the
//! prefix moved when asked, and SCRIPT_NAME sent as the mount needs.
//! SCRIPT_NAME always reaches the app: MediaGoblin and Paste's urlmap read
//! `environ['SCRIPT_NAME']`, uwsgi_params sends none, and uWSGI adds none
//! for an app at `/`, so at `/` the location sends it empty. Nothing outside
//! those locations changes, except the twins of settings above them and the
//! uwsgi_cache_path a cached location needs (`cache.rs`).

mod cache;
mod fastcgi;
mod http;
mod inherit;

use super::notes::Notes;
use super::options::{Mount, ScriptName};
use crate::deploy::Nginx;
use crate::deploy::locations::PassLocation;
use crate::diagnostic::Diagnostic;
use crate::escape::nginx_word;
use crate::lines::{insert_line_after, tidy_removals};
use crate::nginx::syntax::{Config, Directive};
use crate::plan::Edit;
use crate::protocol::directives::{Fate, fate};
use crate::protocol::{Address, Protocol};
use crate::source::Span;

use cache::CacheZone;

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

/// What one location's rewrite has found, for the steps every location
/// gets.
#[derive(Default)]
struct Found {
    removals: Vec<Span>,
    /// The location sends SCRIPT_NAME itself (`fastcgi_param SCRIPT_NAME
    /// "";` kept as `uwsgi_param` at `/`, ...).
    kept_script_name: bool,
    /// Where the params include ends, after which SCRIPT_NAME goes.
    include_end: Option<usize>,
    pass_end: Option<usize>,
}

impl Found {
    /// Where lines the location needs go: after its params include, else
    /// after its pass.
    fn insert_at(&self, location: &PassLocation<'_>) -> usize {
        self.include_end
            .or(self.pass_end)
            .unwrap_or(location.pass.span().end)
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
    cache::declare_twins(nginx, &cache_zones, &mut out);
    Ok(out)
}

fn rewrite_location(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    options: &Options<'_>,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<(), Diagnostic> {
    let config = location.config;
    let prefix_location = match location.location.args.as_slice() {
        [_] => true,
        [modifier, _] => config.value(modifier) == "^~",
        _ => false,
    };
    if !prefix_location {
        return Err(Diagnostic::error("MediaGoblin is mounted with an exact or regular-expression location")
            .at(&config.source, location.location.span(), "mgdeploy rewrites prefix locations only")
            .with_help("change it to a prefix location such as `location /mediagoblin/ {`, then run migrate again"));
    }
    let mut found = match location.protocol {
        Protocol::Http => http::rewrite(nginx, location, options, out, cache_zones)?,
        Protocol::FastCgi | Protocol::Uwsgi => {
            fastcgi::rewrite(nginx, location, options, out, cache_zones)?
        }
    };
    let bytes = config.source.bytes();
    for span in tidy_removals(bytes, std::mem::take(&mut found.removals)) {
        out.edits.push((location.file, Edit::delete(span)));
    }
    move_prefix(location, options, out)?;
    send_script_name(location, options, &found, out)
}

/// The location's URI becomes the mount's, when it moves.
fn move_prefix(
    location: &PassLocation<'_>,
    options: &Options<'_>,
    out: &mut Rewrite,
) -> Result<(), Diagnostic> {
    let config = location.config;
    let current = Mount::of_location(&location.uri());
    let Some(uri) = location.location.args.last() else {
        return Ok(());
    };
    if *options.mount == current {
        return Ok(());
    }
    let place = location.place();
    out.edits.push((
        location.file,
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
    Ok(())
}

/// SCRIPT_NAME as the mount needs it: `""` at `/` (unless the location
/// sends it already), the prefix when nginx sends it (fixpathinfo,
/// modifier1); nothing when uWSGI's mount sets it.
fn send_script_name(
    location: &PassLocation<'_>,
    options: &Options<'_>,
    found: &Found,
    out: &mut Rewrite,
) -> Result<(), Diagnostic> {
    let bytes = location.config.source.bytes();
    let place = location.place();
    let after = found.insert_at(location);
    let mut lines: Vec<String> = Vec::new();
    if options.mount.is_root() {
        if found.kept_script_name {
            return Ok(());
        }
        lines.push(SCRIPT_NAME_COMMENT.to_string());
        lines.push("uwsgi_param SCRIPT_NAME \"\";".to_string());
        out.notes.changed(format!(
            "{place}: nginx sends SCRIPT_NAME \"\": MediaGoblin reads SCRIPT_NAME, which uwsgi_params does not send"
        ));
    } else if options.script_name != ScriptName::Mount {
        lines.push(format!(
            "uwsgi_param SCRIPT_NAME {};",
            word(options.mount.as_str())?
        ));
        let how = if options.script_name == ScriptName::Modifier1 {
            lines.push("uwsgi_modifier1 30;".to_string());
            "with uwsgi_modifier1 30"
        } else {
            "and uWSGI strips it from PATH_INFO"
        };
        out.notes.changed(format!(
            "{place}: nginx sends SCRIPT_NAME {} {how}",
            options.mount
        ));
    }
    for line in lines {
        out.edits
            .push((location.file, insert_line_after(bytes, after, &line)));
    }
    Ok(())
}

/// A directive as written: its name and raw arguments, then `;`.
fn text(config: &Config, directive: &Directive) -> String {
    let mut out = config.raw(&directive.name).into_owned();
    for arg in &directive.args {
        out.push(' ');
        out.push_str(&config.raw(arg));
    }
    out.push(';');
    out
}

/// The nginx value of a word mgdeploy writes, quoted as nginx needs it.
fn word(value: &str) -> Result<String, Diagnostic> {
    nginx_word(value)
        .map_err(|e| Diagnostic::error(format!("cannot write the nginx configuration: {e}")))
}

/// The edit that gives `d`, a directive of the module speaking `from`, its
/// uWSGI twin's name, as the directive table names it.
fn twin_name(config: &Config, d: &Directive, from: Protocol) -> Option<Edit> {
    let name = String::from_utf8_lossy(config.name_of(d));
    match fate(from, &name)? {
        Fate::Rename(twin) => Some(Edit::replace(d.name.inner_span(), twin)),
        Fate::Drop(_) => None,
    }
}

/// The edits that give `d` (a directive of the module speaking `from`,
/// with a uWSGI twin) the twin's name; `{family}_cache ZONE` also gets
/// ZONE's twin, which `cache::declare_twins` declares.
fn rename_to_twin(
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
        && let Some(twin) = cache::zone_twin(config, zone, from, cache_zones)?
    {
        out.edits.push((file, Edit::replace(zone.span, twin)));
    }
    Ok(())
}
