//! What a migration says besides its diff: what changed, what was dropped
//! and why, what to watch out for, and what the admin must still do.

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

    fn of<'a>(
        &'a self,
        pick: impl Fn(&'a Note) -> Option<String> + 'a,
    ) -> impl Iterator<Item = String> + 'a {
        self.0.iter().filter_map(pick)
    }

    /// The summary as plain text (or Markdown: the same lists render there).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let mut section = |title: &str, items: Vec<String>| {
            if items.is_empty() {
                return;
            }
            out.push_str(title);
            out.push('\n');
            for item in items {
                out.push_str("  - ");
                out.push_str(&item.replace('\n', "\n    "));
                out.push('\n');
            }
        };
        section(
            "Changed:",
            self.of(|n| match n {
                Note::Changed { text } => Some(text.clone()),
                _ => None,
            })
            .collect(),
        );
        section(
            "Dropped:",
            self.of(|n| match n {
                Note::Dropped { what, why } => Some(format!("{what}: {why}")),
                _ => None,
            })
            .collect(),
        );
        section(
            "Warnings:",
            self.of(|n| match n {
                Note::Warning { text } => Some(text.clone()),
                _ => None,
            })
            .collect(),
        );
        let steps: Vec<String> = self
            .of(|n| match n {
                Note::NextStep { text } => Some(text.clone()),
                _ => None,
            })
            .enumerate()
            .map(|(i, step)| format!("{}. {step}", i + 1))
            .collect();
        if !steps.is_empty() {
            out.push_str("Next steps, once it is applied:\n");
            for step in steps {
                out.push_str("  ");
                out.push_str(&step.replace('\n', "\n     "));
                out.push('\n');
            }
        }
        out
    }
}
