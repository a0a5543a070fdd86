//! What the levels above MediaGoblin's location (its server block, the
//! http level) set for it, carried over once for both servers it is moved
//! from, as nginx inherits (`nginx::semantics::levels`):
//! - a setting of the old module (`proxy_read_timeout`, `fastcgi_cache`
//!   ...) that no nearer level overrides gets its uWSGI twin written beside
//!   it, where it applies to uWSGI locations only, or is said not to apply
//!   when it has none; the old line stays for the other locations;
//! - the lines nginx inherits as a whole (`proxy_set_header`,
//!   `fastcgi_param`) come from the nearest level that has any, and only
//!   when the location has none: the headers go to the location as
//!   `uwsgi_param` lines (`http.rs`), FastCGI params are named for the
//!   admin to carry over.

use super::cache::{CacheZone, zone_twin};
use super::{Rewrite, text};
use crate::deploy::Nginx;
use crate::deploy::locations::PassLocation;
use crate::diagnostic::Diagnostic;
use crate::lines::insert_line_after;
use crate::nginx::semantics::{Include, Level, Setting};
use crate::protocol::Protocol;
use crate::protocol::directives::{Fate, fate};

/// The directive whose lines nginx inherits as a whole, not one by one.
fn inherited_as_a_whole(from: Protocol) -> &'static [u8] {
    match from {
        Protocol::Http => b"proxy_set_header",
        Protocol::FastCgi | Protocol::Uwsgi => b"fastcgi_param",
    }
}

/// The `proxy_set_header` lines the location inherits and now sends
/// itself, as (header name, raw value).
#[derive(Default)]
pub(super) struct Inherited {
    pub headers: Vec<(String, String)>,
}

/// Carries the settings of the levels above `location` over (see the
/// module's text). `own_whole`: the location sets its own
/// `proxy_set_header`/`fastcgi_param` lines, so none above reach it.
pub(super) fn from_above(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    from: Protocol,
    own_whole: bool,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<Inherited, Diagnostic> {
    let mut inherited = Inherited::default();
    let levels = location.levels(&nginx.loaded);
    let mut levels = levels.iter();
    // Names set at the location, then at each level on the way out.
    let mut set_nearer: Vec<Vec<u8>> = levels
        .next()
        .map(|own| own.settings.iter().map(|s| s.name().to_vec()).collect())
        .unwrap_or_default();
    let whole = inherited_as_a_whole(from);
    let mut whole_decided = own_whole;
    for level in levels {
        if !whole_decided && level.sets(whole) {
            carry_whole(level, from, &mut inherited, out);
            whole_decided = true;
        }
        for setting in &level.settings {
            let name = String::from_utf8_lossy(setting.name()).into_owned();
            let of_module = name.starts_with(from.prefix())
                && setting.name() != whole
                // A zone is declared, not inherited: `cache.rs` declares
                // the twin of a zone the location uses.
                && !name.ends_with("_cache_path");
            if of_module && !set_nearer.iter().any(|n| *n == setting.name()) {
                carry_setting(level, setting, from, &name, &set_nearer, out, cache_zones)?;
            }
        }
        set_nearer.extend(level.settings.iter().map(|s| s.name().to_vec()));
    }
    Ok(inherited)
}

/// The lines a level sets as a whole, which reached the location.
fn carry_whole(level: &Level<'_>, from: Protocol, inherited: &mut Inherited, out: &mut Rewrite) {
    let whole = inherited_as_a_whole(from);
    let mut said: Vec<*const crate::nginx::syntax::Directive> = Vec::new();
    for setting in level.all(whole) {
        let config = setting.config;
        let d = setting.directive;
        if from == Protocol::Http {
            let raw_value = d
                .args
                .get(1)
                .map(|a| config.raw(a).into_owned())
                .unwrap_or_default();
            inherited
                .headers
                .push((config.arg(d, 0).unwrap_or_default(), raw_value));
        }
        // One note for a line, or for the include that brought several.
        let (written_in, written) = match setting.via {
            Some(Include {
                config, directive, ..
            }) => (config, directive),
            None => (config, d),
        };
        if said.contains(&std::ptr::from_ref(written)) {
            continue;
        }
        said.push(std::ptr::from_ref(written));
        let place = written_in.source.location(written.name.span.start);
        let what = if setting.via.is_some() {
            "the headers of"
        } else {
            "the"
        };
        match from {
            Protocol::Http => out.notes.changed(format!(
                "{place}: {what} {}'s `{}` reached paster; MediaGoblin's location sends {} as uwsgi_param",
                level.kind.name(),
                text(written_in, written),
                if setting.via.is_some() { "them" } else { "it" }
            )),
            Protocol::FastCgi | Protocol::Uwsgi => out.notes.warning(format!(
                "{place}: the {}'s `{}` reached MediaGoblin over FastCGI; uWSGI gets uwsgi_params' variables instead: add uwsgi_param lines to the location for those still wanted",
                level.kind.name(),
                text(written_in, written)
            )),
        }
    }
}

/// One setting of the old module that reached the location: its twin
/// beside it, or a word that it no longer applies.
fn carry_setting(
    level: &Level<'_>,
    setting: &Setting<'_>,
    from: Protocol,
    name: &str,
    set_nearer: &[Vec<u8>],
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<(), Diagnostic> {
    let config = setting.config;
    let d = setting.directive;
    let place = config.source.location(d.name.span.start);
    match fate(from, name) {
        Some(Fate::Rename(twin)) => {
            let twin_set = set_nearer
                .iter()
                .map(Vec::as_slice)
                .chain(level.settings.iter().map(Setting::name))
                .any(|n| n == twin.as_bytes());
            if twin_set {
                return Ok(());
            }
            let mut args: Vec<String> = d.args.iter().map(|a| config.raw(a).into_owned()).collect();
            if name.strip_prefix(from.prefix()) == Some("cache")
                && let Some(zone) = d.args.first()
                && let Some(zone) = zone_twin(config, zone, from, cache_zones)?
                && let Some(first) = args.first_mut()
            {
                *first = zone;
            }
            let line = format!("{twin} {};", args.join(" "));
            // Beside the line, or beside the include that brought it: the
            // level's own file is the one written.
            let (file, written_in, after) = match setting.via {
                Some(Include {
                    file,
                    config,
                    directive,
                }) => (file, config, directive.span().end),
                None => (setting.file, config, d.span().end),
            };
            out.edits.push((
                file,
                insert_line_after(written_in.source.bytes(), after, &line),
            ));
            out.notes.changed(format!(
                "{place}: the {}'s `{}` applied to MediaGoblin; `{line}` added beside it",
                level.kind.name(),
                text(config, d)
            ));
        }
        Some(Fate::Drop(why)) => out.notes.dropped(
            format!(
                "{place}: the {}'s `{}`, for MediaGoblin",
                level.kind.name(),
                text(config, d)
            ),
            why,
        ),
        None => {}
    }
    Ok(())
}
