//! `check --fix`: the fixes findings carry, gathered into one plan that
//! goes through the same transaction as `migrate` (diff, confirmation,
//! journal, `nginx -t`, rollback).
//!
//! Fixes are found in rounds over the files as the fixes so far leave them
//! (staged in memory, never written): a fixed directive name lets the rules
//! about that directive see it. A finding's fix is taken whole or not at
//! all: when one of its replacements overlaps one already taken (two
//! findings about the same text), it waits for the next round.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::deploy::Deployment;
use crate::deploy::uwsgi::Settings;
use crate::diagnostic::{Applicability, Diagnostic, FileEdit};
use crate::plan::{Edit, Plan, apply_edits};
use crate::source::staged::FileId;
use crate::source::{self, SourceFile, Span};

/// The fixes taken from a run's findings, round after round.
pub struct Fixes {
    pub plan: Plan,
    /// How many findings the plan fixes.
    pub fixed: usize,
    /// Findings whose fix is unsafe and was not asked for.
    pub unsafe_left: usize,
    /// Findings whose fix overlaps another's and found no round to fit in.
    pub deferred: usize,
    /// A round of fixes left a file that no longer parses, and was taken
    /// back.
    pub broke_a_file: bool,
}

fn overlaps(a: Span, b: Span) -> bool {
    // Two insertions at one offset would also race for the same place.
    a.start < b.end && b.start < a.end || (a.start == b.start && (a.is_empty() || b.is_empty()))
}

/// One round: the edits of every fix `findings` carry that may be made
/// (safe ones; unsafe ones too when `unsafe_fixes`), by file.
struct Round {
    edits: BTreeMap<PathBuf, (Arc<SourceFile>, Vec<Edit>)>,
    fixed: usize,
    unsafe_left: usize,
    deferred: usize,
}

fn round(findings: &[Diagnostic], unsafe_fixes: bool) -> Round {
    let mut edits: BTreeMap<PathBuf, (Arc<SourceFile>, Vec<Edit>)> = BTreeMap::new();
    let (mut fixed, mut unsafe_left, mut deferred) = (0, 0, 0);
    for fix in findings.iter().filter_map(|d| d.fix.as_ref()) {
        if fix.applicability == Applicability::Unsafe && !unsafe_fixes {
            unsafe_left += 1;
            continue;
        }
        let clashes = fix.edits.iter().enumerate().any(|(i, r)| {
            edits
                .get(r.source.path())
                .is_some_and(|(_, taken)| taken.iter().any(|e| overlaps(e.span(), r.span())))
                || fix
                    .edits
                    .iter()
                    .skip(i + 1)
                    .any(|o| o.source.path() == r.source.path() && overlaps(o.span(), r.span()))
        });
        if clashes {
            deferred += 1;
            continue;
        }
        for file_edit in &fix.edits {
            edits
                .entry(file_edit.source.path().to_path_buf())
                .or_insert_with(|| (Arc::clone(&file_edit.source), Vec::new()))
                .1
                .push(file_edit.edit.clone());
        }
        fixed += 1;
    }
    Round {
        edits,
        fixed,
        unsafe_left,
        deferred,
    }
}

/// A file the fixes change: what it holds on disk and what it will.
#[derive(Clone)]
struct Staged {
    path: PathBuf,
    original: Vec<u8>,
    now: Vec<u8>,
}

