//! Every integration test, in one binary: the crate and its dependencies
//! are linked once, not once per file (minutes on two cores). Each module
//! is one area; `common` is what they share (the binary, the corpus,
//! servers that are stopped also on failure).

mod common;

mod agreement;
mod ansible;
mod apply;
mod boot;
mod check_rules;
mod cli;
mod code_review;
mod crossplane_diff;
mod docs;
mod fixtures;
mod hardening;
mod ini_corpus;
mod malformed;
mod migrate_cli;
mod migrate_properties;
mod nginx_corpus;
mod nginx_properties;
mod real_mediagoblin;
mod real_mediagoblin_http;
mod servers;
mod trust;
mod tuning;
