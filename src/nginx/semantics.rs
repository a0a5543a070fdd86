//! What nginx makes of directives beyond their syntax: which setting
//! applies to a location (inheritance from server, http and the top of
//! included files), and sizes as nginx parses them.

use super::include::Loaded;
use super::syntax::{Config, Directive, Node};

fn name<'c>(config: &'c Config, d: &Directive) -> &'c [u8] {
    config.bytes(d.name.span)
}

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
            .find(|d| name(config, d) == directive)
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
            if name(other, d) == directive {
                return Some((other, d));
            }
            if name(other, d) == b"http"
                && let Some(inner) = d.directives().find(|c| name(other, c) == directive)
            {
                return Some((other, inner));
            }
        }
    }
    None
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
