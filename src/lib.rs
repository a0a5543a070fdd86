//! mgdeploy: move a GNU MediaGoblin site from FastCGI to uWSGI behind nginx,
//! and keep the deployment honest afterwards.

// A `Diagnostic` carries spans, notes and help by design, and it only
// travels on the error path, where its size costs nothing measurable.
#![allow(clippy::result_large_err)]
#![forbid(unsafe_code)]

pub mod ansible;
pub mod apply;
pub mod check;
pub mod checksum;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod diagnostic;
pub mod escape;
pub mod gitindex;
pub mod ini;
pub mod lines;
pub mod migrate;
pub mod names;
pub mod nginx;
pub mod plan;
pub mod prompt;
pub mod protocol;
pub mod report;
pub mod service;
pub mod source;
pub mod sysroot;
