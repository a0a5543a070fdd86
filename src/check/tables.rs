//! The name tables rules compare against: nginx directives and uWSGI
//! options (`tables/*.txt`, one name a line, `#` comments).

use crate::names::NameSet;
use std::sync::OnceLock;

fn names(text: &'static str) -> NameSet {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

pub fn nginx_directives() -> &'static NameSet {
    static TABLE: OnceLock<NameSet> = OnceLock::new();
    TABLE.get_or_init(|| names(include_str!("tables/nginx_directives.txt")))
}

pub fn uwsgi_options() -> &'static NameSet {
    static TABLE: OnceLock<NameSet> = OnceLock::new();
    TABLE.get_or_init(|| names(include_str!("tables/uwsgi_options.txt")))
}

/// Edit distance (insertions, deletions, substitutions), for did-you-mean.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let deletion = previous.get(j + 1).copied().unwrap_or(0) + 1;
            let insertion = current.get(j).copied().unwrap_or(0) + 1;
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

/// The known name `name` most likely meant: the same letters in another
/// case, else the nearest within two edits (for names long enough that two
/// edits are a typo, not another word).
pub fn did_you_mean(name: &str, known: &NameSet) -> Option<&'static str> {
    if let Some(same) = known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    let length = name.chars().count();
    if length < 6 {
        return None;
    }
    let mut best: Option<(usize, &'static str)> = None;
    for candidate in known {
        // Two edits change the length by two at most: the rest need no
        // distance computed (an unknown module's directives are many).
        if candidate.chars().count().abs_diff(length) > 2 {
            continue;
        }
        let d = distance(name, candidate);
        if d <= 2 && best.is_none_or(|(bd, bc)| d < bd || (d == bd && *candidate < bc)) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_hold_what_mediagoblin_uses() {
        for name in [
            "uwsgi_pass",
            "fastcgi_pass",
            "uwsgi_modifier1",
            "client_max_body_size",
            "content_by_lua_block",
            "js_import",
        ] {
            assert!(nginx_directives().contains(name), "{name}");
        }
        for name in [
            "socket",
            "plugins",
            "mount",
            "manage-script-name",
            "route-run",
            "paste-logger",
            "need-app",
            "strict",
        ] {
            assert!(uwsgi_options().contains(name), "{name}");
        }
    }

    #[test]
    fn did_you_mean_prefers_case_then_typos() {
        let known = nginx_directives();
        assert_eq!(did_you_mean("uWSGI_pass", known), Some("uwsgi_pass"));
        assert_eq!(did_you_mean("uwsgi_pas", known), Some("uwsgi_pass"));
        assert_eq!(did_you_mean("completely_unknown_thing", known), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
