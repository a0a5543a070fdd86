//! What nginx makes of directives beyond their syntax: the levels a
//! location inherits settings from (itself, its server block, the http
//! level, each with what its includes bring), which setting applies, and
//! sizes as nginx parses them. Every reader of inheritance asks `levels`.

use super::include::Loaded;
use super::syntax::{Config, Directive, Node, walk};

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

/// Where a level stands in nginx's inheritance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelKind {
    Location,
    Server,
    Http,
}

impl LevelKind {
    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            LevelKind::Location => "location",
            LevelKind::Server => "server block",
            LevelKind::Http => "http block",
        }
    }
}

/// A directive as it stands at a level: where it is written, and the
/// `include` written at the level that brought it there, if any.
#[derive(Clone, Copy)]
pub struct Setting<'c> {
    /// The file it is written in (index into `Loaded::files`).
    pub file: usize,
    pub config: &'c Config,
    pub directive: &'c Directive,
    /// The `include` at the level that read it from another file.
    pub via: Option<Include<'c>>,
}

/// An `include` directive where it is written.
#[derive(Clone, Copy)]
pub struct Include<'c> {
    pub file: usize,
    pub config: &'c Config,
    pub directive: &'c Directive,
}

impl Setting<'_> {
    pub fn name(&self) -> &[u8] {
        self.config.name_of(self.directive)
    }
}

/// One level of nginx's inheritance: its settings in order, what its
/// `include`s bring in their place.
pub struct Level<'c> {
    pub kind: LevelKind,
    pub settings: Vec<Setting<'c>>,
}

impl<'c> Level<'c> {
    /// Whether the level sets `directive` itself.
    pub fn sets(&self, directive: &[u8]) -> bool {
        self.settings.iter().any(|s| s.name() == directive)
    }

    /// The level's `directive`s, in order.
    pub fn all(&self, directive: &[u8]) -> impl Iterator<Item = &Setting<'c>> {
        self.settings.iter().filter(move |s| s.name() == directive)
    }
}

/// The settings of a level, read block by block.
struct Reader<'c> {
    loaded: &'c Loaded,
    settings: Vec<Setting<'c>>,
}

impl<'c> Reader<'c> {
    fn new(loaded: &'c Loaded) -> Self {
        Reader {
            loaded,
            settings: Vec::new(),
        }
    }

    /// The settings of one block (`nodes` of `file`), with what its
    /// includes bring (not what is inside nested blocks: those are levels
    /// of their own).
    fn block(&mut self, file: usize, config: &'c Config, nodes: &'c [Node]) {
        self.included(file, config, nodes, None, 0);
    }

    fn included(
        &mut self,
        file: usize,
        config: &'c Config,
        nodes: &'c [Node],
        via: Option<Include<'c>>,
        depth: usize,
    ) {
        for node in nodes {
            let Node::Directive(d) = node else { continue };
            self.settings.push(Setting {
                file,
                config,
                directive: d,
                via,
            });
            // nginx stops at a depth far below this; a loop of includes
            // is refused when loading.
            if config.name_of(d) != b"include" || depth > 32 {
                continue;
            }
            let loaded = self.loaded;
            let Some(files) = loaded
                .files
                .get(file)
                .and_then(|f| f.included_by(d.name.span))
            else {
                continue;
            };
            let via = via.or(Some(Include {
                file,
                config,
                directive: d,
            }));
            for &index in files {
                if let Some(other) = loaded.config(index) {
                    self.included(index, other, &other.children, via, depth + 1);
                }
            }
        }
    }

    fn level(self, kind: LevelKind) -> Level<'c> {
        Level {
            kind,
            settings: self.settings,
        }
    }
}

