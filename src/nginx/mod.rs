//! nginx configuration: the grammar and its fast twin the lexer, the lossless
//! tree, include resolution and the crossplane-compatible JSON view.

pub mod analyze;
pub mod binary;
pub mod confine;
pub mod crossplane;
pub mod glob;
pub mod grammar;
pub mod include;
pub mod lexer;
pub mod parser;
pub mod semantics;
pub mod stock;
pub mod syntax;
pub mod token;
pub mod vocabulary;

pub use parser::{parse, parse_with_grammar};
pub use syntax::{Block, Comment, Config, Directive, Node, Quote, Terminator, Word};
