//! Following `include`: which files a configuration pulls in, in the order
//! nginx reads them. Patterns are the server's paths: relative ones resolve
//! against the prefix (the directory of `nginx.conf`), and all are read
//! inside the sysroot when the server's tree is mirrored. Glob patterns are
//! expanded and sorted as nginx's glob(3) does. nginx's stock files
//! (`fastcgi_params`, `mime.types` ...) that are not on this machine are
//! read from mgdeploy's copies, with a note. A plain path that does not
//! exist is a warning, and a file that includes itself an error, at the
//! `include` that names them.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::parser::parse;
use super::stock;
use super::syntax::{Config, Directive, Node};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceFile, Span};
use crate::sysroot::{Sysroot, Until};

/// One file of a configuration, parsed or not.
#[derive(Debug)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub config: Result<Config, Diagnostic>,
    /// For each `include` in this file (by the span of its name): the
    /// indices of the files it pulls in.
    pub includes: Vec<(Span, Vec<usize>)>,
    /// Problems with this file's `include` directives.
    pub include_errors: Vec<Diagnostic>,
    /// Read from mgdeploy's copy of an nginx stock file: it is not on this
    /// machine.
    pub stock: Option<stock::Origin>,
}

impl LoadedFile {
    /// The indices of the files the `include` named at `name_span` pulls in.
    pub fn included_by(&self, name_span: Span) -> Option<&[usize]> {
        // `includes` is in file order: one lookup per directive must not
        // walk them all (20,000 servers, each with its includes).
        let at = self
            .includes
            .binary_search_by_key(&name_span.start, |(span, _)| span.start)
            .ok()?;
        self.includes
            .get(at)
            .filter(|(span, _)| *span == name_span)
            .map(|(_, files)| files.as_slice())
    }

    /// Every problem with this file, notes included.
    pub fn problems(&self) -> impl Iterator<Item = &Diagnostic> {
        self.config
            .as_ref()
            .err()
            .into_iter()
            .chain(&self.include_errors)
    }

    /// The problems nginx would stop at or warn about; a note that a stock
    /// file was read from mgdeploy's copy is not one.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.problems()
            .filter(|d| d.severity != crate::diagnostic::Severity::Info)
    }
}

/// A configuration and every file it includes, the main file first, then in
/// the order they were found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub files: Vec<LoadedFile>,
}

impl Loaded {
    pub fn is_ok(&self) -> bool {
        self.files.iter().all(|f| f.errors().next().is_none())
    }

    /// Every problem, notes included, in file order.
    pub fn problems(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(LoadedFile::problems)
    }

    /// Every error or warning, in file order.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(LoadedFile::errors)
    }

    /// The parsed files, skipping those that failed.
    pub fn configs(&self) -> impl Iterator<Item = &Config> {
        self.files.iter().filter_map(|f| f.config.as_ref().ok())
    }

    pub fn config(&self, index: usize) -> Option<&Config> {
        self.files.get(index).and_then(|f| f.config.as_ref().ok())
    }
}

/// How far to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Only the named file.
    SingleFile,
    /// The named file and everything it includes.
    Includes,
}

/// Reads `main` and, with `Follow::Includes`, every file it includes.
/// Errors are recorded on the file where they occur, so a caller can show
/// all of them; an unreadable main file is the only hard failure.
pub fn load(main: &Path, prefix: &Path, follow: Follow) -> Result<Loaded, Diagnostic> {
    load_with(main, prefix, follow, &mut parse)
}

/// `load`, parsing each file with `reader`.
pub fn load_with(
    main: &Path,
    prefix: &Path,
    follow: Follow,
    reader: &mut Reader<'_>,
) -> Result<Loaded, Diagnostic> {
    let first = read_main_with(&Sysroot::none(), main, reader)?;
    Ok(match follow {
        Follow::SingleFile => Loaded { files: vec![first] },
        Follow::Includes => follow_includes_with(first, prefix, &Sysroot::none(), reader),
    })
}

