//! Diagnostics as GitHub Actions workflow commands
//! (`::error file=...,line=...,col=...::message`), which annotate the lines
//! of a pull request.

use crate::diagnostic::{Diagnostic, Location, Severity};

/// Escaping for a command's message.
fn data(text: &str) -> String {
    // The log shows what the runner prints: no escape sequences of a file's.
    super::visible::visible(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a command's properties.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut properties = Vec::new();
        match &d.location {
            Location::Span(label) => {
                let (start, end) = (label.start(), label.end());
                let path = crate::report::paths::shown(label.source.path());
                properties.push(format!("file={}", property(&path.to_string_lossy())));
                properties.push(format!("line={}", start.line));
                properties.push(format!("col={}", start.column));
                properties.push(format!("endLine={}", end.line));
                if end.line == start.line {
                    properties.push(format!("endColumn={}", end.column));
                }
            }
            Location::File(path) => {
                let path = crate::report::paths::shown(path);
                properties.push(format!("file={}", property(&path.to_string_lossy())));
            }
            Location::None => {}
        }
        if let Some(code) = d.code {
            properties.push(format!("title={}", property(code)));
        }
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        if let Some(fix) = &d.fix {
            message.push_str(&format!("\nfix: {}", fix.describe()));
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            data(&message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceFile, Span};

    #[test]
    fn workflow_command_with_escapes() {
        let source = SourceFile::new("/x/site,1.conf", b"a b;\n".to_vec());
        let d = Diagnostic::error("50% broken\nreally")
            .with_code("MG002")
            .at(&source, Span::new(2, 3), "here")
            .with_help("fix: it");
        assert_eq!(
            render(&[d]),
            "::error file=/x/site%2C1.conf,line=1,col=3,endLine=1,endColumn=4,title=MG002::50%25 broken%0Areally%0Ahelp: fix: it\n"
        );
    }
}
