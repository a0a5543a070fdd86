//! A FastCGI location's own directives, moved to uWSGI: `fastcgi_pass`
//! and every `fastcgi_*` with a twin renamed (the directive table says
//! which), the others removed with their reason, MediaGoblin's
//! SCRIPT_NAME/PATH_INFO workaround removed (or kept as the SCRIPT_NAME a
//! location at `/` sends) with the comment that explained it, the params
//! include switched to uwsgi_params, and `$fastcgi_*` variables written as
//! what they held.

use std::path::Path;

use super::cache::CacheZone;
use super::{Found, Options, Rewrite, SCRIPT_NAME_COMMENT, rename_to_twin, text, twin_name, word};
use crate::deploy::Nginx;
use crate::deploy::locations::PassLocation;
use crate::diagnostic::Diagnostic;
use crate::lines::{line_start, removal, reword_comment_above};
use crate::migrate::options::ScriptName;
use crate::nginx::syntax::{Directive, walk};
use crate::plan::Edit;
use crate::protocol::directives::{Fate, PARAMS_FILES, UWSGI_PARAMS, fate};
use crate::protocol::{Address, Protocol};

/// The FastCGI directives of one location, renamed or removed; then what
/// the levels above set for it.
pub(super) fn rewrite(
    nginx: &Nginx,
    location: &PassLocation<'_>,
    options: &Options<'_>,
    out: &mut Rewrite,
    cache_zones: &mut Vec<CacheZone>,
) -> Result<Found, Diagnostic> {
    let mut directives: Vec<&Directive> = Vec::new();
    walk(location.location.children(), |d, _| directives.push(d));
    let mut rewrite = FastCgiRewrite {
        nginx,
        location,
        options,
        out,
        cache_zones,
        found: Found::default(),
        first_workaround: None,
        has_split: directives
            .iter()
            .any(|d| location.config.name_of(d) == b"fastcgi_split_path_info"),
    };
    for d in directives {
        rewrite.directive(d)?;
    }
    rewrite.workaround_comment();
    let own_params = location
        .levels(&nginx.loaded)
        .first()
        .is_some_and(|level| level.sets(b"fastcgi_param"));
    super::inherit::from_above(
        nginx,
        location,
        Protocol::FastCgi,
        own_params,
        rewrite.out,
        rewrite.cache_zones,
    )?;
    Ok(rewrite.found)
}

/// One location's rewrite in progress.
struct FastCgiRewrite<'r, 'n> {
    nginx: &'n Nginx,
    location: &'r PassLocation<'n>,
    options: &'r Options<'r>,
    out: &'r mut Rewrite,
    cache_zones: &'r mut Vec<CacheZone>,
    found: Found,
    /// Start of the first line of MediaGoblin's SCRIPT_NAME/PATH_INFO
    /// workaround (removed or kept), where its comment ends.
    first_workaround: Option<usize>,
    /// The location splits the path itself (`fastcgi_split_path_info`):
    /// its SCRIPT_NAME and PATH_INFO params belong to that.
    has_split: bool,
}

impl FastCgiRewrite<'_, '_> {
    fn directive(&mut self, d: &Directive) -> Result<(), Diagnostic> {
        let config = self.location.config;
        let name = String::from_utf8_lossy(config.name_of(d)).into_owned();
        match name.as_str() {
            "fastcgi_pass" => self.pass(d),
            "fastcgi_param" => {
                self.param(d);
                Ok(())
            }
            "include" => {
                self.include(d);
                Ok(())
            }
            other if other.starts_with("fastcgi_") => self.other(d, other),
            _ => {
                self.variables(d);
                Ok(())
            }
        }
    }

    fn place(&self, d: &Directive) -> String {
        self.location.config.source.location(d.name.span.start)
    }

    fn edit(&mut self, edit: Edit) {
        self.out.edits.push((self.location.file, edit));
    }

    fn remove(&mut self, d: &Directive) {
        let bytes = self.location.config.source.bytes();
        self.found.removals.push(removal(bytes, d.span()));
    }

    fn rename(&mut self, d: &Directive) {
        if let Some(edit) = twin_name(self.location.config, d, Protocol::FastCgi) {
            self.edit(edit);
        }
    }

    /// `fastcgi_pass` → `uwsgi_pass`, on `--socket`'s address when given.
    fn pass(&mut self, d: &Directive) -> Result<(), Diagnostic> {
        let config = self.location.config;
        self.rename(d);
        if let (Some(socket), Some(arg)) = (self.options.socket, d.args.first())
            && Address::parse_nginx(&config.value(arg)) != *socket
        {
            self.edit(Edit::replace(arg.span, word(&socket.to_nginx())?));
        }
        if d.span() == self.location.pass.span() {
            self.found.pass_end = Some(d.span().end);
        }
        let address = match self.options.socket {
            Some(socket) => socket.to_nginx(),
            None => self.location.address_text.clone(),
        };
        let place = self.place(d);
        self.out.notes.changed(format!(
            "{place}: `{}` → `uwsgi_pass {address};`",
            text(config, d)
        ));
        Ok(())
    }

