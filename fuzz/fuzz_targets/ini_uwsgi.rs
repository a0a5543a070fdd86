//! Any bytes through the uWSGI ini reader: no panic, spans inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mgdeploy::ini::uwsgi;
use mgdeploy::source::SourceFile;

fuzz_target!(|data: &[u8]| {
    let source = SourceFile::new("uwsgi.ini", data.to_vec());
    match uwsgi::read(&source) {
        Ok(document) => {
            for entry in document.sections.iter().flat_map(|s| &s.entries) {
                assert!(entry.span().end <= data.len());
                let _ = source.text(entry.value_span());
            }
        }
        Err(error) => {
            mgdeploy::report::text::render(&[error], false);
        }
    }
});
