//! `mgdeploy parse`: an nginx configuration as crossplane's JSON.

use std::path::{Path, PathBuf};

use super::{Failure, Status, write_stdout};
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
    let mut json = match args.indent {
        Some(width) => {
            let indent = vec![b' '; width];
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(&indent);
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(&payload, &mut serializer)
                .map_err(|e| Failure::from(Diagnostic::error(format!("cannot write JSON: {e}"))))?;
            out
        }
        None => serde_json::to_vec(&payload)
            .map_err(|e| Failure::from(Diagnostic::error(format!("cannot write JSON: {e}"))))?,
    };
    json.push(b'\n');
    write_stdout(&json)?;

    let errors: Vec<Diagnostic> = loaded.errors().cloned().collect();
    report(&errors);
    let main_failed = loaded.files.first().is_some_and(|f| f.config.is_err());
    if main_failed {
        return Err(Failure {
            diagnostics: Vec::new(),
        });
    }
    Ok(if errors.is_empty() {
        Status::Clean
    } else {
        Status::Attention
    })
}
