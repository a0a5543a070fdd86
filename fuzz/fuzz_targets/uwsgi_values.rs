//! Values mgdeploy writes for uWSGI and systemd, read back by those
//! programs themselves: a value `escape` accepts for a uWSGI ini or
//! uWSGI's command line comes out of `uwsgi --show-config` as it went in
//! (nothing expanded, nothing run); one it accepts for a unit's command
//! line or environment is a unit `systemd-analyze verify` accepts, and
//! reads back (as systemd splits it) as that one word.
#![no_main]

use std::process::Command;

use libfuzzer_sys::fuzz_target;
use mgdeploy::escape;

/// The `env` uWSGI holds after reading its configuration.
fn uwsgi_env(args: &[&str]) -> Option<String> {
    let output = Command::new("uwsgi")
        .args(args)
        .arg("--show-config")
        .env_clear()
        .output()
        .ok()?;
    // uWSGI logs its configuration on standard error.
    let text = String::from_utf8_lossy(&[output.stdout, output.stderr].concat()).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("env = K="))
        .map(str::to_string)
}

fn systemd_accepts(unit: &str) -> bool {
    let Ok(dir) = tempfile::tempdir() else {
        return true;
    };
    let path = dir.path().join("fuzz.service");
    if std::fs::write(&path, unit).is_err() {
        return true;
    }
    Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .is_ok_and(|o| o.status.success() && o.stderr.is_empty())
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if value.len() > 200 {
        return;
    }
    if let Ok(written) = escape::uwsgi_value(value) {
        let Ok(dir) = tempfile::tempdir() else { return };
        let ini = dir.path().join("x.ini");
        if std::fs::write(&ini, format!("[uwsgi]\nenv = K={written}\n")).is_ok() {
            let read = uwsgi_env(&["--ini", &ini.to_string_lossy()]);
            assert_eq!(read.as_deref(), Some(value), "ini value {written:?}");
        }
    }
    if let Ok(argument) = escape::uwsgi_argument(value)
        && !argument.starts_with('-')
    {
        let read = uwsgi_env(&["--env", &format!("K={argument}")]);
        assert_eq!(read.as_deref(), Some(value), "argument {argument:?}");
    }
    if let Ok(word) = escape::systemd_exec_word(value) {
        // Split as systemd splits (quotes and escapes undone); its
        // specifiers and variables are expanded afterwards.
        let meant = value.replace('%', "%%").replace('$', "$$");
        assert_eq!(
            mgdeploy::service::systemd::split_words(&word),
            [meant],
            "{word:?}"
        );
        let unit = format!("[Service]\nExecStart=/bin/true {word}\n");
        assert!(systemd_accepts(&unit), "{unit:?}");
    }
    if let Ok(environment) = escape::systemd_environment("K", value) {
        let unit = format!("[Service]\nEnvironment={environment}\nExecStart=/bin/true\n");
        assert!(systemd_accepts(&unit), "{unit:?}");
    }
});
