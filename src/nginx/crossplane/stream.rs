//! crossplane's payload made while each file is read, without a tree:
//! what `mgdeploy parse` prints for a fleet's configuration.
//!
//! A file's `"parsed"` list is written (to memory) as the parser hands on
//! directives. Only its `include` directives are kept, as a tree of their
//! own, so the files they name are found exactly as
//! `include::follow_includes` finds them; the file indices an include pulls
//! in go into the written list at the end, where the include left its place.
//! A file of a megabyte or more is read and lexed on one thread while its
//! list is written on another (`read_and_write`): the two halves of the
//! work take about as long, and a fleet's host has the cores.
//! The lists are held until every file is read because the payload starts
//! with what is wrong in any of them (reading each file a second time to
//! print straight to the output measured slower: the lexer runs twice).
//! The output is byte for byte what `serde_json::to_writer(Payload)` writes;
//! a test holds the two together over the corpus.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use super::{
    FileText, Options, file_errors, json, lua_block, payload_errors, special_args, status,
};
use crate::diagnostic::Diagnostic;
use crate::nginx::include::{Follow, Loaded, LoadedFile, load_with};
use crate::nginx::parser::{Sink, Statement, read};
use crate::nginx::syntax::{Block, Comment, Config, Directive, Node, Terminator, Word};
use crate::source::{SourceFile, Span};

/// A configuration read for `parse`: the files as the loader knows them
/// (each parsed file's tree holds only its includes) and each parsed
/// file's written list.
pub struct Streamed {
    pub loaded: Loaded,
    written: HashMap<PathBuf, Written>,
    options: Options,
}

/// One file's `"parsed"` list, and where its includes go in it.
struct Written {
    json: Vec<u8>,
    /// Offsets in `json` where each `include` (by its name's span) takes
    /// its `"includes"` entry, in file order.
    includes: Vec<(usize, Span)>,
}

/// Reads `main` (and what it includes, with `Follow::Includes`), writing
/// each file's list as it is read.
pub fn load(
    main: &Path,
    prefix: &Path,
    follow: Follow,
    options: Options,
) -> Result<Streamed, Diagnostic> {
    load_with_threads_from(main, prefix, follow, options, TWO_THREADS_FROM)
}

/// `load`, with files of `two_threads_from` bytes or more read on two
/// threads (tests hold both ways to the same output on small files).
pub fn load_with_threads_from(
    main: &Path,
    prefix: &Path,
    follow: Follow,
    options: Options,
    two_threads_from: usize,
) -> Result<Streamed, Diagnostic> {
    let mut written = HashMap::new();
    let mut reader = |source: &Arc<SourceFile>| {
        let (config, file) = read_and_write(source, options, two_threads_from)?;
        written.insert(source.path().to_path_buf(), file);
        Ok(config)
    };
    let loaded = load_with(main, prefix, follow, &mut reader)?;
    Ok(Streamed {
        loaded,
        written,
        options,
    })
}

impl Streamed {
    /// The whole payload, as `serde_json::to_writer(Payload)` writes it.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut head = Vec::new();
        head.extend_from_slice(b"{\"status\":");
        json::string(&mut head, status(self.loaded.is_ok()));
        head.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut head, &payload_errors(&self.loaded))?;
        head.extend_from_slice(b",\"config\":[");
        out.write_all(&head)?;
        for (index, file) in self.loaded.files.iter().enumerate() {
            if index > 0 {
                out.write_all(b",")?;
            }
            self.write_file(file, out)?;
        }
        out.write_all(b"]}")
    }

    fn write_file(&self, file: &LoadedFile, out: &mut impl Write) -> std::io::Result<()> {
        let mut head = Vec::new();
        head.extend_from_slice(b"{\"file\":");
        json::string(&mut head, &file.path.to_string_lossy());
        head.extend_from_slice(b",\"status\":");
        json::string(&mut head, status(file.errors().next().is_none()));
        head.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut head, &file_errors(file))?;
        head.extend_from_slice(b",\"parsed\":");
        out.write_all(&head)?;
        let written = match &file.config {
            Ok(_) => self.written.get(&file.path),
            Err(_) => None,
        };
        let Some(written) = written else {
            return out.write_all(b"[]}");
        };
        let mut from = 0;
        let mut entry = Vec::new();
        for &(at, name) in &written.includes {
            let Some(files) = file.included_by(name).filter(|_| self.options.includes) else {
                continue;
            };
            out.write_all(written.json.get(from..at).unwrap_or_default())?;
            entry.clear();
            entry.extend_from_slice(b",\"includes\":[");
            for (i, &index) in files.iter().enumerate() {
                if i > 0 {
                    entry.push(b',');
                }
                json::number(&mut entry, index);
            }
            entry.push(b']');
            out.write_all(&entry)?;
            from = at;
        }
        out.write_all(written.json.get(from..).unwrap_or_default())?;
        out.write_all(b"}")
    }
}

