//! Rewriting MediaGoblin's FastCGI locations into uWSGI ones as minimal
//! edits: directive names renamed, FastCGI-only directives and MediaGoblin's
//! SCRIPT_NAME/PATH_INFO workaround removed with their comment, the params
//! include switched to uwsgi_params, the prefix moved when asked. Nothing
//! outside those locations changes, except the uwsgi_cache_path twin a
//! cached location needs.

use std::path::Path;

use super::directives::{Fate, PARAMS_FILES, UWSGI_PARAMS, fate};
use super::lines::{comment_lines_above, insert_line_after, line_start, removal, tidy_removals};
use super::notes::Notes;
use crate::cli::ScriptName;
use crate::deploy::Nginx;
use crate::deploy::locations::{PassLocation, walk};
use crate::diagnostic::Diagnostic;
use crate::nginx::syntax::{Config, Directive, Word};
use crate::plan::Edit;
use crate::source::Span;

/// What the rewrite needs to know besides the locations.
pub struct Options<'a> {
    /// The address uWSGI will listen on, when it is not the FastCGI one.
    pub socket: Option<&'a str>,
    /// The prefix MediaGoblin is served under after the move.
    pub mount: &'a str,
    pub script_name: ScriptName,
}

/// Edits by file (index into `Nginx::loaded`).
#[derive(Debug, Default)]
pub struct Rewrite {
    pub edits: Vec<(usize, Edit)>,
    pub notes: Notes,
}

fn text(config: &Config, directive: &Directive) -> String {
    let mut out = config.raw(&directive.name).into_owned();
    for arg in &directive.args {
        out.push(' ');
        out.push_str(&config.raw(arg));
    }
    out.push(';');
    out
}

fn name<'c>(config: &'c Config, directive: &Directive) -> &'c [u8] {
    config.bytes(directive.name.span)
}