/// Reads and parses the file a configuration starts from; only a file that
/// cannot be read at all is an error here.
pub fn read_main(sysroot: &Sysroot, main: &Path) -> Result<LoadedFile, Diagnostic> {
    read_main_with(sysroot, main, &mut parse)
}

/// `read_main`, parsing with `reader`.
fn read_main_with(
    sysroot: &Sysroot,
    main: &Path,
    reader: &mut Reader<'_>,
) -> Result<LoadedFile, Diagnostic> {
    let source = SourceFile::read_until(sysroot, main, Until::Nul).map_err(|error| {
        Diagnostic::error(format!("cannot read {}: {error}", main.display())).in_file(main)
    })?;
    Ok(LoadedFile {
        path: main.to_path_buf(),
        config: reader(&source),
        includes: Vec::new(),
        include_errors: Vec::new(),
        stock: None,
    })
}

/// `first` (from `read_main`) and every file it includes, relative paths
/// starting at `prefix` (a server path), read inside `sysroot`.
pub fn follow_includes(first: LoadedFile, prefix: &Path, sysroot: &Sysroot) -> Loaded {
    follow_includes_with(first, prefix, sysroot, &mut parse)
}

/// What parses each file: `parse`, or a reader that writes as it reads and
/// keeps only the `include` directives in the tree it returns.
pub type Reader<'a> = dyn FnMut(&Arc<SourceFile>) -> Result<Config, Diagnostic> + 'a;

/// `follow_includes`, parsing with `reader`.
fn follow_includes_with(
    first: LoadedFile,
    prefix: &Path,
    sysroot: &Sysroot,
    reader: &mut Reader<'_>,
) -> Loaded {
    let mut index_of: HashMap<PathBuf, usize> = HashMap::new();
    index_of.insert(first.path.clone(), 0);
    let mut loaded = Loaded { files: vec![first] };
    let mut resolved: HashMap<Vec<u8>, Vec<Included>> = HashMap::new();
    let mut next = 0;
    while next < loaded.files.len() {
        let mut includes = Vec::new();
        let mut errors = Vec::new();
        // Files found while reading this one; pushed once its tree is no
        // longer borrowed.
        let mut found = Vec::new();
        if let Ok(config) = &loaded.files[next].config {
            for directive in include_directives(config) {
                // A fleet's servers include the same few files thousands of
                // times: each name is looked up on disk once.
                let pattern = match directive.args.as_slice() {
                    [arg] => Some(config.value_bytes(arg).into_owned()),
                    _ => None,
                };
                let cached = pattern.as_ref().and_then(|p| resolved.get(p).cloned());
                let result = match cached {
                    Some(paths) => Ok(paths),
                    None => {
                        let result = resolve(config, directive, prefix, sysroot);
                        if let (Some(pattern), Ok(paths)) = (&pattern, &result) {
                            resolved.insert(pattern.clone(), paths.clone());
                        }
                        result
                    }
                };
                match result {
                    Ok(paths) => {
                        let mut indices = Vec::new();
                        for included in paths {
                            let key = included.host.clone();
                            let index = match index_of.get(&key) {
                                Some(&index) => index,
                                None => {
                                    let index = loaded.files.len() + found.len();
                                    index_of.insert(key, index);
                                    found.push(read_included(
                                        included, sysroot, config, directive, reader,
                                    ));
                                    index
                                }
                            };
                            indices.push(index);
                        }
                        includes.push((directive.name.span, indices));
                    }
                    Err(error) => {
                        errors.push(error);
                        includes.push((directive.name.span, Vec::new()));
                    }
                }
            }
        }
        let file = &mut loaded.files[next];
        includes.sort_by_key(|(span, _)| span.start);
        file.includes = includes;
        file.include_errors.extend(errors);
        loaded.files.extend(found);
        next += 1;
    }
    report_cycles(&mut loaded);
    loaded
}

/// The rule code of a missing include: a warning, an error where
/// MediaGoblin's location depends on it (decided by the caller, who knows
/// which location that is).
pub const MISSING: &str = "MG003";

/// `/dev/null`, which nginx includes as an empty file.
const DEV_NULL: &str = "/dev/null";

