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

/// A uWSGI ini value. uWSGI's reader (core/ini.c) has no quoting: a value
/// runs to the end of its line and loses blanks at both ends, so a line
/// break or surrounding blanks cannot be written. `%` starts a placeholder
/// there (`%d`, `%(name)`); `%%` is a literal `%`.
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
    Ok(value.replace('%', "%%"))
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
    if value.contains('\n') {
        return Err(Unwritable {
            value: value.to_string(),
            why: "a unit's command line cannot hold a line break",
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
    let mut out = String::from("\"");
    for c in escaped.chars() {
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
    Ok(out)
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
