//! Turning diagnostics into what people and machines read.

pub mod diff;
pub mod text;
