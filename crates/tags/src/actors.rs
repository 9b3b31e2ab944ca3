//! GraphSense actor packs (`*.actorpack.yaml`): the actors (groups, services) that tags and
//! incidents name, with their ids, labels and categories. An incident's actor is matched
//! against a pack by id or label, so that "Lazarus Group" and "lazarusgroup" are one actor.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TagError;
use crate::yaml::{self, View};

/// One actor of a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Its id in the pack (`lazarusgroup`).
    pub id: String,
    /// Its label (`Lazarus Group`).
    pub label: String,
    /// Its categories (concepts of the taxonomy: `sanction`, `service_hack`, …).
    pub categories: Vec<String>,
    /// Its reference, if the pack gives one.
    pub uri: Option<String>,
}

/// The actors of a pack.
#[derive(Debug, Clone, Default)]
pub struct ActorPack {
    actors: Vec<Actor>,
}

impl ActorPack {
    /// Reads an actor pack.
    ///
    /// # Errors
    /// I/O errors, and [`TagError::Syntax`] / [`TagError::Invalid`] naming the line.
    pub fn load(path: &Path) -> Result<ActorPack, TagError> {
        let text = std::fs::read_to_string(path).map_err(|e| TagError::io(path, e))?;
        let docs = yaml::load(&text).map_err(|e| TagError::Syntax {
            path: path.to_owned(),
            line: e.line,
            message: e.message,
        })?;
        let invalid =
            |line: u64, message: &str| TagError::Invalid { path: path.to_owned(), line, message: message.into() };
        let Some(View::Map(root)) = docs.first().map(yaml::view) else {
            return Err(invalid(1, "an actor pack is a mapping with an `actors` list"));
        };
        let Some((_, list)) = root.iter().find(|(k, _)| yaml::key_text(k) == Some("actors")) else {
            return Err(invalid(1, "no `actors` list"));
        };
        let View::Seq(items) = yaml::view(list) else {
            return Err(invalid(yaml::line(list), "`actors` is not a list"));
        };
        let mut actors = Vec::with_capacity(items.len());
        for item in items {
            let View::Map(fields) = yaml::view(item) else {
                return Err(invalid(yaml::line(item), "an actor is a mapping"));
            };
            let text = |name: &str| {
                fields.iter().find(|(k, _)| yaml::key_text(k) == Some(name)).and_then(|(_, v)| match yaml::view(v) {
                    View::Text { text, .. } => Some(text.to_owned()),
                    _ => None,
                })
            };
            let (Some(id), Some(label)) = (text("id"), text("label")) else {
                return Err(invalid(yaml::line(item), "an actor needs an `id` and a `label`"));
            };
            let categories = fields
                .iter()
                .find(|(k, _)| yaml::key_text(k) == Some("categories"))
                .map(|(_, v)| match yaml::view(v) {
                    View::Seq(s) => s
                        .iter()
                        .filter_map(|c| match yaml::view(c) {
                            View::Text { text, .. } => Some(text.to_owned()),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                })
                .unwrap_or_default();
            actors.push(Actor { id, label, categories, uri: text("uri") });
        }
        Ok(ActorPack { actors })
    }

    /// The actor whose id or label is `name` (ignoring case, spaces and punctuation).
    pub fn find(&self, name: &str) -> Option<&Actor> {
        let norm = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
        let want = norm(name);
        self.actors.iter().find(|a| norm(&a.id) == want || norm(&a.label) == want)
    }

    /// Actors in the pack.
    pub fn len(&self) -> usize {
        self.actors.len()
    }

    /// Whether the pack is empty.
    pub fn is_empty(&self) -> bool {
        self.actors.is_empty()
    }
}
