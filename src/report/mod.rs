//! Turning diagnostics into what people and machines read.

pub mod diff;
pub mod github;
pub mod json;
pub mod paths;
pub mod sarif;
pub mod text;
