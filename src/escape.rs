//! Writing a value into a file of another syntax: one function per target.
//! Every value mgdeploy writes into nginx, a uWSGI ini, a shell script or a
//! systemd unit goes through one of these, whether or not it was validated
//! before (the command line validates first; this is the second wall).

use std::fmt;

/// A value that the target syntax cannot hold at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unwritable {
    pub value: String,
    pub why: &'static str,
}

impl fmt::Display for Unwritable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} cannot be written there: {}", self.value, self.why)
    }
}

fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

/// Whether `value` reads as itself wherever it is put in an nginx word,
/// bare or quoted: letters, digits and `.:-_[]/@` (no quote, escape,
/// space, `;`, braces or `$`, which would start a variable).
pub fn nginx_literal(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".:-_[]/@".contains(&b))
}

/// An nginx word: bare when nginx reads it back unchanged, else in double
/// quotes with `"` and `\` escaped. Control characters are refused: a
/// newline or tab would end the word where nginx's tokenizer is concerned.
pub fn nginx_word(value: &str) -> Result<String, Unwritable> {
    if has_control(value) {
        return Err(Unwritable {
            value: value.to_string(),
            why: "nginx words cannot hold control characters",
        });
    }
    let bare = !value.is_empty()
        && !value.starts_with(['"', '\''])
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, ';' | '{' | '}' | '"' | '\'' | '\\' | '#'));
    if bare {
        return Ok(value.to_string());
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// What uWSGI 2.0 expands in every option's value, from an ini or the
/// command line alike, running what it names as it starts (possibly as
/// root): `$(NAME)` from the environment, `@(file)` and `@(exec://CMD)`,
/// `%(option)` (`uwsgi_apply_config_pass` in core/utils.c). uWSGI has no
/// way to write them literally, so a value holding one is refused.
const UWSGI_EXPANSIONS: [&str; 3] = ["$(", "@(", "%("];

fn uwsgi_expansion(value: &str) -> Option<Unwritable> {
    UWSGI_EXPANSIONS
        .iter()
        .any(|opener| value.contains(opener))
        .then(|| Unwritable {
            value: value.to_string(),
            why: "uWSGI expands `$(…)`, `@(…)` and `%(…)` in every value, running what they name, and cannot write them literally",
        })
}

/// A uWSGI ini value. uWSGI's reader (core/ini.c) has no quoting: a value
/// runs to the end of its line and loses blanks at both ends, so a line
/// break or surrounding blanks cannot be written. `%` starts a placeholder
/// in the whole file (`%d`, `%n`); `%%` is a literal `%`. What uWSGI
/// expands afterwards is refused (`UWSGI_EXPANSIONS`).
pub fn uwsgi_value(value: &str) -> Result<String, Unwritable> {
    if has_control(value) {
        return Err(Unwritable {
            value: value.to_string(),
            why: "a uWSGI ini value ends at the line break and cannot hold control characters",
        });
    }
    if value.trim() != value {
        return Err(Unwritable {
            value: value.to_string(),
            why: "uWSGI strips blanks around ini values",
        });
    }
    if let Some(refused) = uwsgi_expansion(value) {
        return Err(refused);
    }
    Ok(value.replace('%', "%%"))
}

/// A value on uWSGI's command line (`--ini FILE`, `--logto FILE`): the
/// same expansions apply there; `%` is itself. A file given to `--ini`
/// cannot hold `:` (uWSGI reads `FILE:SECTION`), which `uwsgi_ini_path`
/// checks.
pub fn uwsgi_argument(value: &str) -> Result<&str, Unwritable> {
    if has_control(value) {
        return Err(Unwritable {
            value: value.to_string(),
            why: "a command line word for uWSGI cannot hold control characters",
        });
    }
    match uwsgi_expansion(value) {
        Some(refused) => Err(refused),
        None => Ok(value),
    }
}

/// The file after uWSGI's `--ini`: an argument, without `:`.
pub fn uwsgi_ini_path(value: &str) -> Result<&str, Unwritable> {
    if value.contains(':') {
        return Err(Unwritable {
            value: value.to_string(),
            why: "uWSGI reads `--ini FILE:SECTION`, so an ini's path cannot hold `:`",
        });
    }
    uwsgi_argument(value)
}

/// A word for a POSIX shell: bare when only safe characters, else in single
/// quotes (a `'` inside written as `'\''`).
pub fn shell_word(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=,@%".contains(c));
    if bare {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A word of a systemd command line (`ExecStart=`): bare when systemd reads
/// it back unchanged, else double-quoted with `\` and `"` escaped. `%` and
/// `$` are doubled: systemd expands specifiers and variables there.
pub fn systemd_exec_word(value: &str) -> Result<String, Unwritable> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Unwritable {
            value: value.to_string(),
            why: "a unit's command line cannot hold a line break or another control character",
        });
    }
    let escaped = value.replace('%', "%%").replace('$', "$$");
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=,@%$".contains(c));
    if bare {
        return Ok(escaped);
    }
    Ok(systemd_quoted(&escaped))
}

