//! `mgdeploy completions <shell>` and the hidden `mgdeploy manpage`.

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

pub fn manpage() -> Result<Status, Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Failure::io("cannot render the manual page", &e))?;
    write_stdout(&page)?;
    Ok(Status::Clean)
}
