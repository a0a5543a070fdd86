//! `mgdeploy parse`: an nginx configuration as crossplane's JSON.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Failure, Status, with_stdout_plain};
use crate::cli::ParseArgs;
use crate::diagnostic::Diagnostic;
use crate::nginx::crossplane::{Options, Payload, stream};
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
    let options = Options {
        comments: args.include_comments,
        includes: !args.single_file,
    };
    let loaded = match args.indent {
        // Indented output is for people reading a file or two: serde's
        // pretty printer over the tree.
        Some(width) => {
            let loaded = load(&args.file, &prefix, follow)?;
            let payload = Payload {
                loaded: &loaded,
                options,
            };
            with_stdout_plain(|out| {
                let indent = vec![b' '; width];
                let formatter = serde_json::ser::PrettyFormatter::with_indent(&indent);
                let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
                serde::Serialize::serialize(&payload, &mut serializer)
                    .map_err(std::io::Error::from)?;
                out.write_all(b"\n")
            })?;
            loaded
        }
        // A fleet's configuration makes hundreds of megabytes of JSON:
        // written as each file is read, never held as a tree.
        None => {
            let streamed = stream::load(&args.file, &prefix, follow, options)?;
            with_stdout_plain(|out| {
                streamed.write(out)?;
                out.write_all(b"\n")
            })?;
            streamed.loaded
        }
    };

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
