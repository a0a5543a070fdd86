//! Any bytes as a systemd unit, an init script and a supervisor program
//! that starts FastCGI: no panic reading them, and a rewrite to uWSGI,
//! when there is one, leaves edits that apply to the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mgdeploy::migrate::notes::Notes;
use mgdeploy::migrate::service::{script, unit};
use mgdeploy::plan::apply_edits;
use mgdeploy::service::{Manager, Role, Service, systemd};
use mgdeploy::source::{SourceFile, Span};

fn service(source: &std::sync::Arc<SourceFile>, manager: Manager) -> Service {
    Service {
        path: source.path().to_path_buf(),
        manager,
        role: Role::FastCgi,
        source: source.clone(),
        command: systemd::split_words(&String::from_utf8_lossy(source.bytes())),
        command_span: Span::new(0, source.bytes().len()),
        environment: Vec::new(),
        user: None,
        group: None,
        unit: systemd::parse(source).ok(),
        drop_ins: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let source = SourceFile::new("/etc/systemd/system/x.service", data.to_vec());
    let mut notes = Notes::default();
    let _ = systemd::environment_file(&String::from_utf8_lossy(data));
    if let Ok(parsed) = systemd::parse(&source) {
        let _ = parsed.environment();
        if let Ok(rewrite) = unit::rewrite(
            &service(&source, Manager::Systemd),
            "/usr/bin/uwsgi",
            "/x.ini",
            false,
            &mut notes,
        ) {
            for file in rewrite.files {
                apply_edits(&file.original, &file.edits).expect("the unit's edits apply");
            }
        }
    }
    let script_source = SourceFile::new("/etc/init.d/x", data.to_vec());
    if let Ok(edits) = script::init_script(
        &service(&script_source, Manager::SysV),
        "/usr/bin/uwsgi",
        "/x.ini",
        &mut notes,
    ) {
        apply_edits(data, &edits).expect("the script's edits apply");
    }
    let program = service(&source, Manager::Supervisor);
    if let Ok(edits) = script::supervisor(&program, "/usr/bin/uwsgi", "/x.ini", &mut notes) {
        apply_edits(data, &edits).expect("the program's edits apply");
    }
});
