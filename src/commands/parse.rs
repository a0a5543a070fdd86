//! `mgdeploy parse`: an nginx configuration as crossplane's JSON.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Failure, Status, with_stdout_plain};
use crate::cli::ParseArgs;
use crate::diagnostic::Diagnostic;
use crate::nginx::crossplane::{Options, Payload};
use crate::nginx::include::{Follow, load};

/// Prints the payload, and the problems on standard error. Exit 2 when FILE
/// itself is unreadable or malformed, 1 when only files it includes are.
pub fn parse(args: &ParseArgs, report: &mut dyn FnMut(&[Diagnostic])) -> Result<Status, Failure> {
    let prefix = args.nginx_prefix.clone().unwrap_or_else(|| {
        args.file
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    let follow = if args.single_file {
        Follow::SingleFile
    } else {
        Follow::Includes
    };
    let loaded = load(&args.file, &prefix, follow)?;
    let payload = Payload {
        loaded: &loaded,
        options: Options {
            comments: args.include_comments,
            includes: !args.single_file,
        },
    };
    // Streamed: a fleet's configuration makes hundreds of megabytes of JSON.
    with_stdout_plain(|out| {
        let as_io = |e: serde_json::Error| std::io::Error::from(e);
        match args.indent {
            Some(width) => {
                let indent = vec![b' '; width];
                let formatter = serde_json::ser::PrettyFormatter::with_indent(&indent);
                let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
                serde::Serialize::serialize(&payload, &mut serializer).map_err(as_io)?;
            }
            None => serde_json::to_writer(&mut *out, &payload).map_err(as_io)?,
        }
        out.write_all(b"\n")
    })?;

    let problems: Vec<Diagnostic> = loaded.problems().cloned().collect();
    report(&problems);
    let main_failed = loaded.files.first().is_some_and(|f| f.config.is_err());
    let clean = loaded.errors().next().is_none();
    // The process ends next: freeing a fleet's tree node by node would add
    // a tenth to the run, for memory the exit returns anyway.
    std::mem::forget(loaded);
    if main_failed {
        return Err(Failure {
            diagnostics: Vec::new(),
        });
    }
    Ok(if clean {
        Status::Clean
    } else {
        Status::Attention
    })
}
