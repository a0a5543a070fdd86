//! Cache zones: a `fastcgi_cache ZONE` (or `proxy_cache ZONE`) becomes
//! `uwsgi_cache ZONE_uwsgi`, and the zone needs a `uwsgi_cache_path` of its
//! own (the zones of two modules cannot be shared), declared beside the
//! `fastcgi_cache_path` (or `proxy_cache_path`) that declares ZONE.

use super::{Rewrite, word};
use crate::deploy::Nginx;
use crate::diagnostic::Diagnostic;
use crate::lines::insert_line_after;
use crate::nginx::syntax::{Config, Directive, Word, walk};
use crate::protocol::Protocol;

/// A cache zone a renamed `fastcgi_cache`/`proxy_cache` used.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct CacheZone {
    pub name: String,
    /// The directive that declares it: `fastcgi_cache_path`, `proxy_cache_path`.
    pub declared_by: String,
}

/// The uWSGI twin of the cache zone a `{family}_cache` names, as an nginx
/// word, with the zone kept for `declare_twins`; `None` for `off`.
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

/// Declares each zone's twin beside the directive that declares the zone,
/// unless the configuration has it already.
pub(super) fn declare_twins(nginx: &Nginx, zones: &[CacheZone], out: &mut Rewrite) {
    let mut zones = zones.to_vec();
    zones.sort();
    zones.dedup();
    for zone in zones {
        let mut found = false;
        for (file, loaded) in nginx.loaded.files.iter().enumerate() {
            let Ok(config) = &loaded.config else { continue };
            found |= declare_in(file, config, &zone, out);
        }
        if !found {
            out.notes.warning(format!(
                "no {} declares cache zone {}; add a uwsgi_cache_path with keys_zone={}_uwsgi",
                zone.declared_by, zone.name, zone.name
            ));
        }
    }
}

/// Declares `zone`'s twin in one file; whether the file declares `zone`.
fn declare_in(file: usize, config: &Config, zone: &CacheZone, out: &mut Rewrite) -> bool {
    let keys_zone = |d: &Directive, z: &str| {
        d.args
            .iter()
            .any(|a| config.value(a).starts_with(&format!("keys_zone={z}:")))
    };
    let mut declared: Vec<&Directive> = Vec::new();
    let mut twin_exists = false;
    walk(&config.children, |d, _| {
        if config.name_of(d) == zone.declared_by.as_bytes() && keys_zone(d, &zone.name) {
            declared.push(d);
        }
        if config.name_of(d) == b"uwsgi_cache_path" && keys_zone(d, &format!("{}_uwsgi", zone.name))
        {
            twin_exists = true;
        }
    });
    if twin_exists {
        return !declared.is_empty();
    }
    for d in &declared {
        let mut args: Vec<String> = Vec::new();
        for (index, arg) in d.args.iter().enumerate() {
            let value = config.raw(arg).into_owned();
            if index == 0 {
                args.push(format!("{}_uwsgi", value.trim_end_matches('/')));
            } else if let Some(rest) = value.strip_prefix(&format!("keys_zone={}:", zone.name)) {
                args.push(format!("keys_zone={}_uwsgi:{rest}", zone.name));
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
            "{}: added `{twin}`, the uWSGI twin of cache zone {}",
            config.source.location(d.name.span.start),
            zone.name
        ));
    }
    !declared.is_empty()
}
