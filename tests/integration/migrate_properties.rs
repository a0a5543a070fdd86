//! migrate on generated FastCGI and HTTP (`proxy_pass`) locations: whatever
//! directives, comments, indentation and line endings a location has, the
//! rewritten site parses, keeps no FastCGI or proxy directive in
//! MediaGoblin's location, sends SCRIPT_NAME exactly once (MediaGoblin reads
//! it), leaves the PHP location beside it byte for byte, and a second plan
//! is empty.

use std::path::Path;

use mgdeploy::apply::Target;
use mgdeploy::deploy::discover::{Discovery, discover};
use mgdeploy::migrate::Options;
use mgdeploy::protocol::Protocol;
use mgdeploy::protocol::directives::{Fate, all};
use proptest::prelude::*;

const PASTE: &str = "[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin]\nuse = egg:mediagoblin#app\n\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = 127.0.0.1\nport = 26543\n";

const PHP: &str = "    location ~ \\.php$ {\n        fastcgi_pass unix:/run/php/php-fpm.sock;\n        fastcgi_index index.php;\n        include fastcgi.conf;\n    }\n";

/// The directives of the module speaking `from` that nginx takes in a
/// location, with arguments: those migrate renames (but the pass, which
/// the location has), and those it drops.
fn in_a_location(from: Protocol) -> (Vec<String>, Vec<String>) {
    let (mut renamed, mut dropped) = (Vec::new(), Vec::new());
    for (name, fate) in all(from) {
        if name.ends_with("_pass") {
            continue;
        }
        let Some(line) = crate::common::in_a_location(name) else {
            continue;
        };
        match fate {
            Fate::Rename(_) => renamed.push(line),
            Fate::Drop(_) => dropped.push(line),
        }
    }
    (renamed, dropped)
}

fn directive() -> impl Strategy<Value = String> {
    let (renamed, dropped) = in_a_location(Protocol::FastCgi);
    prop_oneof![
        prop::sample::select(renamed),
        prop::sample::select(dropped),
        Just("fastcgi_param PATH_INFO $fastcgi_script_name;".to_string()),
        Just("fastcgi_param SCRIPT_NAME \"\";".to_string()),
        Just("fastcgi_param HTTP_X_SCRIPT $fastcgi_script_name;".to_string()),
        Just("include /etc/nginx/fastcgi_params;".to_string()),
        Just("# a comment about script_name and path_info".to_string()),
        Just("# another comment".to_string()),
        Just("add_header X-Frame-Options SAMEORIGIN;".to_string()),
        // In `if`, only what nginx allows there (fastcgi_read_timeout is not).
        Just("if ($request_method = POST) { set $post 1; }".to_string()),
        Just(String::new()),
    ]
}

/// paste.ini with paster's HTTP server on 127.0.0.1:6543.
const PASTE_HTTP: &str = "[DEFAULT]\nhttp_port = 6543\n\n[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin]\nuse = egg:mediagoblin#app\n\n[server:main]\nuse = egg:waitress#main\nhost = 127.0.0.1\nport = %(http_port)s\n";

/// A line of a `proxy_pass` location.
fn proxy_directive() -> impl Strategy<Value = String> {
    let (renamed, dropped) = in_a_location(Protocol::Http);
    let header = (
        prop::sample::select(vec![
            "Host",
            "X-Real-IP",
            "X-Forwarded-For",
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "Connection",
            "Upgrade",
            "X-Custom",
        ]),
        prop::sample::select(vec![
            "$http_host",
            "$host",
            "$remote_addr",
            "$proxy_add_x_forwarded_for",
            "$scheme",
            "https",
            "\"\"",
            "$proxy_host",
            "\"a b\"",
        ]),
    )
        .prop_map(|(name, value)| format!("proxy_set_header {name} {value};"));
    prop_oneof![
        prop::sample::select(renamed),
        prop::sample::select(dropped),
        header,
        Just("include proxy_params;".to_string()),
        Just("# On Debian the proxy_set_header lines can be replaced by:".to_string()),
        Just("# another comment".to_string()),
        Just("add_header X-Frame-Options SAMEORIGIN;".to_string()),
        Just("if ($request_method = POST) { set $post 1; }".to_string()),
        Just(String::new()),
    ]
}

