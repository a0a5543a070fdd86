//! Turning diagnostics into what people and machines read.

pub mod diff;
pub mod fingerprint;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod notes;
pub mod paths;
pub mod plan;
pub mod rdjsonl;
pub mod rules;
pub mod sarif;
pub mod text;
pub mod visible;