/// From this size on, a file is read on one core while its JSON is written
/// on another (a fleet's 38 MB file: about 30% less wall time on two cores).
const TWO_THREADS_FROM: usize = 1 << 20;

/// Directives handed from the reading thread to the writing one at a time.
const EVENTS_PER_CHUNK: usize = 4096;

/// Reads one file and writes its list: the tree of its includes and the
/// list.
fn read_and_write(
    source: &Arc<SourceFile>,
    options: Options,
    two_threads_from: usize,
) -> Result<(Config, Written), Diagnostic> {
    if source.bytes().len() < two_threads_from {
        let mut writer = Writer::new(source, options);
        read(source, &mut writer)?;
        return Ok(writer.finish(source));
    }
    std::thread::scope(|scope| {
        let (to_writer, from_reader) = mpsc::sync_channel::<Chunk>(4);
        let (to_reader, recycled) = mpsc::channel::<Chunk>();
        let writing = scope.spawn(move || {
            let mut writer = Writer::new(source, options);
            for mut chunk in from_reader {
                chunk.replay(&mut writer);
                chunk.clear();
                // The reader may be done already; the chunk is then freed.
                let _ = to_reader.send(chunk);
            }
            writer
        });
        let mut recorder = Recorder {
            chunk: Chunk::default(),
            to_writer,
            recycled,
        };
        let result = read(source, &mut recorder);
        recorder.send();
        // Closes the channel: the writer ends after the last chunk.
        drop(recorder);
        let writer = writing.join().map_err(|_| {
            Diagnostic::error("internal error: writing the JSON failed").in_file(source.path())
        })?;
        result?;
        Ok(writer.finish(source))
    })
}

/// What the reading thread hands on: the sink calls it saw, with the words
/// and comments they borrow.
#[derive(Default)]
struct Chunk {
    events: Vec<Event>,
    words: Vec<Word>,
    comments: Vec<Comment>,
}

/// One call to a `Sink`; `Range`s index the chunk's words and comments.
enum Event {
    Comment(Comment),
    Directive(Recorded, Terminator),
    Open(Recorded, Span),
    Close(Span),
}

/// A `Statement`, its lists kept in the chunk.
struct Recorded {
    name: Word,
    args: Range<usize>,
    comments: Range<usize>,
}

impl Chunk {
    fn record(&mut self, statement: &Statement<'_>) -> Recorded {
        let args = self.words.len()..self.words.len() + statement.args.len();
        self.words.extend_from_slice(statement.args);
        let comments = self.comments.len()..self.comments.len() + statement.comments.len();
        self.comments.extend_from_slice(statement.comments);
        Recorded {
            name: statement.name,
            args,
            comments,
        }
    }

    fn statement(&self, recorded: &Recorded) -> Statement<'_> {
        Statement {
            name: recorded.name,
            args: self.words.get(recorded.args.clone()).unwrap_or_default(),
            comments: self
                .comments
                .get(recorded.comments.clone())
                .unwrap_or_default(),
        }
    }

    fn replay(&self, sink: &mut impl Sink) {
        for event in &self.events {
            match event {
                Event::Comment(comment) => sink.comment(*comment),
                Event::Directive(recorded, terminator) => {
                    sink.directive(&self.statement(recorded), terminator.clone());
                }
                Event::Open(recorded, open) => sink.open(&self.statement(recorded), *open),
                Event::Close(close) => sink.close(*close),
            }
        }
    }

    fn clear(&mut self) {
        self.events.clear();
        self.words.clear();
        self.comments.clear();
    }
}

/// The reading thread's sink: gathers calls into chunks for the writer.
struct Recorder {
    chunk: Chunk,
    to_writer: mpsc::SyncSender<Chunk>,
    /// Chunks the writer is done with, to fill again (memory already
    /// touched is cheaper than new).
    recycled: mpsc::Receiver<Chunk>,
}

impl Recorder {
    fn push(&mut self, event: Event) {
        self.chunk.events.push(event);
        if self.chunk.events.len() >= EVENTS_PER_CHUNK {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self.recycled.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.chunk, next);
        // A writer that stopped has panicked; `join` says so.
        let _ = self.to_writer.send(full);
    }
}

impl Sink for Recorder {
    fn comment(&mut self, comment: Comment) {
        self.push(Event::Comment(comment));
    }

    fn directive(&mut self, statement: &Statement<'_>, terminator: Terminator) {
        let recorded = self.chunk.record(statement);
        self.push(Event::Directive(recorded, terminator));
    }

    fn open(&mut self, statement: &Statement<'_>, open: Span) {
        let recorded = self.chunk.record(statement);
        self.push(Event::Open(recorded, open));
    }

    fn close(&mut self, close: Span) {
        self.push(Event::Close(close));
    }
}

/// An open block, as the writer needs it when the block closes.
struct Open {
    /// Comments between the owner's arguments, listed after the block.
    comments: Vec<Comment>,
    line: u32,
    /// The owner's place in `includes`, when it is an `include`.
    include: Option<usize>,
}