/// A file an `include` names.
#[derive(Clone)]
pub struct Included {
    /// Where it is on this machine (in the mirror, with a sysroot).
    pub host: PathBuf,
    /// mgdeploy's copy of an nginx stock file that is not there.
    pub stock: Option<(stock::Origin, &'static str)>,
}

fn read_included(
    included: Included,
    sysroot: &Sysroot,
    from: &Config,
    directive: &Directive,
    reader: &mut Reader<'_>,
) -> LoadedFile {
    let path = included.host;
    let read = if let Some((_, text)) = included.stock {
        Ok(SourceFile::new(&path, text.as_bytes().to_vec()))
    } else if path == Path::new(DEV_NULL) {
        Ok(SourceFile::new(&path, Vec::new()))
    } else {
        // Read where the link leads inside the mirror; named as included.
        SourceFile::read_until(sysroot, &path, Until::Nul)
    };
    let config = match read {
        Ok(source) => reader(&source),
        Err(error) => Err(Diagnostic::error(format!(
            "cannot read included file {}: {error}",
            path.display()
        ))
        .at(&from.source, directive.span(), "included here")),
    };
    // How it was read is said at the `include` that names it.
    let mut notes = Vec::new();
    if let Some((origin, _)) = included.stock {
        let missing = if sysroot.is_mirror() {
            format!(
                "{} is not in the mirror of the server",
                sysroot.server(&path).display()
            )
        } else {
            format!("{} is not on this machine", path.display())
        };
        notes.push(
            Diagnostic::error(format!("{missing}; mgdeploy read {}", origin.describe()))
                .with_severity(Severity::Info)
                .at(&from.source, directive.span(), "nginx's stock file"),
        );
    }
    LoadedFile {
        path: path.to_path_buf(),
        config,
        includes: Vec::new(),
        include_errors: notes,
        stock: included.stock.map(|(origin, _)| origin),
    }
}

/// Every `include` directive of a file, in file order, at any depth.
pub fn include_directives(config: &Config) -> Vec<&Directive> {
    let mut out = Vec::new();
    let mut stack: Vec<std::slice::Iter<'_, Node>> = vec![config.children.iter()];
    while let Some(iter) = stack.last_mut() {
        let Some(node) = iter.next() else {
            stack.pop();
            continue;
        };
        if let Node::Directive(d) = node {
            if config.bytes(d.name.span) == b"include" {
                out.push(d);
            }
            if let Some(block) = d.block() {
                stack.push(block.children.iter());
            }
        }
    }
    out
}

/// The files an `include` names, in nginx's order.
pub fn resolve(
    config: &Config,
    directive: &Directive,
    prefix: &Path,
    sysroot: &Sysroot,
) -> Result<Vec<Included>, Diagnostic> {
    let source = &config.source;
    let [arg] = directive.args.as_slice() else {
        return Err(Diagnostic::error(format!(
            "`include` takes exactly one file name, found {}",
            directive.args.len()
        ))
        .at(source, directive.span(), "here"));
    };
    let bytes = config.value_bytes(arg);
    let pattern = Path::new(std::ffi::OsStr::from_bytes(&bytes));
    let server = if pattern.is_absolute() {
        pattern.to_path_buf()
    } else {
        prefix.join(pattern)
    };
    let full = sysroot.host(&server);
    if !super::glob::is_pattern(&bytes) {
        if server == Path::new(DEV_NULL) {
            return Ok(vec![Included {
                host: server,
                stock: None,
            }]);
        }
        return match sysroot.metadata(&full) {
            Ok(metadata) if metadata.is_file() => Ok(vec![Included {
                host: full,
                stock: None,
            }]),
            // Said as the server's path: what nginx there looks for, not
            // where a mirror is on the reviewing machine.
            Ok(_) => Err(Diagnostic::error(format!(
                "included file {} is not a regular file",
                server.display()
            ))
            .at(
                source,
                arg.span,
                "nginx cannot read this as a configuration file",
            )),
            Err(_) => match stock::lookup(&server, prefix) {
                Some(found) => Ok(vec![Included {
                    host: full,
                    stock: Some(found),
                }]),
                None => {
                    let twin = case_twin(&full, &server, prefix, sysroot);
                    let mut missing = Diagnostic::error(format!(
                        "included file {} does not exist",
                        server.display()
                    ))
                    .with_code(MISSING)
                    .with_severity(Severity::Warning)
                    .at(source, arg.span, "this file is missing");
                    missing = match &twin {
                        Some(twin) => missing.with_help(format!(
                            "file names are case-sensitive: did you mean `{twin}`?"
                        )),
                        None if pattern.is_absolute() => missing.with_help("check the path"),
                        None => missing.with_help(format!(
                            "check the path; relative paths start at {}",
                            prefix.display()
                        )),
                    };
                    // The word as written, its last name replaced; only a
                    // word without quotes or escapes is rewritten.
                    let raw = config.raw(arg);
                    // The name comes from a directory listing: written as
                    // an nginx word, or not at all.
                    if let Some(twin) = &twin
                        && raw.as_bytes() == &*bytes
                        && let Ok(fixed) = crate::escape::nginx_word(&format!(
                            "{}{twin}",
                            raw.rfind('/').and_then(|i| raw.get(..=i)).unwrap_or("")
                        ))
                    {
                        missing = missing.with_fix(
                            format!("include `{fixed}`"),
                            source,
                            arg.span,
                            fixed,
                            crate::diagnostic::Applicability::Safe,
                        );
                    }
                    Err(missing)
                }
            },
        };
    }
    // nginx reads every name glob(3) returns; one that is not a regular
    // file stops it, and is reported where it is read.
    Ok(super::glob::expand(&full, sysroot)
        .into_iter()
        .map(|host| Included { host, stock: None })
        .collect())
}

/// A hint for a missing include: a file that differs only in case.
/// The name a missing file was likely meant to have: a file beside it whose
/// name differs only in case, or nginx's stock file of that name.
fn case_twin(full: &Path, server: &Path, prefix: &Path, sysroot: &Sysroot) -> Option<String> {
    let (dir, name) = (full.parent()?, full.file_name()?);
    let wanted = name.to_string_lossy().to_lowercase();
    let on_disk = sysroot.read_dir(dir).ok().and_then(|mut names| {
        names.sort();
        names
            .into_iter()
            .filter_map(|n| n.into_string().ok())
            .find(|n| n.to_lowercase() == wanted)
    });
    on_disk.or_else(|| {
        let lower = server.with_file_name(&wanted);
        stock::lookup(&lower, prefix).map(|_| wanted)
    })
}

/// nginx would include a file inside itself forever; report the `include`
/// that closes each cycle.
fn report_cycles(loaded: &mut Loaded) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let count = loaded.files.len();
    let edges: Vec<Vec<(Span, usize)>> = loaded
        .files
        .iter()
        .map(|file| {
            file.includes
                .iter()
                .flat_map(|(span, targets)| targets.iter().map(move |&t| (*span, t)))
                .collect()
        })
        .collect();
    let mut marks = vec![Mark::New; count];
    let mut found: Vec<(usize, Span, usize)> = Vec::new();
    for root in 0..count {
        if marks[root] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (file, position in its include list).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::Active;
        while let Some(&mut (file, ref mut at)) = stack.last_mut() {
            if let Some(&(span, target)) = edges[file].get(*at) {
                *at += 1;
                match marks[target] {
                    Mark::Active => found.push((file, span, target)),
                    Mark::New => {
                        marks[target] = Mark::Active;
                        stack.push((target, 0));
                    }
                    Mark::Done => {}
                }
            } else {
                marks[file] = Mark::Done;
                stack.pop();
            }
        }
    }
    for (file, span, target) in found {
        let target_path = loaded.files[target].path.display().to_string();
        let entry = &mut loaded.files[file];
        if let Ok(config) = &entry.config {
            let source = Arc::clone(&config.source);
            entry.include_errors.push(
                Diagnostic::error(format!(
                    "include cycle: this includes {target_path}, which includes this file again"
                ))
                .at(&source, span, "cycle closes here")
                .with_help("remove one of the includes; nginx would read these files forever"),
            );
        }
    }
}
