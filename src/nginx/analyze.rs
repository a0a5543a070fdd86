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

use super::include::Loaded;
use super::syntax::{Config, Directive, Node, Terminator};
use super::vocabulary::{Arity, Command, Context, commands};
use crate::diagnostic::Diagnostic;

/// The problem nginx has with one directive in `context`, if any.
fn judge(config: &Config, directive: &Directive, context: Context) -> Option<Diagnostic> {
    if matches!(context, Context::Data | Context::Unknown) {
        return None;
    }
    let name = config.value_ref(&directive.name);
    let commands = commands(name.as_ref())?;
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