/// As many rounds as it takes (at most `MAX_ROUNDS`): the first takes the
/// fixes of `findings` (the files as they are), each later one those of
/// what `lint` finds in the files as the fixes so far leave them. A fix can uncover another: the case of `uWSGI_modifier1`
/// fixed, the rule about `uwsgi_modifier1` sees it. The result is one plan,
/// each file from what is on disk to what the last round left.
pub fn plan<E>(
    deployment: &Deployment,
    findings: &[Diagnostic],
    unsafe_fixes: bool,
    mut lint: impl FnMut() -> Result<Vec<Diagnostic>, E>,
) -> Result<Fixes, E> {
    const MAX_ROUNDS: usize = 10;
    let mut staged: BTreeMap<FileId, Staged> = BTreeMap::new();
    let mut fixed = 0;
    let (mut unsafe_left, mut deferred) = (0, 0);
    let syntax_errors = |findings: &[Diagnostic]| {
        findings
            .iter()
            .filter(|d| d.code == Some(super::SYNTAX_ERROR.code))
            .count()
    };
    let unreadable_before = syntax_errors(findings);
    let mut before_round: Option<(BTreeMap<FileId, Staged>, usize)> = None;
    let mut broke_a_file = false;
    let mut findings = findings.to_vec();
    for round_index in 0..MAX_ROUNDS {
        if round_index > 0 {
            let contents = staged.iter().map(|(id, s)| (*id, s.now.clone())).collect();
            findings = source::staged::with(contents, &mut lint)?;
        }
        // A round whose fixes leave a file unreadable (a fix is wrong
        // somewhere) is taken back whole, and no further round is made.
        if syntax_errors(&findings) > unreadable_before {
            if let Some((files, count)) = before_round.take() {
                (staged, fixed) = (files, count);
            }
            broke_a_file = true;
            break;
        }
        before_round = Some((staged.clone(), fixed));
        let taken = round(&findings, unsafe_fixes);
        (unsafe_left, deferred) = (taken.unsafe_left, taken.deferred);
        let mut changed = false;
        for (path, (source, mut edits)) in taken.edits {
            edits.sort_by_key(|e| (e.span().start, e.span().end));
            let Ok(id) = deployment
                .sysroot
                .metadata(&path)
                .map(|m| source::staged::id(&m))
            else {
                continue;
            };
            let Ok(now) = apply_edits(source.bytes(), &edits) else {
                continue;
            };
            changed |= now != source.bytes();
            staged
                .entry(id)
                .or_insert_with(|| Staged {
                    path: path.clone(),
                    original: source.bytes().to_vec(),
                    now: Vec::new(),
                })
                .now = now;
        }
        if !changed {
            break;
        }
        fixed += taken.fixed;
    }

    let mut plan = Plan::new(&deployment.root);
    plan.sysroot = deployment.sysroot.clone();
    let nginx = &deployment.nginx;
    let mut touches_nginx = false;
    for file in staged.into_values() {
        if file.now == file.original {
            continue;
        }
        touches_nginx |= nginx
            .loaded
            .configs()
            .any(|c| c.source.path() == file.path.as_path());
        // One edit, from the first byte that differs to the last: bytes
        // that are not UTF-8 outside it stay as they are.
        let Some(edit) = difference(&file.original, &file.now) else {
            continue;
        };
        plan.modify(&file.path, &file.original, vec![edit]);
    }
    if touches_nginx {
        plan.nginx_gate = Some(deployment.nginx_gate());
    }
    Ok(Fixes {
        plan,
        fixed,
        unsafe_left,
        deferred,
        broke_a_file,
    })
}

/// The one edit that turns `old` into `new`: the bytes between their
/// common start and common end. `None` when those bytes of `new` are not
/// UTF-8 (an edit holds text).
pub fn difference(old: &[u8], new: &[u8]) -> Option<Edit> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    let middle = new.get(prefix..new.len() - suffix)?;
    let text = std::str::from_utf8(middle).ok()?;
    Some(Edit::replace(Span::new(prefix, old.len() - suffix), text))
}

/// Removes the text at `span`, with its line when nothing else is on it.
pub fn remove(source: &Arc<SourceFile>, span: Span) -> FileEdit {
    let line = crate::lines::removal(source.bytes(), span);
    FileEdit::new(source, Edit::delete(line))
}

/// `text` on a line of its own after the line holding `offset`
/// (`lines::line_after`).
pub fn line_after(source: &Arc<SourceFile>, offset: usize, text: &str) -> Option<FileEdit> {
    let edit = crate::lines::line_after(source.bytes(), offset, text)?;
    Some(FileEdit::new(source, edit))
}

/// `key = value` added to the uWSGI ini's `[uwsgi]` section, after its
/// last entry (or its header).
pub fn uwsgi_option(settings: &Settings<'_>, key: &str, value: &str) -> Option<FileEdit> {
    let source = &settings.file.document.source;
    let section = settings.file.document.section("uwsgi")?;
    let anchor = match section.entries.last() {
        Some(entry) => entry.span().end,
        None => section.header_span?.end,
    };
    line_after(source, anchor, &format!("{key} = {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_between_the_common_ends() {
        let edit = difference(b"a uWSGI_pass b;", b"a uwsgi_pass b;").unwrap();
        assert_eq!(
            (edit.start, edit.end, edit.replacement.as_str()),
            (3, 7, "wsgi")
        );
        let edit = difference(b"x\n", b"x\ny = 1\n").unwrap();
        assert_eq!(
            (edit.start, edit.end, edit.replacement.as_str()),
            (2, 2, "y = 1\n")
        );
        let edit = difference(b"aaa", b"aa").unwrap();
        assert_eq!(
            (edit.start, edit.end, edit.replacement.as_str()),
            (2, 3, "")
        );
        assert!(difference(b"\xff a \xfe", b"\xff b \xfe").is_some());
        assert!(difference(b"a", b"\xff").is_none());
    }

    #[test]
    fn overlapping_spans() {
        assert!(overlaps(Span::new(0, 5), Span::new(4, 8)));
        assert!(!overlaps(Span::new(0, 4), Span::new(4, 8)));
        assert!(overlaps(Span::new(4, 4), Span::new(4, 8)));
        assert!(!overlaps(Span::new(9, 9), Span::new(4, 8)));
    }
}
