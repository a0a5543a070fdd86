//! A migration's notes and plan for people: the plain-text summary printed
//! after the diff, and the Markdown comment a merge request shows (a status
//! line, the notes under headings, each file's diff in a collapsible
//! block), which must render the same on GitHub and GitLab.
//!
//! Notes and file names carry text from the files reviewed, which a pull
//! request writes: in the comment each stays one inline element whatever
//! it holds. A line break is `<br>` (never a new block), control
//! characters are shown, Markdown's punctuation is escaped outside code
//! spans, and a word a renderer would turn into a link or a mention
//! (`http://…`, `www.…`, `@name`) is shown as code.

use super::visible::visible;
use crate::migrate::notes::Notes;

/// The summary after the diff on a terminal.
pub fn text(notes: &Notes) -> String {
    let mut out = String::new();
    let mut section = |title: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        out.push_str(title);
        out.push('\n');
        for item in items {
            out.push_str("  - ");
            out.push_str(&visible(&item).replace('\n', "\n    "));
            out.push('\n');
        }
    };
    section("Changed:", notes.changes().map(str::to_string).collect());
    section(
        "Dropped:",
        notes
            .drops()
            .map(|(what, why)| format!("{what}: {why}"))
            .collect(),
    );
    section("Warnings:", notes.warnings().map(str::to_string).collect());
    let steps: Vec<&str> = notes.next_steps().collect();
    if !steps.is_empty() {
        out.push_str("Next steps, once it is applied:\n");
        for (i, step) in steps.iter().enumerate() {
            out.push_str(&format!(
                "  {}. {}\n",
                i + 1,
                visible(step).replace('\n', "\n     ")
            ));
        }
    }
    out
}

/// One file of the plan, as the comment shows it.
pub struct FileSection {
    /// As git shows it (relative to the work tree).
    pub path: String,
    pub created: bool,
    /// Its unified diff, without color.
    pub diff: String,
}

/// GitHub refuses comments longer than 65,536 characters; diffs past this
/// are left out (the patch format has them all).
const COMMENT_BUDGET: usize = 60_000;

/// The merge-request comment for a plan. `paths` makes the runner's paths
/// in the notes relative to the work tree, as in the diffs.
pub fn markdown(notes: &Notes, files: &[FileSection], paths: &dyn Fn(&str) -> String) -> String {
    let mut out = String::from("## mgdeploy migrate\n\n");
    out.push_str(&status_line(notes, files));
    out.push_str("\n\n");
    let warnings: Vec<String> = notes.warnings().map(|w| inline(&paths(w))).collect();
    list(&mut out, "Warnings", &warnings, false);
    let changes: Vec<String> = notes.changes().map(|c| inline(&paths(c))).collect();
    list(&mut out, "Changed", &changes, false);
    let drops: Vec<String> = notes
        .drops()
        .map(|(what, why)| format!("{}: {}", inline(&paths(what)), inline(&paths(why))))
        .collect();
    list(&mut out, "Dropped", &drops, false);
    let steps: Vec<String> = notes.next_steps().map(|s| inline(&paths(s))).collect();
    list(&mut out, "Next steps, once it is applied", &steps, true);
    if !files.is_empty() {
        out.push_str("### Files\n\n");
        let mut budget = COMMENT_BUDGET.saturating_sub(out.len());
        for file in files {
            out.push_str(&details(file, &mut budget));
        }
    }
    out
}

/// The comment when nothing changes.
pub fn markdown_nothing(reason: &str) -> String {
    format!(
        "## mgdeploy migrate\n\n**Nothing to change.** {}\n",
        inline(reason)
    )
}

/// `**2 files to change, 1 to create** · 1 warning · 4 steps once applied`.
fn status_line(notes: &Notes, files: &[FileSection]) -> String {
    let created = files.iter().filter(|f| f.created).count();
    let changed = files.len() - created;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![format!(
        "**{} to change, {created} to create**",
        plural(changed, "file", "files")
    )];
    let warnings = notes.warnings().count();
    if warnings > 0 {
        parts.push(plural(warnings, "warning", "warnings"));
    }
    let steps = notes.next_steps().count();
    if steps > 0 {
        parts.push(format!("{} once applied", plural(steps, "step", "steps")));
    }
    parts.join(" · ")
}

fn list(out: &mut String, title: &str, items: &[String], numbered: bool) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("### {title}\n\n"));
    for (i, item) in items.iter().enumerate() {
        let marker = if numbered {
            format!("{}. ", i + 1)
        } else {
            "- ".to_string()
        };
        // An item is one line: `inline` made its line breaks `<br>`.
        out.push_str(&marker);
        out.push_str(item);
        out.push('\n');
    }
    out.push('\n');
}

