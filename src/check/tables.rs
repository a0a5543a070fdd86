//! The uWSGI options rules compare against (`tables/uwsgi_options.txt`,
//! one name a line, `#` comments; nginx's directives are
//! `nginx::vocabulary`'s), and the nearest-name suggestion.

use crate::names::NameSet;
use std::sync::OnceLock;

fn names(text: &'static str) -> NameSet {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

pub fn uwsgi_options() -> &'static NameSet {
    static TABLE: OnceLock<NameSet> = OnceLock::new();
    TABLE.get_or_init(|| names(include_str!("tables/uwsgi_options.txt")))
}

/// The edit distance between `a` and `b` when it is at most `MAX_EDITS`:
/// a band of the Levenshtein table around its diagonal, in two rows that
/// are reused, stopping as soon as every cell of a row is past the bound.
/// (`did_you_mean` runs it on a few hundred names for each unknown
/// directive, and a fleet's file can hold tens of thousands.)
pub fn distance_within<T: PartialEq>(a: &[T], b: &[T]) -> Option<usize> {
    const BAND: usize = 2 * MAX_EDITS + 1;
    const FAR: usize = MAX_EDITS + 1;
    if a.len().abs_diff(b.len()) > MAX_EDITS {
        return None;
    }
    // Row i holds the cells j = i - MAX_EDITS ..= i + MAX_EDITS, at
    // index j + MAX_EDITS - i; cells outside the table are FAR.
    let mut previous = [FAR; BAND];
    for (k, cell) in previous.iter_mut().enumerate() {
        if let Some(j) = (k).checked_sub(MAX_EDITS) {
            *cell = if j <= b.len() { j } else { FAR };
        }
    }
    for (i, ca) in a.iter().enumerate() {
        let i = i + 1;
        let mut current = [FAR; BAND];
        for k in 0..BAND {
            let Some(j) = (i + k).checked_sub(MAX_EDITS) else {
                continue;
            };
            if j > b.len() {
                continue;
            }
            current[k] = if j == 0 {
                i
            } else {
                let same = b.get(j - 1) == Some(ca);
                // Diagonal (i-1, j-1), above (i-1, j), left (i, j-1).
                let diagonal = previous[k] + usize::from(!same);
                let above = previous.get(k + 1).copied().unwrap_or(FAR) + 1;
                let left = k.checked_sub(1).map_or(FAR, |l| current[l] + 1);
                diagonal.min(above).min(left).min(FAR)
            };
        }
        if current.iter().all(|c| *c > MAX_EDITS) {
            return None;
        }
        previous = current;
    }
    let k = b.len() + MAX_EDITS - a.len();
    previous.get(k).copied().filter(|d| *d <= MAX_EDITS)
}

/// Edits that are a typo; more is another word.
const MAX_EDITS: usize = 2;

/// The known name `name` most likely meant: the same letters in another
/// case, else the nearest within two edits (for names long enough that two
/// edits are a typo, not another word).
pub fn did_you_mean(name: &str, known: &NameSet) -> Option<&'static str> {
    if let Some(same) = known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    if name.chars().count() < 6 {
        return None;
    }
    // Names are ASCII (nginx's and uWSGI's): compared as bytes, without a
    // copy; any other as characters.
    let ascii = name.is_ascii();
    let name_chars: Vec<char> = if ascii {
        Vec::new()
    } else {
        name.chars().collect()
    };
    let mut candidate_chars: Vec<char> = Vec::new();
    let mut best: Option<(usize, &'static str)> = None;
    for candidate in known {
        let d = if ascii {
            distance_within(name.as_bytes(), candidate.as_bytes())
        } else {
            candidate_chars.clear();
            candidate_chars.extend(candidate.chars());
            distance_within(&name_chars, &candidate_chars)
        };
        let Some(d) = d else {
            continue;
        };
        if best.is_none_or(|(bd, bc)| d < bd || (d == bd && *candidate < bc)) {
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
            assert!(crate::nginx::vocabulary::known().contains(name), "{name}");
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

    /// The whole Levenshtein table, to hold the banded one to.
    fn reference(a: &[char], b: &[char]) -> usize {
        let mut previous: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut current = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let cost = previous[j] + usize::from(ca != cb);
                current.push(cost.min(previous[j + 1] + 1).min(current[j] + 1));
            }
            previous = current;
        }
        previous[b.len()]
    }

    #[test]
    fn the_band_agrees_with_the_whole_table() {
        // Every pair of words over a small alphabet, up to five letters.
        let mut words: Vec<Vec<char>> = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<char>> = words
                .iter()
                .flat_map(|w| ['a', 'b', 'c'].map(|c| [w.clone(), vec![c]].concat()))
                .collect();
            words.extend(longer);
            words.sort();
            words.dedup();
        }
        for a in &words {
            for b in &words {
                let full = reference(a, b);
                let band = distance_within(a, b);
                assert_eq!(band, (full <= MAX_EDITS).then_some(full), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn did_you_mean_prefers_case_then_typos() {
        let known = crate::nginx::vocabulary::known();
        assert_eq!(did_you_mean("uWSGI_pass", known), Some("uwsgi_pass"));
        assert_eq!(did_you_mean("uwsgi_pas", known), Some("uwsgi_pass"));
        assert_eq!(did_you_mean("completely_unknown_thing", known), None);
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(distance_within(&chars("kitten"), &chars("sitting")), None);
        assert_eq!(
            distance_within(&chars("kitten"), &chars("kittens")),
            Some(1)
        );
        assert_eq!(
            distance_within(&chars("uwsgi_pas"), &chars("uwsgi_pass")),
            Some(1)
        );
        assert_eq!(distance_within(&chars("abcdef"), &chars("abcdef")), Some(0));
        assert_eq!(distance_within(&chars("abcdef"), &chars("badcfe")), None);
    }
}