    /// A `fastcgi_param`: MediaGoblin's workaround goes (at `/`, its empty
    /// SCRIPT_NAME stays as the one the location sends); any other becomes
    /// a `uwsgi_param`.
    fn param(&mut self, d: &Directive) {
        let config = self.location.config;
        let args: Vec<String> = d.args.iter().map(|a| config.value(a)).collect();
        let param = args.first().map(String::as_str).unwrap_or_default();
        let value = args.get(1).map(String::as_str).unwrap_or_default();
        let path_workaround = param == "PATH_INFO" && value == "$fastcgi_script_name";
        let empty_script_name = param == "SCRIPT_NAME" && value.is_empty();
        let subpath = self.has_split && matches!(param, "PATH_INFO" | "SCRIPT_NAME");
        let at_root = self.options.mount.is_root();
        let place = self.place(d);
        if !(path_workaround || empty_script_name || subpath) {
            self.rename(d);
            self.variables(d);
            // The location sends SCRIPT_NAME itself.
            self.found.kept_script_name |= param == "SCRIPT_NAME";
            return;
        }
        let bytes = config.source.bytes();
        self.first_workaround
            .get_or_insert(line_start(bytes, d.span().start));
        if empty_script_name && !subpath && at_root && !self.found.kept_script_name {
            self.rename(d);
            self.found.kept_script_name = true;
            self.out.notes.changed(format!(
                "{place}: `{}` → `uwsgi_param SCRIPT_NAME \"\";`: MediaGoblin reads SCRIPT_NAME, which uwsgi_params does not send",
                text(config, d)
            ));
            return;
        }
        self.remove(d);
        let why = if self.found.kept_script_name && empty_script_name && at_root {
            "the same SCRIPT_NAME is sent above already".to_string()
        } else if param == "PATH_INFO" && !subpath {
            "MediaGoblin's FastCGI workaround; uwsgi_params already sends PATH_INFO as $document_uri".to_string()
        } else if self.options.script_name == ScriptName::Mount && !at_root {
            format!(
                "uWSGI's mount sets SCRIPT_NAME to {} and takes it off PATH_INFO",
                self.options.mount
            )
        } else if at_root {
            "at / the location sends SCRIPT_NAME \"\" instead".to_string()
        } else {
            format!(
                "nginx sends SCRIPT_NAME {} instead (below)",
                self.options.mount
            )
        };
        self.out
            .notes
            .dropped(format!("{place}: `{}`", text(config, d)), why);
    }

    /// `include fastcgi_params;` (or fastcgi.conf) → `include uwsgi_params;`
    /// in the same directory.
    fn include(&mut self, d: &Directive) {
        let config = self.location.config;
        let Some(arg) = d.args.first() else { return };
        let value = config.value(arg);
        let Some(params) = PARAMS_FILES
            .iter()
            .find(|p| value == **p || value.ends_with(&format!("/{p}")))
        else {
            return;
        };
        let raw = config.raw(arg).into_owned();
        let Some(at) = raw.rfind(params) else {
            return;
        };
        let replaced = format!(
            "{}{UWSGI_PARAMS}{}",
            raw.get(..at).unwrap_or_default(),
            raw.get(at + params.len()..).unwrap_or_default()
        );
        self.edit(Edit::replace(arg.span, replaced.clone()));
        self.found.include_end = Some(d.span().end);
        let place = self.place(d);
        self.out
            .notes
            .changed(format!("{place}: `include {raw};` → `include {replaced};`"));
        let new_value = format!(
            "{}{UWSGI_PARAMS}",
            value.strip_suffix(params).unwrap_or_default()
        );
        let resolved = if Path::new(&new_value).is_absolute() {
            Path::new(&new_value).to_path_buf()
        } else {
            self.nginx.prefix.join(&new_value)
        };
        // A mirror need not hold nginx's stock files: the server's nginx
        // package has them.
        let sysroot = self.options.sysroot;
        if !sysroot.is_mirror() && !sysroot.is_file(&resolved) {
            self.out.notes.warning(format!(
                "{} does not exist here; nginx needs it (Debian's nginx-common ships it)",
                resolved.display()
            ));
        }
    }

    /// Any other `fastcgi_*`: renamed to its twin, or removed with the
    /// table's reason.
    fn other(&mut self, d: &Directive, name: &str) -> Result<(), Diagnostic> {
        let config = self.location.config;
        let place = self.place(d);
        match fate(Protocol::FastCgi, name) {
            Some(Fate::Rename(_)) => rename_to_twin(
                config,
                d,
                Protocol::FastCgi,
                self.location.file,
                self.out,
                self.cache_zones,
            )?,
            Some(Fate::Drop(why)) => {
                self.remove(d);
                self.out
                    .notes
                    .dropped(format!("{place}: `{}`", text(config, d)), why);
            }
            None => self.out.notes.warning(format!(
                "{place}: `{}` is not a directive nginx knows; it was left as it is",
                text(config, d)
            )),
        }
        Ok(())
    }

    /// The arguments of `d` that use a FastCGI variable, written as what it
    /// held, with a warning.
    fn variables(&mut self, d: &Directive) {
        let config = self.location.config;
        for arg in &d.args {
            if let Some(replaced) = crate::protocol::fastcgi::without_variables(&config.raw(arg)) {
                self.edit(Edit::replace(arg.span, replaced));
                let place = self.place(d);
                self.out.notes.warning(format!(
                    "{place}: `{}` used a FastCGI variable; it now uses $uri, which is what the variable held here",
                    text(config, d)
                ));
            }
        }
    }

    /// The comment that explained the workaround goes with it, or, when
    /// SCRIPT_NAME stays, its first line says why instead.
    fn workaround_comment(&mut self) {
        let Some(start) = self.first_workaround else {
            return;
        };
        let bytes = self.location.config.source.bytes();
        let (reword, removals) = reword_comment_above(
            bytes,
            start,
            |line| line.contains("script_name") || line.contains("path_info"),
            self.found.kept_script_name.then_some(SCRIPT_NAME_COMMENT),
        );
        if let Some(edit) = reword {
            self.edit(edit);
        }
        self.found.removals.extend(removals);
    }
}
