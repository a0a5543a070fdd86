//! Which nginx directives exist, in one place: nginx's own command table
//! (`directives.tsv`, from the `ngx_command_t` tables of nginx 1.22.1 and
//! master: where each may appear, what it takes), and the directives of
//! NGINX Plus and common third-party modules that it lacks
//! (`other_directives.txt`, names only). The unknown-directive rule, the
//! checks of what nginx refuses, and the FastCGI/HTTP → uWSGI twins
//! (`protocol::directives`) all ask here.

use std::sync::OnceLock;

use crate::names::{NameMap, NameSet};

/// Where a directive stands, as nginx's `cmd_type` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    Main,
    Events,
    Http,
    Server,
    Location,
    Upstream,
    ServerIf,
    LocationIf,
    LimitExcept,
    Mail,
    MailServer,
    Stream,
    StreamServer,
    StreamUpstream,
    /// Inside `types`, `map`, `geo` ...: data, not directives.
    Data,
    /// Inside a block nginx's table does not know: not judged.
    Unknown,
}

impl Context {
    fn from_name(name: &str) -> Option<Context> {
        Some(match name {
            "main" => Context::Main,
            "events" => Context::Events,
            "http" => Context::Http,
            "server" => Context::Server,
            "location" => Context::Location,
            "upstream" => Context::Upstream,
            "server-if" => Context::ServerIf,
            "location-if" => Context::LocationIf,
            "limit-except" => Context::LimitExcept,
            "mail" => Context::Mail,
            "mail-server" => Context::MailServer,
            "stream" => Context::Stream,
            "stream-server" => Context::StreamServer,
            "stream-upstream" => Context::StreamUpstream,
            _ => return None,
        })
    }

    /// The context inside the block of `directive` opened here.
    pub fn inside(self, directive: &[u8]) -> Context {
        use Context::*;
        match (self, directive) {
            (_, name) if is_data_block(name) => Data,
            (Main, b"events") => Events,
            (Main, b"http") => Http,
            (Main, b"mail") => Mail,
            (Main, b"stream") => Stream,
            (Http, b"server") => Server,
            (Http, b"upstream") => Upstream,
            (Server | Location, b"location") => Location,
            (Server, b"if") => ServerIf,
            (Location, b"if") => LocationIf,
            (Location, b"limit_except") => LimitExcept,
            (Mail, b"server") => MailServer,
            (Stream, b"server") => StreamServer,
            (Stream, b"upstream") => StreamUpstream,
            _ => Unknown,
        }
    }
}

/// Blocks whose children are data (`map`, `types` ...), not directives.
pub fn is_data_block(name: &[u8]) -> bool {
    matches!(
        name,
        b"types" | b"map" | b"geo" | b"split_clients" | b"charset_map" | b"match"
    )
}

/// How many arguments a directive takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    Between(usize, usize),
    AtLeast(usize),
    Flag,
    Any,
}

impl Arity {
    fn parse(text: &str) -> Option<Arity> {
        Some(match text {
            "flag" => Arity::Flag,
            "any" => Arity::Any,
            _ => {
                if let Some(n) = text.strip_suffix('+') {
                    Arity::AtLeast(n.parse().ok()?)
                } else if let Some((low, high)) = text.split_once('-') {
                    Arity::Between(low.parse().ok()?, high.parse().ok()?)
                } else {
                    Arity::Exactly(text.parse().ok()?)
                }
            }
        })
    }

    pub fn accepts(self, count: usize) -> bool {
        match self {
            Arity::Exactly(n) => count == n,
            Arity::Between(low, high) => (low..=high).contains(&count),
            Arity::AtLeast(n) => count >= n,
            Arity::Flag => count == 1,
            // nginx's NGX_CONF_MAX_ARGS.
            Arity::Any => count <= 8,
        }
    }
}

/// One `ngx_command_t` of the table.
#[derive(Clone, Debug)]
pub struct Command {
    pub contexts: Vec<Context>,
    /// `any` in the table: allowed everywhere (`include`).
    pub anywhere: bool,
    pub arity: Vec<Arity>,
    pub block: bool,
}

impl Command {
    pub fn allowed_in(&self, context: Context) -> bool {
        self.anywhere || self.contexts.contains(&context)
    }
}

fn table() -> &'static NameMap<Vec<Command>> {
    static TABLE: OnceLock<NameMap<Vec<Command>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut out: NameMap<Vec<Command>> = NameMap::default();
        for line in include_str!("directives.tsv").lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&'static str> = line.split('\t').collect();
            let [name, contexts, arity, block] = fields.as_slice() else {
                continue;
            };
            let command = Command {
                anywhere: contexts.split(',').any(|c| c == "any"),
                contexts: contexts.split(',').filter_map(Context::from_name).collect(),
                // "1,3" (NGX_CONF_TAKE13) lists each count that fits.
                arity: arity.split(',').filter_map(Arity::parse).collect(),
                block: *block == "block",
            };
            out.entry(name).or_default().push(command);
        }
        out
    })
}

/// nginx's rows for `name`, when nginx ships it.
pub fn commands(name: &str) -> Option<&'static [Command]> {
    table().get(name).map(Vec::as_slice)
}

/// Whether nginx itself ships `name` (its table has it).
pub fn is_nginx(name: &str) -> bool {
    table().contains_key(name)
}

/// Whether nginx allows `name` somewhere in its http block.
pub fn in_http(name: &str) -> bool {
    commands(name).is_some_and(|rows| {
        rows.iter().any(|c| {
            [Context::Http, Context::Server, Context::Location]
                .into_iter()
                .any(|context| c.allowed_in(context))
        })
    })
}

/// Every directive nginx ships.
pub fn names() -> impl Iterator<Item = &'static str> {
    table().keys().copied()
}

/// Whether nginx allows `name` in a location (of the http block).
pub fn in_location(name: &str) -> bool {
    commands(name).is_some_and(|rows| rows.iter().any(|c| c.allowed_in(Context::Location)))
}

/// The directives of NGINX Plus and third-party modules nginx's table lacks.
pub fn others() -> &'static NameSet {
    static OTHERS: OnceLock<NameSet> = OnceLock::new();
    OTHERS.get_or_init(|| {
        include_str!("other_directives.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Every directive mgdeploy knows: nginx's and the others.
pub fn known() -> &'static NameSet {
    static KNOWN: OnceLock<NameSet> = OnceLock::new();
    KNOWN.get_or_init(|| {
        table()
            .keys()
            .copied()
            .chain(others().iter().copied())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_in_one_list() {
        for name in others() {
            assert!(
                !is_nginx(name),
                "{name} is nginx's: keep it in directives.tsv only"
            );
        }
        for name in [
            "http2",
            "early_hints",
            "fastcgi_socket_rcvbuf",
            "uwsgi_pass",
            "content_by_lua_block",
        ] {
            assert!(known().contains(name), "{name}");
        }
        assert!(in_location("uwsgi_read_timeout"));
        assert!(!in_location("proxy_timeout"), "stream's, not a location's");
    }
}
