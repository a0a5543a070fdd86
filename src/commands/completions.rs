//! `mgdeploy completions <shell>`: a completion script, rule codes included.

use clap::CommandFactory;

use super::{Failure, Status, write_stdout};
use crate::cli::{Cli, CompletionsArgs};

pub fn completions(args: &CompletionsArgs) -> Result<Status, Failure> {
    // Generated into memory first: clap_complete panics when it writes to a
    // closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "mgdeploy", &mut script);
    write_stdout(&script)?;
    Ok(Status::Clean)
}
