//! The y/N question before anything is written.

use std::io::{BufRead, IsTerminal, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Standard input is not a terminal: nobody can answer.
    NoTerminal,
}

/// Asks `question` on standard error and reads the answer from standard
/// input. Only `y` or `yes` (any case) is a yes.
pub fn confirm(question: &str) -> Answer {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Answer::NoTerminal;
    }
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{question} [y/N] ");
    let _ = stderr.flush();
    let mut line = String::new();
    match stdin.lock().read_line(&mut line) {
        Ok(_) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") => Answer::Yes,
        _ => Answer::No,
    }
}