/// The prefix a location's URI mounts MediaGoblin at: `/` or `/mediagoblin`.
pub fn mount_of(uri: &str) -> String {
    let trimmed = uri.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Normalises `--mount`: a leading `/`, no trailing one (except `/` itself).
pub fn normalize_mount(mount: &str) -> String {
    mount_of(&format!("/{}", mount.trim_start_matches('/')))
}

/// The edit that renames `fastcgi_*` to `uwsgi_*`.
fn rename(config: &Config, word: &Word) -> Option<Edit> {
    let span = word.inner_span();
    config
        .bytes(span)
        .starts_with(b"fastcgi_")
        .then(|| Edit::replace(Span::new(span.start, span.start + "fastcgi".len()), "uwsgi"))
}

/// A word with `$fastcgi_script_name` / `$fastcgi_path_info` replaced by
/// `$uri`, which is what they hold without `fastcgi_split_path_info`.
fn without_fastcgi_variables(raw: &str) -> Option<String> {
    let replaced = raw
        .replace("${fastcgi_script_name}", "${uri}")
        .replace("$fastcgi_script_name", "$uri")
        .replace("${fastcgi_path_info}", "${uri}")
        .replace("$fastcgi_path_info", "$uri");
    (replaced != raw).then_some(replaced)
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
        if let Some(replaced) = without_fastcgi_variables(&config.raw(arg)) {
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
    let mut cache_zones: Vec<String> = Vec::new();
    for location in locations {
        rewrite_location(nginx, location, options, &mut out, &mut cache_zones)?;
    }
    cache_twins(nginx, &cache_zones, &mut out);
    Ok(out)
}

fn rewrite_location(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    options: &Options<'_>,
    out: &mut Rewrite,
    cache_zones: &mut Vec<String>,
) -> Result<(), Diagnostic> {
    let config = location.config;
    let bytes = config.source.bytes();
    let file = location.file;
    let uri = location.uri();
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
    let current = mount_of(&uri);
    let mut removals: Vec<Span> = Vec::new();
    let mut first_workaround: Option<usize> = None;
    let has_split = {
        let mut found = false;
        walk(config, location.location.children(), |d, _| {
            found |= name(config, d) == b"fastcgi_split_path_info";
        });
        found
    };
    let mut include_line: Option<usize> = None;
    let mut pass_line: Option<usize> = None;

    let mut directives: Vec<&Directive> = Vec::new();
    walk(config, location.location.children(), |d, _| {
        directives.push(d)
    });
    for d in directives {
        let place = config.source.location(d.name.span.start);
        let directive_name = String::from_utf8_lossy(name(config, d)).into_owned();
        let args: Vec<String> = d.args.iter().map(|a| config.value(a)).collect();
        match directive_name.as_str() {
            "fastcgi_pass" => {
                out.edits.extend(rename(config, &d.name).map(|e| (file, e)));
                if let (Some(socket), Some(arg)) = (options.socket, d.args.first())
                    && config.value(arg) != socket
                {
                    out.edits.push((file, Edit::replace(arg.span, socket)));
                }
                pass_line = Some(d.span().end);
                out.notes.changed(format!(
                    "{place}: `{}` → `uwsgi_pass {};`",
                    text(config, d),
                    options.socket.unwrap_or(&location.address)
                ));
            }
            "fastcgi_param" => {
                let param = args.first().map(String::as_str).unwrap_or_default();
                let value = args.get(1).map(String::as_str).unwrap_or_default();
                let workaround = (param == "PATH_INFO" && value == "$fastcgi_script_name")
                    || (param == "SCRIPT_NAME" && value.is_empty());
                let subpath = has_split && matches!(param, "PATH_INFO" | "SCRIPT_NAME");
                if workaround || subpath {
                    removals.push(removal(bytes, d.span()));
                    first_workaround.get_or_insert(line_start(bytes, d.span().start));
                    let why = if subpath {
                        format!(
                            "SCRIPT_NAME and PATH_INFO for the {current} prefix now come from uWSGI"
                        )
                    } else if param == "PATH_INFO" {
                        "MediaGoblin's FastCGI workaround; uwsgi_params already sends PATH_INFO as $document_uri".to_string()
                    } else {
                        "MediaGoblin's FastCGI workaround; uwsgi_params sends no SCRIPT_NAME"
                            .to_string()
                    };
                    out.notes
                        .dropped(format!("{place}: `{}`", text(config, d)), why);
                    continue;
                }
                out.edits.extend(rename(config, &d.name).map(|e| (file, e)));
                replace_fastcgi_variables(config, d, file, &place, out);
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
                include_line = Some(d.span().end);
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
                if !resolved.is_file() {
                    out.notes.warning(format!(
                        "{} does not exist here; nginx needs it (Debian's nginx-common ships it)",
                        resolved.display()
                    ));
                }
            }
            other if other.starts_with("fastcgi_") => match fate(other) {
                Some(Fate::Rename) => {
                    out.edits.extend(rename(config, &d.name).map(|e| (file, e)));
                    if other == "fastcgi_cache"
                        && let Some(zone) = d.args.first()
                    {
                        let zone_name = config.value(zone);
                        if zone_name != "off" {
                            out.edits.push((
                                file,
                                Edit::replace(zone.span, format!("{zone_name}_uwsgi")),
                            ));
                            cache_zones.push(zone_name);
                        }
                    }
                }
                Some(Fate::Drop(why)) => {
                    removals.push(removal(bytes, d.span()));
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

    // The comment that explained the workaround goes with it.
    if let Some(start) = first_workaround {
        let comments = comment_lines_above(bytes, start);
        let explains = comments.iter().any(|span| {
            let line = String::from_utf8_lossy(config.bytes(*span)).to_ascii_lowercase();
            line.contains("script_name") || line.contains("path_info")
        });
        if explains {
            removals.extend(comments);
        }
    }
    for span in tidy_removals(bytes, removals) {
        out.edits.push((file, Edit::delete(span)));
    }

    let place = location.place();
    // Moving the prefix.
    if options.mount != current
        && let Some(word) = location.location.args.last()
    {
        let new_uri = if options.mount == "/" {
            "/".to_string()
        } else {
            format!("{}/", options.mount)
        };
        out.edits
            .push((file, Edit::replace(word.span, new_uri.clone())));
        out.notes.changed(format!(
            "{place}: MediaGoblin moves from {current} to {}",
            options.mount
        ));
        if current == "/"
            && let Some(server) = location.server
            && let Some(root) = server.directives().find(|d| name(config, d) == b"root")
        {
            out.notes.warning(format!(
                    "{}: `{}`: requests outside {} are now served from that directory; make sure it holds nothing private (paste.ini, mediagoblin.ini)",
                    config.source.location(root.name.span.start),
                    text(config, root),
                    options.mount
                ));
        }
    }
    // nginx sends the prefix itself unless uWSGI's mount handles it.
    if options.mount != "/" && options.script_name != ScriptName::Mount {
        let after = include_line
            .or(pass_line)
            .unwrap_or(location.pass.span().end);
        let mut lines = vec![format!("uwsgi_param SCRIPT_NAME {};", options.mount)];
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

    // FastCGI settings inherited from the server block do not reach uWSGI.
    if let Some(server) = location.server {
        let inherited: Vec<String> = server
            .directives()
            .filter(|d| name(config, d).starts_with(b"fastcgi_"))
            .map(|d| text(config, d))
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

/// `fastcgi_cache ZONE` became `uwsgi_cache ZONE_uwsgi`: the zone needs a
/// `uwsgi_cache_path` of its own (FastCGI and uWSGI cache zones cannot be
/// shared), next to the `fastcgi_cache_path` that declares ZONE.
fn cache_twins(nginx: &Nginx, zones: &[String], out: &mut Rewrite) {
    let mut zones = zones.to_vec();
    zones.sort();
    zones.dedup();
    for zone in zones {
        let mut found = false;
        for (file, loaded) in nginx.loaded.files.iter().enumerate() {
            let Ok(config) = &loaded.config else { continue };
            let mut declared: Vec<&Directive> = Vec::new();
            let mut twin_exists = false;
            walk(config, &config.children, |d, _| {
                let keys_zone = |d: &Directive, z: &str| {
                    d.args
                        .iter()
                        .any(|a| config.value(a).starts_with(&format!("keys_zone={z}:")))
                };
                if name(config, d) == b"fastcgi_cache_path" && keys_zone(d, &zone) {
                    declared.push(d);
                }
                if name(config, d) == b"uwsgi_cache_path" && keys_zone(d, &format!("{zone}_uwsgi"))
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
                "no fastcgi_cache_path declares cache zone {zone}; add a uwsgi_cache_path with keys_zone={zone}_uwsgi"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_are_normalised() {
        assert_eq!(mount_of("/"), "/");
        assert_eq!(mount_of("/mediagoblin/"), "/mediagoblin");
        assert_eq!(normalize_mount("mediagoblin/"), "/mediagoblin");
        assert_eq!(normalize_mount("/"), "/");
        assert_eq!(normalize_mount(""), "/");
    }

    #[test]
    fn fastcgi_variables_become_uri() {
        assert_eq!(
            without_fastcgi_variables("/$fastcgi_path_info").as_deref(),
            Some("/$uri")
        );
        assert_eq!(
            without_fastcgi_variables("$document_root${fastcgi_script_name}").as_deref(),
            Some("$document_root${uri}")
        );
        assert_eq!(without_fastcgi_variables("$uri"), None);
    }
}