fn write_tree(dir: &Path, site: &str) {
    std::fs::create_dir_all(dir.join("mediagoblin")).expect("mkdir");
    std::fs::write(dir.join("mediagoblin/paste.ini"), PASTE).expect("write");
    std::fs::write(dir.join("site.conf"), site).expect("write");
}

fn args(dir: &Path) -> (Discovery, Options) {
    (
        Discovery {
            root: dir.join("mediagoblin"),
            nginx: Some(dir.join("site.conf")),
            nginx_prefix: Some(dir.to_path_buf()),
            ..Discovery::default()
        },
        Options {
            user: Some("nobody".into()),
            group: Some("nogroup".into()),
            ..Options::default()
        },
    )
}

/// Plans the move of the tree `write_tree` made in `dir` (`site` is its
/// site, for the message when planning fails): the plan's files, and the
/// site's new text.
fn plan_move(dir: &Path, site: &str) -> Result<(Vec<Target>, Vec<u8>), TestCaseError> {
    let (discovery, migration) = args(dir);
    let (deployment, problems) =
        discover(&discovery).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(problems.nginx.is_empty(), "{:?}", problems.nginx);
    let planned = mgdeploy::migrate::plan(&deployment, &migration)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{site}")))?;
    let targets =
        mgdeploy::apply::resolve(&planned.plan).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let new_site = targets
        .iter()
        .find(|t| t.real.ends_with("site.conf"))
        .map(|t| t.after.clone())
        .expect("the site changes");
    Ok((targets, new_site))
}

/// Writes the plan's files into `dir`, then plans again: whether anything
/// is left to move.
fn second_plan_is_empty(dir: &Path, targets: &[Target]) -> Result<bool, TestCaseError> {
    for target in targets {
        std::fs::write(&target.real, &target.after).expect("write");
    }
    let (discovery, migration) = args(dir);
    let (deployment, _) = discover(&discovery).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let again = mgdeploy::migrate::plan(&deployment, &migration)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(again.plan.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn any_fastcgi_location_migrates_cleanly(
        body in prop::collection::vec(directive(), 0..12),
        indent in prop_oneof![Just("    "), Just("\t"), Just("  ")],
        crlf in any::<bool>(),
        php_first in any::<bool>(),
    ) {
        let mut location = format!("    location / {{\n{indent}fastcgi_pass 127.0.0.1:26543;\n");
        for line in &body {
            location.push_str(&format!("{indent}{line}\n"));
        }
        location.push_str("    }\n");
        let (first, second) = if php_first { (PHP, location.as_str()) } else { (location.as_str(), PHP) };
        let mut site = format!("server {{\n    listen 127.0.0.1:8080;\n{first}{second}}}\n");
        if crlf {
            site = site.replace('\n', "\r\n");
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        write_tree(dir.path(), &site);
        // Paths relative to the prefix resolve inside the temporary tree.
        std::fs::write(dir.path().join("fastcgi.conf"), "").expect("write");

        let (targets, new_site) = plan_move(dir.path(), &site)?;
        let site_path = dir.path().join("site.conf");

        // The result parses, the PHP location is untouched, MediaGoblin's
        // location has nothing FastCGI left.
        let source = mgdeploy::source::SourceFile::new(&site_path, new_site.clone());
        let config = mgdeploy::nginx::parse(&source).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&new_site))))?;
        let text = String::from_utf8_lossy(&new_site).into_owned();
        let php = if crlf { PHP.replace('\n', "\r\n") } else { PHP.to_string() };
        prop_assert!(text.contains(&php), "the PHP location changed:\n{text}");
        let rest = text.replace(&php, "");
        prop_assert!(!rest.contains("fastcgi"), "FastCGI left in MediaGoblin's location:\n{text}");
        prop_assert!(rest.contains("uwsgi_pass 127.0.0.1:26543;"), "{text}");
        prop_assert_eq!(
            rest.matches("uwsgi_param SCRIPT_NAME \"\";").count(),
            1,
            "MediaGoblin at / gets SCRIPT_NAME \"\" exactly once:\n{}",
            text
        );
        prop_assert!(config.print().is_ok());
        // What nginx accepted before, it accepts after.
        let refused = crate::common::refused_by_nginx(&site_path, &config);
        prop_assert!(refused.is_empty(), "nginx would refuse the result: {:?}\n{}", refused, text);

        // Written out, the site has nothing more to migrate.
        prop_assert!(second_plan_is_empty(dir.path(), &targets)?, "a second plan after:\n{}", text);
    }
}

