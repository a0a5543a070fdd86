//! What nginx makes of directives beyond their syntax: which setting
//! applies to a location (inheritance from server, http and the top of
//! included files), and sizes as nginx parses them.

use super::include::Loaded;
use super::syntax::{Config, Directive, Node};

/// Parses an nginx size (`8k`, `1m`, `4096`) into bytes.
pub fn size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let units = [("k", 1024), ("m", 1024 * 1024), ("g", 1024 * 1024 * 1024)];
    let (number, unit) = units
        .iter()
        .find_map(|(suffix, unit)| text.strip_suffix(suffix).map(|n| (n, *unit)))
        .unwrap_or((text.as_str(), 1));
    number.parse::<u64>().ok().map(|n| n.saturating_mul(unit))
}

/// The value of the nearest `directive` for a location: in it, its server,
/// the http block or a file's top level (where conf.d files put it).
pub fn effective<'c>(
    loaded: &'c Loaded,
    config: &'c Config,
    location: &'c Directive,
    server: Option<&'c Directive>,
    directive: &[u8],
) -> Option<(&'c Config, &'c Directive)> {
    let own = |block: &'c Directive| {
        block
            .directives()
            .find(|d| config.name_of(d) == directive)
            .map(|d| (config, d))
    };
    if let Some(found) = own(location) {
        return Some(found);
    }
    if let Some(found) = server.and_then(own) {
        return Some(found);
    }
    for other in loaded.configs() {
        for node in &other.children {
            let Node::Directive(d) = node else { continue };
            if other.name_of(d) == directive {
                return Some((other, d));
            }
            if other.name_of(d) == b"http"
                && let Some(inner) = d.directives().find(|c| other.name_of(c) == directive)
            {
                return Some((other, inner));
            }
        }
    }
    None
}

/// nginx's default `large_client_header_buffers` size (8k).
const HEADER_BUFFER_DEFAULT: u64 = 8 * 1024;

/// How long a request's header lines may grow for a location: the size of
/// the nearest `large_client_header_buffers` (a line longer than one
/// buffer is refused), 8k when none is set.
pub fn header_room(
    loaded: &Loaded,
    config: &Config,
    location: &Directive,
    server: Option<&Directive>,
) -> u64 {
    effective(
        loaded,
        config,
        location,
        server,
        b"large_client_header_buffers",
    )
    .and_then(|(config, d)| d.args.get(1).and_then(|a| size(&config.value(a))))
    .unwrap_or(HEADER_BUFFER_DEFAULT)
}

/// The `*_param` directives (`directive`) of one block, with those its
/// `include`s bring (files included from `file` of `loaded`): `(name, value)`.
fn params_of_block(
    loaded: &Loaded,
    file: usize,
    config: &Config,
    children: &[Node],
    directive: &[u8],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for node in children {
        let Node::Directive(d) = node else { continue };
        if config.name_of(d) == directive {
            let mut args = d.args.iter().map(|a| config.value(a));
            out.push((
                args.next().unwrap_or_default(),
                args.next().unwrap_or_default(),
            ));
        } else if config.name_of(d) == b"include"
            && let Some(included) = loaded
                .files
                .get(file)
                .and_then(|f| f.included_by(d.name.span))
        {
            for &index in included {
                if let Some(other) = loaded.config(index) {
                    out.extend(params_of_block(
                        loaded,
                        index,
                        other,
                        &other.children,
                        directive,
                    ));
                }
            }
        }
    }
    out
}

/// The params nginx sends for `location` (`uwsgi_param`, `fastcgi_param`
/// ...): the location's own, with what its includes bring; a level that
/// sets none inherits the server's, then the http level's (nginx does not
/// merge levels).
pub fn params(
    loaded: &Loaded,
    file: usize,
    config: &Config,
    location: &Directive,
    server: Option<&Directive>,
    directive: &[u8],
) -> Vec<(String, String)> {
    let own = params_of_block(loaded, file, config, location.children(), directive);
    if !own.is_empty() {
        return own;
    }
    if let Some(server) = server {
        let inherited = params_of_block(loaded, file, config, server.children(), directive);
        if !inherited.is_empty() {
            return inherited;
        }
    }
    for (index, other) in loaded.files.iter().enumerate() {
        let Ok(other) = &other.config else { continue };
        for node in &other.children {
            let Node::Directive(d) = node else { continue };
            if other.name_of(d) == b"http" {
                let at_http = params_of_block(loaded, index, other, d.children(), directive);
                if !at_http.is_empty() {
                    return at_http;
                }
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_nginx_does() {
        assert_eq!(size("8k"), Some(8192));
        assert_eq!(size("100m"), Some(100 * 1024 * 1024));
        assert_eq!(size("100M"), Some(100 * 1024 * 1024));
        assert_eq!(size("512"), Some(512));
        assert_eq!(size("x"), None);
    }
}