/// The sink that writes one file's list.
struct Writer<'a> {
    words: FileText<'a>,
    options: Options,
    json: Vec<u8>,
    include_points: Vec<(usize, Span)>,
    /// The file's `include` directives, in file order, any depth.
    includes: Vec<Directive>,
    open: Vec<Open>,
}

impl<'a> Writer<'a> {
    fn new(source: &'a SourceFile, options: Options) -> Self {
        let bytes = source.bytes();
        // The JSON is about one and a half times the file.
        let mut json = Vec::with_capacity(bytes.len() + bytes.len() / 2 + 2);
        json.push(b'[');
        Writer {
            words: FileText::new(bytes),
            options,
            json,
            include_points: Vec::new(),
            includes: Vec::new(),
            open: Vec::new(),
        }
    }

    /// The tree of includes (for the loader) and the written list.
    fn finish(mut self, source: &Arc<SourceFile>) -> (Config, Written) {
        self.json.push(b']');
        let config = Config {
            source: Arc::clone(source),
            children: self.includes.into_iter().map(Node::Directive).collect(),
        };
        let written = Written {
            json: self.json,
            includes: self.include_points,
        };
        (config, written)
    }

    /// A `,` unless this is the list's first element.
    fn next_element(&mut self) {
        if self.json.last() != Some(&b'[') {
            self.json.push(b',');
        }
    }

    /// `{"directive":…,"line":…,"args":[…]`, and the place for
    /// `"includes"`; whether it is an `include`.
    fn head(&mut self, statement: &Statement<'_>, lua: Option<Span>) -> bool {
        self.next_element();
        let words = self.words;
        let name = words.value(&statement.name);
        self.json.extend_from_slice(b"{\"directive\":");
        json::string(&mut self.json, &name);
        self.json.extend_from_slice(b",\"line\":");
        json::number(&mut self.json, statement.name.line as usize);
        self.json.extend_from_slice(b",\"args\":[");
        match special_args(words, &name, statement.args, lua) {
            Some(args) => self.args(args),
            None => self.args(statement.args.iter().map(|word| words.value(word))),
        }
        self.json.push(b']');
        // As `include::include_directives` tells: by the name as written.
        let include = words.slice(statement.name.span) == b"include";
        if include {
            self.include_points
                .push((self.json.len(), statement.name.span));
        }
        include
    }

    fn args<S: AsRef<str>>(&mut self, args: impl IntoIterator<Item = S>) {
        for (i, arg) in args.into_iter().enumerate() {
            if i > 0 {
                self.json.push(b',');
            }
            json::string(&mut self.json, arg.as_ref());
        }
    }

    fn comments(&mut self, comments: &[Comment], line: u32) {
        if !self.options.comments {
            return;
        }
        for comment in comments {
            self.comment_at(comment, line);
        }
    }

    fn comment_at(&mut self, comment: &Comment, line: u32) {
        self.next_element();
        self.json
            .extend_from_slice(b"{\"directive\":\"#\",\"line\":");
        json::number(&mut self.json, line as usize);
        self.json.extend_from_slice(b",\"args\":[],\"comment\":");
        let text: Cow<'_, str> = self.words.comment(comment);
        json::string(&mut self.json, &text);
        self.json.push(b'}');
    }
}

impl Sink for Writer<'_> {
    fn comment(&mut self, comment: Comment) {
        if self.options.comments {
            self.comment_at(&comment, comment.line);
        }
    }

    fn directive(&mut self, statement: &Statement<'_>, terminator: Terminator) {
        let include = self.head(statement, lua_block(&terminator));
        self.json.push(b'}');
        self.comments(statement.comments, statement.name.line);
        if include {
            self.includes.push(Directive {
                name: statement.name,
                args: statement.args.to_vec(),
                comments: Vec::new(),
                terminator,
            });
        }
    }

    fn open(&mut self, statement: &Statement<'_>, open: Span) {
        let include = self.head(statement, None);
        self.json.extend_from_slice(b",\"block\":[");
        // Its `}` is set when the block closes.
        let include = include.then(|| {
            let block = Block {
                open,
                children: Vec::new(),
                close: open,
            };
            self.includes.push(Directive {
                name: statement.name,
                args: statement.args.to_vec(),
                comments: Vec::new(),
                terminator: Terminator::Block(Box::new(block)),
            });
            self.includes.len() - 1
        });
        self.open.push(Open {
            comments: if self.options.comments {
                statement.comments.to_vec()
            } else {
                Vec::new()
            },
            line: statement.name.line,
            include,
        });
    }

    fn close(&mut self, close: Span) {
        self.json.extend_from_slice(b"]}");
        let Some(open) = self.open.pop() else {
            return;
        };
        self.comments(&open.comments, open.line);
        // The include's span now reaches its `}`, as in the tree.
        if let Some(Directive {
            terminator: Terminator::Block(block),
            ..
        }) = open.include.and_then(|i| self.includes.get_mut(i))
        {
            block.close = close;
        }
    }
}
