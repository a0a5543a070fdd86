//! Turning diagnostics into what people and machines read.

pub mod text;
