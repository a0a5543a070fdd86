//! Unified diffs of planned changes, the form reviewers and `git apply`
//! read. New files are diffed against `/dev/null`, removed files to it.
//! A file name is quoted in the headers as git quotes it (`"a/x\ny"`),
//! so that no name can end a header line; for people the lines' control
//! characters are shown, not sent to the terminal (`visible`).

use std::path::Path;

use anstyle::{AnsiColor, Effects, Style};
use similar::{ChangeTag, TextDiff};

/// One file's before and after; `None` means the file does not exist.
pub struct FileDiff<'a> {
    pub path: &'a Path,
    pub old: Option<&'a [u8]>,
    pub new: Option<&'a [u8]>,
    /// A symbolic link, whose content is its target, as git shows one: a
    /// `diff --git` header with mode 120000, so `git apply` makes a link.
    pub symlink: bool,
}

use super::paths::shown as display_path;
use super::visible::visible;
use crate::apply::Target;

/// Who reads a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// A person at a terminal: control characters shown, colors if asked.
    Person { color: bool },
    /// `git apply`, a bot: every byte of the files as it is.
    Tool,
}

/// The diff of every target of a plan. `real_paths` names the files
/// themselves rather than the symlinks the plan reached them through, which
/// `git apply` needs.
pub fn of_targets(targets: &[Target], reader: Reader, real_paths: bool) -> String {
    let files: Vec<FileDiff<'_>> = targets
        .iter()
        .map(|t| FileDiff {
            path: if real_paths { &t.real } else { &t.shown },
            old: t.before.as_deref(),
            new: Some(&t.after),
            symlink: t.link.is_some(),
        })
        .collect();
    unified(&files, reader)
}

/// A name in a diff's headers, quoted as git quotes it where it must be:
/// control characters, `"`, `\` and bytes past ASCII (`core.quotePath`).
fn header_name(prefix: &str, path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut name: Vec<u8> = Vec::new();
    if !path.is_absolute() {
        name.extend_from_slice(prefix.as_bytes());
        name.push(b'/');
    }
    name.extend_from_slice(path.as_os_str().as_bytes());
    let plain = name
        .iter()
        .all(|b| (0x20..0x7f).contains(b) && !matches!(b, b'"' | b'\\'));
    if plain {
        return String::from_utf8_lossy(&name).into_owned();
    }
    let mut out = String::from("\"");
    for &byte in &name {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\{byte:03o}")),
        }
    }
    out.push('"');
    out
}

const HEADER: Style = Style::new().effects(Effects::BOLD);
const HUNK: Style = AnsiColor::Cyan.on_default();
const REMOVED: Style = AnsiColor::Red.on_default();
const ADDED: Style = AnsiColor::Green.on_default();

/// The unified diff (3 lines of context) of every file, in order. For a
/// person, lines show their control characters and may carry ANSI styles;
/// the text is otherwise the same.
pub fn unified(files: &[FileDiff<'_>], reader: Reader) -> String {
    let color = matches!(reader, Reader::Person { color: true });
    let for_reader = |text: &str| -> String {
        match reader {
            Reader::Person { .. } => visible(text).into_owned(),
            Reader::Tool => text.to_string(),
        }
    };
    let paint = |style: Style, text: &str| {
        let text = for_reader(text);
        if color {
            format!("{style}{text}{style:#}")
        } else {
            text
        }
    };
    let mut out = String::new();
    for file in files {
        let old = String::from_utf8_lossy(file.old.unwrap_or_default());
        let new = String::from_utf8_lossy(file.new.unwrap_or_default());
        if file.old.is_some() && old == new {
            continue;
        }
        let shown = display_path(file.path);
        let from = if file.old.is_some() {
            header_name("a", &shown)
        } else {
            "/dev/null".to_string()
        };
        let to = if file.new.is_some() {
            header_name("b", &shown)
        } else {
            "/dev/null".to_string()
        };
        if file.symlink {
            let (a, b) = (header_name("a", &shown), header_name("b", &shown));
            out.push_str(&paint(HEADER, &format!("diff --git {a} {b}")));
            out.push('\n');
            let mode = match (file.old, file.new) {
                (None, _) => "new file mode 120000",
                (_, None) => "deleted file mode 120000",
                _ => "index 120000",
            };
            out.push_str(&paint(HEADER, mode));
            out.push('\n');
        }
        out.push_str(&paint(HEADER, &format!("--- {from}")));
        out.push('\n');
        out.push_str(&paint(HEADER, &format!("+++ {to}")));
        out.push('\n');
        let diff = TextDiff::from_lines(old.as_ref(), new.as_ref());
        for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
            out.push_str(&paint(HUNK, &hunk.header().to_string()));
            out.push('\n');
            for change in hunk.iter_changes() {
                let (sign, style) = match change.tag() {
                    ChangeTag::Delete => ("-", Some(REMOVED)),
                    ChangeTag::Insert => ("+", Some(ADDED)),
                    ChangeTag::Equal => (" ", None),
                };
                let line = change.value();
                let text = format!("{sign}{}", line.strip_suffix('\n').unwrap_or(line));
                match style {
                    Some(style) => out.push_str(&paint(style, &text)),
                    None => out.push_str(&for_reader(&text)),
                }
                out.push('\n');
                if change.missing_newline() {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_new_and_removed_files() {
        let files = [
            FileDiff {
                path: Path::new("site.conf"),
                old: Some(b"a\nfastcgi_pass x;\nc\n"),
                new: Some(b"a\nuwsgi_pass x;\nc\n"),
                symlink: false,
            },
            FileDiff {
                path: Path::new("uwsgi.ini"),
                old: None,
                new: Some(b"[uwsgi]\nmaster = true"),
                symlink: false,
            },
            FileDiff {
                path: Path::new("gone.txt"),
                old: Some(b"bye\n"),
                new: None,
                symlink: false,
            },
        ];
        let text = unified(&files, Reader::Tool);
        assert_eq!(
            text,
            "--- a/site.conf\n+++ b/site.conf\n@@ -1,3 +1,3 @@\n a\n-fastcgi_pass x;\n+uwsgi_pass x;\n c\n\
             --- /dev/null\n+++ b/uwsgi.ini\n@@ -0,0 +1,2 @@\n+[uwsgi]\n+master = true\n\\ No newline at end of file\n\
             --- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
        );
    }

    #[test]
    fn links_are_shown_as_git_shows_them() {
        let files = [FileDiff {
            path: Path::new("etc/uwsgi/apps-enabled/mediagoblin.ini"),
            old: None,
            new: Some(b"../apps-available/mediagoblin.ini"),
            symlink: true,
        }];
        assert_eq!(
            unified(&files, Reader::Tool),
            "diff --git a/etc/uwsgi/apps-enabled/mediagoblin.ini b/etc/uwsgi/apps-enabled/mediagoblin.ini\n\
             new file mode 120000\n\
             --- /dev/null\n+++ b/etc/uwsgi/apps-enabled/mediagoblin.ini\n@@ -0,0 +1 @@\n\
             +../apps-available/mediagoblin.ini\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn unchanged_files_are_left_out() {
        let files = [FileDiff {
            path: Path::new("same"),
            old: Some(b"x\n"),
            new: Some(b"x\n"),
            symlink: false,
        }];
        assert_eq!(unified(&files, Reader::Tool), "");
    }
}
