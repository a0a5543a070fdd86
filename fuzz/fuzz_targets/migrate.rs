//! Any bytes as the body of MediaGoblin's location, behind `proxy_pass` or
//! `fastcgi_pass` (the first byte chooses), and after a 0xFF byte as the
//! server block's own lines: discovery and the migration's plan never
//! panic, and a site they plan a change for still parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mgdeploy::deploy::discover::{Discovery, discover};
use mgdeploy::migrate::Options;

const PASTE: &str = "[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin]\nuse = egg:mediagoblin#app\n\n[server:main]\nuse = egg:waitress#main\nhost = 127.0.0.1\nport = 6543\n\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = 127.0.0.1\nport = 26543\n";

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let pass: &[u8] = match choice % 3 {
        0 => b"proxy_pass http://127.0.0.1:6543;\n",
        1 => b"proxy_pass http://127.0.0.1:6543/;\n",
        _ => b"fastcgi_pass 127.0.0.1:26543;\n",
    };
    let (inside, server) = match body.iter().position(|&b| b == 0xff) {
        Some(at) => (&body[..at], &body[at + 1..]),
        None => (body, &[][..]),
    };
    let mut site = b"server {\n    listen 127.0.0.1:8080;\n".to_vec();
    site.extend_from_slice(server);
    site.extend_from_slice(b"\n    location / {\n");
    site.extend_from_slice(pass);
    site.extend_from_slice(inside);
    site.extend_from_slice(b"\n    }\n}\n");
    let Ok(dir) = tempfile::tempdir() else { return };
    let top = dir.path();
    if std::fs::create_dir_all(top.join("mediagoblin")).is_err()
        || std::fs::write(top.join("mediagoblin/paste.ini"), PASTE).is_err()
        || std::fs::write(top.join("site.conf"), &site).is_err()
    {
        return;
    }
    let discovery = Discovery {
        root: top.join("mediagoblin"),
        nginx: Some(top.join("site.conf")),
        nginx_prefix: Some(top.to_path_buf()),
        ..Discovery::default()
    };
    let options = Options {
        user: Some("nobody".into()),
        group: Some("nogroup".into()),
        ..Options::default()
    };
    let Ok((deployment, problems)) = discover(&discovery) else {
        return;
    };
    if !problems.nginx.is_empty() {
        return;
    }
    let Ok(planned) = mgdeploy::migrate::plan(&deployment, &options) else {
        return;
    };
    let Ok(targets) = mgdeploy::apply::resolve(&planned.plan) else {
        return;
    };
    for target in targets.iter().filter(|t| t.real.ends_with("site.conf")) {
        let source = mgdeploy::source::SourceFile::new("site.conf", target.after.clone());
        if let Err(error) = mgdeploy::nginx::parse(&source) {
            panic!(
                "the planned site does not parse: {error}\n{}",
                String::from_utf8_lossy(&target.after)
            );
        }
    }
});