/// The names of the directives inside MediaGoblin's location (`/`).
fn names_in_root_location(config: &mgdeploy::nginx::syntax::Config) -> Vec<String> {
    let mut names = Vec::new();
    mgdeploy::nginx::syntax::walk(&config.children, |d, parents| {
        let in_root = parents.iter().any(|p| {
            config.name_of(p) == b"location"
                && p.args.last().is_some_and(|a| config.value(a) == "/")
        });
        if in_root {
            names.push(String::from_utf8_lossy(config.name_of(d)).into_owned());
        }
    });
    names
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn any_proxy_pass_location_migrates_cleanly(
        body in prop::collection::vec(proxy_directive(), 0..12),
        server_body in prop::collection::vec(proxy_directive(), 0..4),
        indent in prop_oneof![Just("    "), Just("\t"), Just("  ")],
        crlf in any::<bool>(),
        slash in any::<bool>(),
    ) {
        let url = if slash { "http://127.0.0.1:6543/" } else { "http://127.0.0.1:6543" };
        let mut location = format!("    location / {{\n{indent}proxy_pass {url};\n");
        for line in &body {
            location.push_str(&format!("{indent}{line}\n"));
        }
        location.push_str("    }\n");
        let server_lines: String = server_body.iter().map(|l| format!("    {l}\n")).collect();
        let mut site = format!("server {{\n    listen 127.0.0.1:8080;\n{server_lines}{location}{PHP}}}\n");
        if crlf {
            site = site.replace('\n', "\r\n");
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        write_tree(dir.path(), &site);
        std::fs::write(dir.path().join("mediagoblin/paste.ini"), PASTE_HTTP).expect("write");
        std::fs::write(dir.path().join("fastcgi.conf"), "").expect("write");
        std::fs::write(dir.path().join("uwsgi_params"), "").expect("write");
        std::fs::write(
            dir.path().join("proxy_params"),
            "proxy_set_header Host $host;\nproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n",
        )
        .expect("write");

        let (targets, new_site) = plan_move(dir.path(), &site)?;
        let site_path = dir.path().join("site.conf");

        let source = mgdeploy::source::SourceFile::new(&site_path, new_site.clone());
        let config = mgdeploy::nginx::parse(&source).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&new_site))))?;
        let text = String::from_utf8_lossy(&new_site).into_owned();
        let php = if crlf { PHP.replace('\n', "\r\n") } else { PHP.to_string() };
        prop_assert!(text.contains(&php), "the PHP location changed:\n{text}");
        let names = names_in_root_location(&config);
        prop_assert!(
            !names.iter().any(|n| n.starts_with("proxy_")),
            "a proxy directive left in MediaGoblin's location: {names:?}\n{text}"
        );
        prop_assert_eq!(names.iter().filter(|n| *n == "uwsgi_pass").count(), 1, "{}", text);
        prop_assert!(text.contains("uwsgi_pass 127.0.0.1:6543;"), "{text}");
        prop_assert_eq!(
            text.matches("include uwsgi_params;").count(),
            1,
            "uwsgi_params is included once:\n{}",
            text
        );
        prop_assert_eq!(
            text.matches("uwsgi_param SCRIPT_NAME \"\";").count(),
            1,
            "MediaGoblin at / gets SCRIPT_NAME \"\" exactly once:\n{}",
            text
        );
        prop_assert!(
            !text.lines().any(|l| l.contains("uwsgi_param") && l.contains("$proxy_host")),
            "$proxy_host is empty without proxy_pass:\n{text}"
        );
        let trailing_blanks = |text: &str| {
            text.lines()
                .filter(|l| {
                    let l = l.trim_end_matches('\r');
                    l != l.trim_end()
                })
                .count()
        };
        prop_assert!(trailing_blanks(&text) <= trailing_blanks(&site), "new trailing blanks:\n{text}");
        prop_assert!(config.print().is_ok());
        let refused = crate::common::refused_by_nginx(&site_path, &config);
        prop_assert!(refused.is_empty(), "nginx would refuse the result: {:?}\n{}", refused, text);

        prop_assert!(second_plan_is_empty(dir.path(), &targets)?, "a second plan after:\n{}", text);
    }
}
