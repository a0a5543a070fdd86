//! What nginx refuses beyond syntax: a directive where it is not allowed, a
//! block directive without its block (or the reverse), a wrong number of
//! arguments, a flag that is neither `on` nor `off`. nginx's own
//! `ngx_command_t` table (`directives.tsv`) says, for each directive it
//! ships, where it may appear and what it takes; nginx need not be
//! installed. Directives the table does not know (third-party modules) are
//! left to the unknown-directive rule.
//!
//! A missing `;` is the classic case: `fastcgi_pass 127.0.0.1:26543` and the
//! next line's `include fastcgi_params;` read as one directive with three
//! arguments, which nginx refuses with "invalid number of arguments".

use std::collections::HashSet;

use crate::names::NameMap;
use std::sync::OnceLock;

use super::include::Loaded;
use super::syntax::{Config, Directive, Node, Terminator};
use crate::diagnostic::Diagnostic;

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
    fn inside(self, directive: &[u8]) -> Context {
        use Context::*;
        match (self, directive) {
            (_, b"types" | b"map" | b"geo" | b"split_clients" | b"charset_map" | b"match") => Data,
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

/// How many arguments a directive takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arity {
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

    fn accepts(self, count: usize) -> bool {
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
struct Command {
    contexts: Vec<Context>,
    /// `any` in the table: allowed everywhere (`include`).
    anywhere: bool,
    arity: Vec<Arity>,
    block: bool,
}

impl Command {
    fn allowed_in(&self, context: Context) -> bool {
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

/// Whether nginx's table knows `name`.
pub fn is_known(name: &str) -> bool {
    table().contains_key(name)
}

/// The problem nginx has with one directive in `context`, if any.
fn judge(config: &Config, directive: &Directive, context: Context) -> Option<Diagnostic> {
    if matches!(context, Context::Data | Context::Unknown) {
        return None;
    }
    let name = config.value_ref(&directive.name);
    let commands = table().get(name.as_ref())?;
    let source = &config.source;
    let here: Vec<&Command> = commands.iter().filter(|c| c.allowed_in(context)).collect();
    if here.is_empty() {
        return Some(
            Diagnostic::error(format!("\"{name}\" directive is not allowed here")).at(
                source,
                directive.name.span,
                "nginx refuses it in this block",
            ),
        );
    }
    let has_block = matches!(directive.terminator, Terminator::Block(_));
    if !here.iter().any(|c| c.block == has_block) {
        let message = if has_block {
            format!("directive \"{name}\" is not terminated by \";\"")
        } else {
            format!("directive \"{name}\" has no opening \"{{\"")
        };
        return Some(Diagnostic::error(message).at(source, directive.span(), "nginx refuses this"));
    }
    let count = directive.args.len();
    let fits = here
        .iter()
        .filter(|c| c.block == has_block)
        .any(|c| c.arity.iter().any(|a| a.accepts(count)));
    if !fits {
        let mut diagnostic = Diagnostic::error(format!(
            "invalid number of arguments in \"{name}\" directive"
        ))
        .at(
            source,
            directive.span(),
            format!("{count} argument(s) here"),
        );
        // The usual cause: a `;` missing at the end of the line before.
        if let Some(second) = directive
            .args
            .iter()
            .find(|a| a.line != directive.name.line)
        {
            diagnostic = diagnostic
                .with_related(source, second.span, "this line is read as more arguments")
                .with_help(format!("end line {} with `;`", directive.name.line));
        }
        return Some(diagnostic);
    }
    if here.iter().all(|c| c.arity == [Arity::Flag])
        && let Some(value) = directive.args.first()
        && !matches!(config.value(value).as_str(), "on" | "off")
    {
        return Some(
            Diagnostic::error(format!(
                "invalid value \"{}\" in \"{name}\" directive, it must be \"on\" or \"off\"",
                config.value(value)
            ))
            .at(source, value.span, "here"),
        );
    }
    None
}

/// Every problem nginx would have with `loaded`, the main file read in
/// `context` (Main for nginx.conf; for a site file, the context its
/// top-level directives fit: http, else server, else location), following
/// includes into the context they are included from.
pub fn analyze(loaded: &Loaded, is_main_conf: bool) -> Vec<Diagnostic> {
    let start = site_context(loaded, is_main_conf);
    let mut out = Vec::new();
    let mut seen: HashSet<(usize, Context)> = HashSet::new();
    let mut queue = vec![(0usize, start)];
    while let Some((file, context)) = queue.pop() {
        if !seen.insert((file, context)) {
            continue;
        }
        let Some(config) = loaded.config(file) else {
            continue;
        };
        walk(
            loaded,
            file,
            config,
            &config.children,
            context,
            &mut out,
            &mut queue,
        );
    }
    out.sort_by_key(|d| d.location_text());
    out.dedup_by(|a, b| a.location_text() == b.location_text() && a.message == b.message);
    out
}

/// The context the main file's directives stand in: Main for nginx.conf,
/// else the first of http, server, location its top-level directives fit.
pub fn site_context(loaded: &Loaded, is_main_conf: bool) -> Context {
    if is_main_conf {
        Context::Main
    } else {
        first_fitting(loaded)
    }
}

/// The context a site file's top-level directives fit in.
fn first_fitting(loaded: &Loaded) -> Context {
    let Some(config) = loaded.config(0) else {
        return Context::Http;
    };
    [Context::Http, Context::Server, Context::Location]
        .into_iter()
        .find(|context| {
            config.children.iter().all(|node| match node {
                Node::Directive(d) => judge(config, d, *context)
                    .is_none_or(|e| !e.message.contains("is not allowed here")),
                Node::Comment(_) => true,
            })
        })
        .unwrap_or(Context::Http)
}

fn walk(
    loaded: &Loaded,
    file: usize,
    config: &Config,
    nodes: &[Node],
    context: Context,
    out: &mut Vec<Diagnostic>,
    queue: &mut Vec<(usize, Context)>,
) {
    // Iterative: nesting may be deep.
    let mut stack: Vec<(std::slice::Iter<'_, Node>, Context)> = vec![(nodes.iter(), context)];
    while let Some((iter, context)) = stack.last_mut() {
        let context = *context;
        let Some(node) = iter.next() else {
            stack.pop();
            continue;
        };
        let Node::Directive(d) = node else { continue };
        out.extend(judge(config, d, context));
        let name = config.bytes(d.name.span);
        if name == b"include"
            && let Some(files) = loaded
                .files
                .get(file)
                .and_then(|f| f.included_by(d.name.span))
        {
            queue.extend(files.iter().map(|&index| (index, context)));
        }
        if let Some(block) = d.block() {
            stack.push((block.children.iter(), context.inside(name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nginx::include::{Follow, load};

    fn problems(text: &str, main: bool) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.conf");
        std::fs::write(&path, text).unwrap();
        let loaded = load(&path, dir.path(), Follow::Includes).unwrap();
        analyze(&loaded, main)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_missing_semicolon_is_too_many_arguments() {
        let found = problems(
            "server {\n    location / {\n        fastcgi_pass 127.0.0.1:26543\n        include fastcgi_params;\n    }\n}\n",
            false,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains(
                "site.conf:3:9: error: invalid number of arguments in \"fastcgi_pass\" directive"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn contexts_blocks_and_flags_are_nginx_s() {
        assert!(
            problems("location / {}\n", true)[0]
                .contains("\"location\" directive is not allowed here")
        );
        assert!(
            problems("http { server { listen 80 { } } }\n", true)[0]
                .contains("directive \"listen\" is not terminated by \";\"")
        );
        assert!(problems("http;\n", true)[0].contains("has no opening"));
        assert!(
            problems("http { sendfile maybe; }\n", true)[0]
                .contains("it must be \"on\" or \"off\"")
        );
        // Data blocks and unknown modules are not judged; includes carry
        // their context.
        assert!(
            problems(
                "http { types { text/html html; } map $a $b { x y; } }\n",
                true
            )
            .is_empty()
        );
        assert!(problems("http { server { location / { content_by_lua_block { ngx.say(1) } more_set_headers a; } } }\n", true).is_empty());
        assert!(
            problems(
                "server { listen 80; location / { if ($x) { return 404; } } }\n",
                false
            )
            .is_empty()
        );
        // A server-level snippet given on its own.
        assert!(
            problems(
                "listen 80;\nserver_name example.org;\nlocation / { return 200; }\n",
                false
            )
            .is_empty()
        );
    }
}