/// The server blocks whose `include` reads file `file`.
fn servers_including(loaded: &Loaded, file: usize) -> Vec<(usize, &Config, &Directive)> {
    let mut out = Vec::new();
    for (index, loaded_file) in loaded.files.iter().enumerate() {
        let Ok(config) = &loaded_file.config else {
            continue;
        };
        walk(&config.children, |d, parents| {
            let includes_it = config.name_of(d) == b"include"
                && loaded_file
                    .included_by(d.name.span)
                    .is_some_and(|files| files.contains(&file));
            if let (true, Some(parent)) = (includes_it, parents.last())
                && config.name_of(parent) == b"server"
            {
                out.push((index, config, *parent));
            }
        });
    }
    out
}

/// Whether `config` is read inside the `http` block as a whole: a site
/// file named alone, not an nginx.conf (which has the `http` block).
fn is_read_in_http(config: &Config) -> bool {
    !config
        .directives()
        .any(|d| matches!(config.name_of(d), b"http" | b"events"))
}

/// The levels a location inherits from, nearest first: the location itself
/// (in file `file`), its server block, and the http level (every `http`
/// block, with the files it includes).
pub fn levels<'c>(
    loaded: &'c Loaded,
    file: usize,
    config: &'c Config,
    location: &'c Directive,
    server: Option<&'c Directive>,
) -> Vec<Level<'c>> {
    let mut own = Reader::new(loaded);
    own.block(file, config, location.children());
    let mut out = vec![own.level(LevelKind::Location)];
    let mut around = Reader::new(loaded);
    match server {
        Some(server) => around.block(file, config, server.children()),
        // A location at the top of a file that a server block includes
        // (YunoHost's conf.d): the file's top and that block are its server.
        None if config.directives().any(|d| std::ptr::eq(d, location)) => {
            around.block(file, config, &config.children);
            for (index, other, block) in servers_including(loaded, file) {
                around.block(index, other, block.children());
            }
        }
        None => {}
    }
    if !around.settings.is_empty() {
        out.push(around.level(LevelKind::Server));
    }
    // The http level: every `http` block, with the sites and conf.d files
    // it includes; a site file named alone is all http level.
    let mut http = Reader::new(loaded);
    for (index, loaded_file) in loaded.files.iter().enumerate() {
        let Ok(other) = &loaded_file.config else {
            continue;
        };
        if index == 0 && is_read_in_http(other) {
            http.block(index, other, &other.children);
            continue;
        }
        for d in other.directives() {
            if other.name_of(d) == b"http" {
                http.block(index, other, d.children());
            }
        }
    }
    out.push(http.level(LevelKind::Http));
    out
}

/// The nearest `directive` for a location: in it, its server, or the http
/// level (where conf.d files put it at their top).
pub fn effective<'c>(
    loaded: &'c Loaded,
    config: &'c Config,
    location: &'c Directive,
    server: Option<&'c Directive>,
    directive: &[u8],
) -> Option<(&'c Config, &'c Directive)> {
    let file = file_of(loaded, config)?;
    levels(loaded, file, config, location, server)
        .into_iter()
        .find_map(|level| level.all(directive).next().map(|s| (s.config, s.directive)))
}

/// The index of `config` in `loaded`.
fn file_of(loaded: &Loaded, config: &Config) -> Option<usize> {
    loaded
        .files
        .iter()
        .position(|f| f.config.as_ref().is_ok_and(|c| std::ptr::eq(c, config)))
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

/// The params nginx sends for `location` (`uwsgi_param`, `fastcgi_param`
/// ...) as `(name, value)`: the nearest level's that sets any, with what
/// its includes bring (nginx does not merge levels).
pub fn params(
    loaded: &Loaded,
    file: usize,
    config: &Config,
    location: &Directive,
    server: Option<&Directive>,
    directive: &[u8],
) -> Vec<(String, String)> {
    levels(loaded, file, config, location, server)
        .iter()
        .map(|level| {
            level
                .all(directive)
                .map(|s| {
                    let mut args = s.directive.args.iter().map(|a| s.config.value(a));
                    (
                        args.next().unwrap_or_default(),
                        args.next().unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .find(|params| !params.is_empty())
        .unwrap_or_default()
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