/// One file: a `<details>` block with its diff fenced inside.
fn details(file: &FileSection, budget: &mut usize) -> String {
    let (added, removed) = counts(&file.diff);
    let what = if file.created { "new" } else { "modified" };
    let mut out = format!(
        "<details>\n<summary><code>{}</code> ({what}, +{added} −{removed})</summary>\n\n",
        html(&file.path)
    );
    if file.diff.len() + 64 > *budget {
        out.push_str(&format!(
            "The diff ({} lines) is left out: too long for a comment. `mgdeploy migrate --format patch` prints it.\n",
            file.diff.lines().count()
        ));
    } else {
        *budget -= file.diff.len();
        // Printed in CI logs too: shown, not obeyed.
        let diff = visible(&file.diff);
        let fence = "`".repeat(longest_backtick_run(&diff).max(2) + 1);
        out.push_str(&format!("{fence}diff\n{diff}"));
        if !diff.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&fence);
        out.push('\n');
    }
    out.push_str("\n</details>\n\n");
    out
}

/// Lines added and removed in a unified diff.
fn counts(diff: &str) -> (usize, usize) {
    let mut added = 0;
    let mut removed = 0;
    for line in diff.lines() {
        if line.starts_with("+++") || line.starts_with("---") {
            continue;
        }
        if line.starts_with('+') {
            added += 1;
        } else if line.starts_with('-') {
            removed += 1;
        }
    }
    (added, removed)
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// Text for HTML (inside `<code>`), on one line: a line break there
/// would end the HTML block it is in.
fn html(text: &str) -> String {
    visible(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "␤")
}

/// Markdown's punctuation, escaped outside code spans.
const PUNCTUATION: &str = "\\*_[]<>|~&#!`:";

/// A word a renderer turns into a link or a mention.
fn active(word: &str) -> bool {
    word.contains("://") || word.to_ascii_lowercase().contains("www.") || word.contains('@')
}

/// Prose as Markdown: punctuation escaped, active words as code, line
/// breaks as `<br>`.
fn prose(text: &str, out: &mut String) {
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push_str("<br>");
        }
        for (index, word) in line.split(' ').enumerate() {
            if index > 0 {
                out.push(' ');
            }
            if active(word) {
                code(word, out);
                continue;
            }
            for c in word.chars() {
                if PUNCTUATION.contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
}

/// A code span of `text`, on one line: fenced by more backticks than it
/// holds in a row, apart from a backtick just before it (which would join
/// the fence).
fn code(text: &str, out: &mut String) {
    if text.is_empty() {
        return;
    }
    let text = text.replace('\n', "␤");
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    // CommonMark takes one blank off each end of a span that has both.
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    if out.ends_with('`') {
        out.push(' ');
    }
    out.push_str(&fence);
    out.push_str(pad);
    out.push_str(&text);
    out.push_str(pad);
    out.push_str(&fence);
}

/// A note as Markdown: its `code spans` kept, the rest as `prose`; one
/// inline element whatever it holds.
fn inline(text: &str) -> String {
    let text = visible(text);
    let mut out = String::new();
    let parts: Vec<&str> = text.split('`').collect();
    // An odd backtick would open a span that never closes: all prose then.
    if parts.len().is_multiple_of(2) {
        prose(&text, &mut out);
        return unlisted(out);
    }
    for (index, part) in parts.iter().enumerate() {
        if index % 2 == 1 {
            code(part, &mut out);
        } else {
            prose(part, &mut out);
        }
    }
    unlisted(out)
}

/// `text` with a list marker at its start (`1.`, `2)`, `-`, `+`) escaped:
/// an item's text starting so would open a list inside it.
fn unlisted(text: String) -> String {
    // Blanks at an item's start are not text: past four they would open a
    // code block. Markdown drops them; so does the comment.
    let text = text.trim_start_matches([' ', '\t']).to_string();
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let at = match text.get(digits..digits + 1) {
        Some("." | ")") if digits > 0 => digits,
        Some("-" | "+") if digits == 0 => 0,
        _ => return text,
    };
    format!("{}\\{}", &text[..at], &text[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_keep_code_and_escape_the_rest() {
        assert_eq!(
            inline("`uwsgi_pass x;` in <root>/a_b*"),
            "`uwsgi_pass x;` in \\<root\\>/a\\_b\\*"
        );
        assert_eq!(inline("one ` tick"), "one \\` tick");
        assert_eq!(
            inline("see http://x.example and @admin\n\n<img src=x>"),
            "see `http://x.example` and `@admin`<br><br>\\<img src=x\\>"
        );
        // What the property test found: a list marker or blanks at the
        // start, a link with backticks around it.
        assert_eq!(inline("1. x"), "1\\. x");
        assert_eq!(inline("\t\t- x"), "\\- x");
        assert_eq!(
            inline("```[a](http://e.example): `b`"),
            "```` ```[a](http://e.example): ```` \\`b\\`"
        );
    }

    #[test]
    fn fences_outgrow_the_diff() {
        let file = FileSection {
            path: "a<b>.ini".into(),
            created: true,
            diff: "+```\n+x\n".into(),
        };
        let mut budget = 10_000;
        let shown = details(&file, &mut budget);
        assert!(
            shown.contains("<code>a&lt;b&gt;.ini</code> (new, +2 −0)"),
            "{shown}"
        );
        assert!(shown.contains("````diff\n+```\n+x\n````\n"), "{shown}");
        let mut budget = 10;
        assert!(details(&file, &mut budget).contains("left out"));
    }
}
