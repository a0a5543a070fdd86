//! Source files and byte spans: what every parser and diagnostic points into.
//!
//! Files are kept as raw bytes because nginx and INI files may hold bytes that
//! are not UTF-8; line and column numbers are computed on demand, only when a
//! position is shown to a person.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A half-open byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// An empty span at `offset`, for "something is missing here".
    pub const fn at(offset: usize) -> Self {
        Span {
            start: offset,
            end: offset,
        }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A 1-based line and column; the column counts characters, as editors do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// One file's path and bytes, shared by the syntax tree and every diagnostic
/// that points into it.
pub struct SourceFile {
    path: PathBuf,
    bytes: Vec<u8>,
    line_starts: OnceLock<Vec<usize>>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> Arc<Self> {
        Arc::new(SourceFile {
            path: path.into(),
            bytes: bytes.into(),
            line_starts: OnceLock::new(),
        })
    }

    /// Reads a regular file from disk; anything else (a FIFO, a device, a
    /// directory) is refused before a byte is read, and opening never
    /// blocks (`O_NONBLOCK`, for a FIFO with no writer). Bounded as
    /// `sysroot` says.
    pub fn read(path: &Path) -> std::io::Result<Arc<Self>> {
        Self::read_in(&crate::sysroot::Sysroot::none(), path)
    }

    /// `read`, inside the server's tree `sysroot` (a host path).
    pub fn read_in(sysroot: &crate::sysroot::Sysroot, path: &Path) -> std::io::Result<Arc<Self>> {
        Self::read_until(sysroot, path, crate::sysroot::Until::End)
    }

    /// `read_in`, reading no further than `until` says.
    pub fn read_until(
        sysroot: &crate::sysroot::Sysroot,
        path: &Path,
        until: crate::sysroot::Until,
    ) -> std::io::Result<Arc<Self>> {
        let file = sysroot.open(path)?;
        let metadata = file.metadata()?;
        if let Some(bytes) = staged::content(&metadata) {
            return Ok(SourceFile::new(path, bytes));
        }
        let bytes = crate::sysroot::read_bounded(file, crate::sysroot::MAX_FILE, until)?;
        Ok(SourceFile::new(path, bytes))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes of `span`, clamped to the file.
    pub fn slice(&self, span: Span) -> &[u8] {
        let end = span.end.min(self.bytes.len());
        let start = span.start.min(end);
        &self.bytes[start..end]
    }

    /// The text of `span`; bytes that are not UTF-8 become U+FFFD.
    pub fn text(&self, span: Span) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.slice(span))
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(memchr::memchr_iter(b'\n', &self.bytes).map(|i| i + 1));
            starts
        })
    }

    /// Line and column of a byte offset (offsets past the end point at the end).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.bytes.len());
        let starts = self.line_starts();
        let index = starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let line_start = starts.get(index).copied().unwrap_or(0);
        let column = String::from_utf8_lossy(&self.bytes[line_start..offset])
            .chars()
            .count()
            + 1;
        LineCol {
            line: index + 1,
            column,
        }
    }

    /// The 1-based column of a byte offset, counted in bytes (as reviewdog
    /// and LSP's UTF-8 positions count).
    pub fn byte_column(&self, offset: usize) -> usize {
        let offset = offset.min(self.bytes.len());
        let starts = self.line_starts();
        let index = starts.partition_point(|&s| s <= offset).saturating_sub(1);
        offset - starts.get(index).copied().unwrap_or(0) + 1
    }

    /// The span of the 1-based line `line`, without its line ending.
    pub fn line_span(&self, line: usize) -> Span {
        let starts = self.line_starts();
        let start = starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.bytes.len());
        let mut end = starts
            .get(line)
            .map(|next| next - 1)
            .unwrap_or(self.bytes.len());
        if end > start && self.bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        Span::new(start, end)
    }

    /// `path:line:column` of an offset, the form editors and terminals link.
    pub fn location(&self, offset: usize) -> String {
        let lc = self.line_col(offset);
        format!("{}:{}:{}", self.path.display(), lc.line, lc.column)
    }
}

/// The length in bytes of the character starting at `bytes[0]`: 1 for a byte
/// that does not start valid UTF-8, 0 for an empty slice.
pub fn char_len(bytes: &[u8]) -> usize {
    let head = bytes.get(..bytes.len().min(4)).unwrap_or_default();
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(head.get(..error.valid_up_to()).unwrap_or_default())
            .unwrap_or_default(),
    };
    match valid.chars().next() {
        Some(c) => c.len_utf8(),
        None => usize::from(!bytes.is_empty()),
    }
}

/// Counts the lines of a byte run, to keep line numbers while walking forward.
pub fn count_newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_lines() {
        let file = SourceFile::new("t.conf", "ab\nçd\r\nx".as_bytes().to_vec());
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_col(3), LineCol { line: 2, column: 1 });
        // "ç" is two bytes but one column.
        assert_eq!(file.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(file.line_col(8), LineCol { line: 3, column: 1 });
        assert_eq!(file.line_col(999), LineCol { line: 3, column: 2 });
        assert_eq!(file.text(file.line_span(2)), "çd");
        assert_eq!(file.location(3), "t.conf:2:1");
    }

    #[test]
    fn char_len_handles_invalid_bytes() {
        assert_eq!(char_len("é!".as_bytes()), 2);
        assert_eq!(char_len(b"\xb8 "), 1);
        assert_eq!(char_len(b"\xd0"), 1);
        assert_eq!(char_len(b""), 0);
    }

    #[test]
    fn empty_file_has_one_line() {
        let file = SourceFile::new("e", Vec::new());
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_span(1), Span::new(0, 0));
    }
}

/// Contents that stand in for files on disk while `check --fix` looks at
/// what its fixes would make (fixes are found in rounds: a directive's
/// name fixed, the rules about that directive can see it). Keyed by the
/// file's identity, so every path to it (symlinks, `..`) reads the same.
pub mod staged {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;

    /// A file's device and inode.
    pub type FileId = (u64, u64);

    thread_local! {
        static STAGED: RefCell<HashMap<FileId, Vec<u8>>> = RefCell::new(HashMap::new());
    }

    pub fn id(metadata: &std::fs::Metadata) -> FileId {
        (metadata.dev(), metadata.ino())
    }

    pub(super) fn content(metadata: &std::fs::Metadata) -> Option<Vec<u8>> {
        STAGED.with(|s| s.borrow().get(&id(metadata)).cloned())
    }

    /// Runs `f` with `files` read in place of what is on disk.
    pub fn with<T>(files: HashMap<FileId, Vec<u8>>, f: impl FnOnce() -> T) -> T {
        struct Clear;
        impl Drop for Clear {
            fn drop(&mut self) {
                STAGED.with(|s| s.borrow_mut().clear());
            }
        }
        STAGED.with(|s| *s.borrow_mut() = files);
        let _clear = Clear;
        f()
    }
}
