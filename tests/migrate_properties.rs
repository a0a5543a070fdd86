//! migrate on generated FastCGI locations: whatever directives, comments,
//! indentation and line endings a location has, the rewritten site parses,
//! keeps no FastCGI directive in MediaGoblin's location, sends SCRIPT_NAME
//! exactly once (MediaGoblin reads it), leaves the PHP location beside it
//! byte for byte, and a second plan is empty.

use std::path::Path;

use mgdeploy::cli::DiscoveryArgs;
use mgdeploy::deploy::discover::discover;
use mgdeploy::migrate::Options;
use mgdeploy::protocol::directives::{DROPPED, RENAMED};
use proptest::prelude::*;

const PASTE: &str = "[app:mediagoblin]\nuse = egg:mediagoblin#app\n\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = 127.0.0.1\nport = 26543\n";

const PHP: &str = "    location ~ \\.php$ {\n        fastcgi_pass unix:/run/php/php-fpm.sock;\n        fastcgi_index index.php;\n        include fastcgi.conf;\n    }\n";

fn directive() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(RENAMED.to_vec())
            .prop_filter("pass is added once", |s| *s != "pass")
            .prop_map(|s| format!("fastcgi_{s} on;")),
        prop::sample::select(DROPPED.iter().map(|(s, _)| *s).collect::<Vec<_>>())
            .prop_map(|s| format!("fastcgi_{s} x;")),
        Just("fastcgi_param PATH_INFO $fastcgi_script_name;".to_string()),
        Just("fastcgi_param SCRIPT_NAME \"\";".to_string()),
        Just("fastcgi_param HTTP_X_SCRIPT $fastcgi_script_name;".to_string()),
        Just("include /etc/nginx/fastcgi_params;".to_string()),
        Just("# a comment about script_name and path_info".to_string()),
        Just("# another comment".to_string()),
        Just("add_header X-Frame-Options SAMEORIGIN;".to_string()),
        Just("if ($request_method = POST) { fastcgi_read_timeout 5m; }".to_string()),
        Just(String::new()),
    ]
}

fn write_tree(dir: &Path, site: &str) {
    std::fs::create_dir_all(dir.join("mediagoblin")).expect("mkdir");
    std::fs::write(dir.join("mediagoblin/paste.ini"), PASTE).expect("write");
    std::fs::write(dir.join("site.conf"), site).expect("write");
}

fn args(dir: &Path) -> (DiscoveryArgs, Options) {
    (
        DiscoveryArgs {
            root: dir.join("mediagoblin"),
            paste: None,
            mediagoblin_ini: None,
            nginx: Some(dir.join("site.conf")),
            nginx_prefix: Some(dir.to_path_buf()),
            uwsgi_ini: None,
            service: None,
        },
        Options {
            user: Some("nobody".into()),
            group: Some("nogroup".into()),
            ..Options::default()
        },
    )
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

        let (discovery, migration) = args(dir.path());
        let (deployment, problems) = discover(&discovery).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(problems.nginx.is_empty(), "{:?}", problems.nginx);
        let planned = mgdeploy::migrate::plan(&deployment, &migration).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let targets = mgdeploy::apply::resolve(&planned.plan).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let site_path = dir.path().join("site.conf");
        let new_site = targets
            .iter()
            .find(|t| t.real.ends_with("site.conf"))
            .map(|t| t.after.clone())
            .expect("the site changes");

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

        // Written out, the site has nothing more to migrate.
        std::fs::write(&site_path, &new_site).expect("write");
        for target in &targets {
            std::fs::write(&target.real, &target.after).expect("write");
        }
        let (deployment, _) = discover(&discovery).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let again = mgdeploy::migrate::plan(&deployment, &migration).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(again.plan.is_empty(), "a second plan: {:?}", again.plan);
    }
}