/// A word of a unit's command line in double quotes, `"` and `\` escaped
/// and a tab written `\t`.
fn systemd_quoted(word: &str) -> String {
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `Environment=`'s value for `name=value`: quoted, with `\` and `"`
/// escaped and `%` doubled (systemd expands specifiers there, not `$`).
pub fn systemd_environment(name: &str, value: &str) -> Result<String, Unwritable> {
    let valid_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(Unwritable {
            value: name.to_string(),
            why: "an environment variable's name is letters, digits and _",
        });
    }
    if has_control(value) {
        return Err(Unwritable {
            value: value.to_string(),
            why: "a unit's Environment= cannot hold control characters",
        });
    }
    let mut out = String::from("\"");
    for c in format!("{name}={value}").chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// A word already in systemd's syntax (from a unit, with its `%i`,
/// `${VAR}` or `$$`), written back so that systemd reads the same word:
/// quoted where a blank, quote or backslash needs it, nothing doubled.
pub fn systemd_word(word: &str) -> Result<String, Unwritable> {
    if word.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Unwritable {
            value: word.to_string(),
            why: "a unit's command line cannot hold a line break or another control character",
        });
    }
    let bare = !word.is_empty()
        && word
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '\\' | ';'));
    if bare {
        return Ok(word.to_string());
    }
    Ok(systemd_quoted(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_words_read_back_as_written() {
        assert_eq!(nginx_word("/mediagoblin/").unwrap(), "/mediagoblin/");
        assert_eq!(nginx_word("").unwrap(), "\"\"");
        assert_eq!(nginx_word("a b").unwrap(), "\"a b\"");
        assert_eq!(nginx_word("x; return 200").unwrap(), "\"x; return 200\"");
        assert_eq!(nginx_word("say \"hi\"").unwrap(), r#""say \"hi\"""#);
        assert!(nginx_word("a\nb").is_err());
        // What nginx reads back is the value.
        for value in ["", "a b", "x;y", "{", "q\"uote", "back\\slash", "#hash"] {
            let written = nginx_word(value).unwrap();
            let source = crate::source::SourceFile::new("t.conf", format!("d {written};\n"));
            let config = crate::nginx::parse(&source).unwrap();
            let directive = config.directives().next().unwrap();
            assert_eq!(config.value(&directive.args[0]), value, "{written}");
        }
    }

    #[test]
    fn uwsgi_values_refuse_what_the_reader_loses() {
        assert_eq!(uwsgi_value("/srv/mg").unwrap(), "/srv/mg");
        assert_eq!(uwsgi_value("100%").unwrap(), "100%%");
        assert!(uwsgi_value("root\nexec-as-root = id").is_err());
        assert!(uwsgi_value(" padded").is_err());
        for expanding in ["/mg@(exec://id)/", "$(HOME)", "%(chdir)", "x%(y"] {
            assert!(uwsgi_value(expanding).is_err(), "{expanding}");
            assert!(uwsgi_argument(expanding).is_err(), "{expanding}");
        }
        assert_eq!(uwsgi_value("a@b (c) $d %e").unwrap(), "a@b (c) $d %%e");
        assert_eq!(uwsgi_argument("/srv/100%").unwrap(), "/srv/100%");
        assert!(uwsgi_ini_path("/srv/a:b/x.ini").is_err());
    }

    #[test]
    fn shell_words_are_single_quoted() {
        assert_eq!(shell_word("/srv/mg/uwsgi.ini"), "/srv/mg/uwsgi.ini");
        assert_eq!(shell_word("$(id)"), "'$(id)'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn systemd_words_escape_specifiers_and_variables() {
        assert_eq!(
            systemd_exec_word("/usr/bin/uwsgi").unwrap(),
            "/usr/bin/uwsgi"
        );
        assert_eq!(systemd_exec_word("100%").unwrap(), "100%%");
        assert_eq!(systemd_exec_word("a b").unwrap(), "\"a b\"");
        assert_eq!(systemd_exec_word("$HOME").unwrap(), "$$HOME");
        assert!(systemd_exec_word("a\nb").is_err());
        for word in ["/srv/mg/uwsgi.ini", "a b", "with\"quote", "back\\slash", ""] {
            let written = systemd_exec_word(word).unwrap();
            assert_eq!(
                crate::service::systemd::split_words(&written),
                [word],
                "{written}"
            );
        }
    }
}
