//! A small deployment in a temporary directory: a MediaGoblin 0.9 checkout
//! on FastCGI (paste.ini, lazystarter.sh) and an nginx.conf whose site
//! passes to it, for tests that play mgdeploy against what a site's files
//! can hold.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

pub const PASTE: &str = "[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin]\nuse = egg:mediagoblin#app\n\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = 127.0.0.1\nport = 26543\n";

pub const NGINX: &str = "user www-data;\npid @TMP@/nginx.pid;\nerror_log @TMP@/error.log;\nevents {}\nhttp {\n    access_log off;\n    include sites/*.conf;\n}\n";

pub const SITE: &str = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        fastcgi_pass 127.0.0.1:26543;\n        include /etc/nginx/fastcgi_params;\n        fastcgi_param PATH_INFO $fastcgi_script_name;\n        fastcgi_param SCRIPT_NAME \"\";\n    }\n}\n";

pub const LAZY: &str = "#!/bin/sh\nexport CELERY_ALWAYS_EAGER=true\ncase \"$selfname\" in\n    lazyserver.sh)\n        starter_cmd=paster;\n        ;;\nesac\n$starter serve \"$ini_file\" \"$@\" --reload;\n";

pub struct Tree {
    _dir: tempfile::TempDir,
    /// The temporary directory holding everything (nginx/, mediagoblin/).
    pub top: PathBuf,
    /// The checkout.
    pub root: PathBuf,
    /// The nginx site file, included from `top/nginx/nginx.conf`.
    pub site: PathBuf,
}

pub fn tree_named(site_name: &str) -> Tree {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = top.join("mediagoblin");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::create_dir_all(top.join("nginx/sites")).expect("mkdir");
    std::fs::write(root.join("paste.ini"), PASTE).expect("write");
    std::fs::write(root.join("lazystarter.sh"), LAZY).expect("write");
    let tmp = top.to_string_lossy().into_owned();
    std::fs::write(top.join("nginx/nginx.conf"), NGINX.replace("@TMP@", &tmp)).expect("write");
    let site = top.join("nginx/sites").join(site_name);
    std::fs::write(&site, SITE).expect("write");
    Tree {
        _dir: dir,
        top,
        root,
        site,
    }
}

pub fn tree() -> Tree {
    tree_named("mediagoblin.conf")
}

impl Tree {
    pub fn mgdeploy(&self, command: &str, args: &[&str]) -> Output {
        super::mgdeploy()
            .arg(command)
            .arg("-C")
            .arg(&self.root)
            .arg("--nginx")
            .arg(self.top.join("nginx/nginx.conf"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run mgdeploy")
    }

    pub fn migrate(&self, args: &[&str]) -> Output {
        let mut all = vec!["--user", "nobody", "--group", "nogroup"];
        all.extend(args);
        self.mgdeploy("migrate", &all)
    }

    /// Every file under the tree and its bytes (the journal left out).
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut dirs = vec![self.top.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("list") {
                let path = entry.expect("entry").path();
                let meta = std::fs::symlink_metadata(&path).expect("metadata");
                if path.file_name().is_some_and(|n| n == ".mgdeploy") {
                    continue;
                }
                if meta.is_dir() {
                    dirs.push(path);
                } else if meta.is_file() {
                    out.push((path.clone(), std::fs::read(&path).expect("read")));
                }
            }
        }
        out.sort();
        out
    }
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).expect("chown");
}
