//! What a migration says besides its diff: what changed, what was dropped
//! and why, what to watch out for, and what the admin must still do.
//! `report::notes` renders them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Note {
    Changed { text: String },
    Dropped { what: String, why: String },
    Warning { text: String },
    NextStep { text: String },
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Notes(pub Vec<Note>);

impl Notes {
    pub fn changed(&mut self, text: impl Into<String>) {
        self.0.push(Note::Changed { text: text.into() });
    }

    pub fn dropped(&mut self, what: impl Into<String>, why: impl Into<String>) {
        self.0.push(Note::Dropped {
            what: what.into(),
            why: why.into(),
        });
    }

    pub fn warning(&mut self, text: impl Into<String>) {
        let note = Note::Warning { text: text.into() };
        if !self.0.contains(&note) {
            self.0.push(note);
        }
    }

    pub fn next_step(&mut self, text: impl Into<String>) {
        self.0.push(Note::NextStep { text: text.into() });
    }

    pub fn extend(&mut self, other: Notes) {
        self.0.extend(other.0);
    }

    /// The same notes with `f` applied to every text (to show paths as a
    /// reviewer's tools do).
    pub fn map_text(&self, f: &dyn Fn(&str) -> String) -> Notes {
        Notes(
            self.0
                .iter()
                .map(|note| match note {
                    Note::Changed { text } => Note::Changed { text: f(text) },
                    Note::Dropped { what, why } => Note::Dropped {
                        what: f(what),
                        why: f(why),
                    },
                    Note::Warning { text } => Note::Warning { text: f(text) },
                    Note::NextStep { text } => Note::NextStep { text: f(text) },
                })
                .collect(),
        )
    }

    pub fn changes(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|n| match n {
            Note::Changed { text } => Some(text.as_str()),
            _ => None,
        })
    }

    /// What was dropped and why.
    pub fn drops(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|n| match n {
            Note::Dropped { what, why } => Some((what.as_str(), why.as_str())),
            _ => None,
        })
    }

    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|n| match n {
            Note::Warning { text } => Some(text.as_str()),
            _ => None,
        })
    }

    pub fn next_steps(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|n| match n {
            Note::NextStep { text } => Some(text.as_str()),
            _ => None,
        })
    }
}
