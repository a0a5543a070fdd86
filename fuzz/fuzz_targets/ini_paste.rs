//! Any bytes through the paste.ini reader and its interpolation: no panic,
//! and every error renders.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mgdeploy::ini::paste;
use mgdeploy::source::SourceFile;

fuzz_target!(|data: &[u8]| {
    let source = SourceFile::new("/srv/mg/paste.ini", data.to_vec());
    match paste::read(&source) {
        Ok(document) => {
            let resolver = document.resolver(Path::new("/srv/mg/paste.ini"));
            let names = std::iter::once("DEFAULT".to_string())
                .chain(document.sections.iter().map(|s| s.name.clone()));
            for section in names {
                for key in resolver.keys(&section) {
                    if let Err(error) = resolver.value(&section, &key) {
                        mgdeploy::report::text::render(&[error], false);
                    }
                }
            }
        }
        Err(error) => {
            mgdeploy::report::text::render(&[error], false);
        }
    }
});
