//! Servers a test starts: each in its own process group, stopped (the whole
//! group) when the test ends, pass or fail. Only loopback addresses.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Servers started by a test; dropping it stops them all.
#[derive(Default)]
pub struct Servers {
    running: Vec<(String, Child)>,
    /// Command-line fragments of processes that leave their process group
    /// (flup's forked children start sessions of their own).
    strays: Vec<String>,
}

impl Servers {
    pub fn start(&mut self, name: &str, command: &mut Command) -> &mut Child {
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {name} ({command:?}): {e}; see .ci/run for what to install")
            });
        self.running.push((name.to_string(), child));
        &mut self.running.last_mut().expect("just pushed").1
    }

    /// Also stops, when `name` stops, every process whose command line
    /// contains `fragment`.
    pub fn strays(&mut self, fragment: &str) {
        self.strays.push(fragment.to_string());
    }

    pub fn stop(&mut self, name: &str) {
        let mut kept = Vec::new();
        for (n, child) in self.running.drain(..) {
            if n == name {
                stop(child);
            } else {
                kept.push((n, child));
            }
        }
        self.running = kept;
        for fragment in &self.strays {
            kill_matching(fragment);
        }
    }
}

/// SIGTERM to the whole process group (master and workers), then SIGKILL.
fn stop(mut child: Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-TERM", "--", &group])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}

/// SIGKILL to every process whose command line contains `fragment`.
pub fn kill_matching(fragment: &str) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id().to_string();
    for entry in entries.filter_map(Result::ok) {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(fragment) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for (_, child) in self.running.drain(..) {
            stop(child);
        }
        for fragment in &self.strays {
            kill_matching(fragment);
        }
    }
}

/// Waits until something accepts connections at `address` (a port on
/// 127.0.0.1, or a UNIX socket path).
pub fn wait_for(address: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let up = match address.parse::<u16>() {
            Ok(port) => TcpStream::connect(("127.0.0.1", port)).is_ok(),
            Err(_) => std::os::unix::net::UnixStream::connect(address).is_ok(),
        };
        if up {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "nothing listens on {address} after 30 s; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Waits until nothing listens on a port any more.
pub fn wait_closed(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && TcpStream::connect(("127.0.0.1", port)).is_ok() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The tests that start servers must run as root.
pub fn require_root(why: &str) {
    assert!(
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0),
        "{why}: run the tests as root"
    );
}

/// Starts nginx in the foreground on `conf` with `prefix`, as a site's
/// test runs it, and waits until it listens on `port` (`log`: where to look
/// when it does not).
pub fn start_nginx(servers: &mut Servers, conf: &Path, prefix: &Path, port: u16, log: &Path) {
    servers.start(
        "nginx",
        Command::new("nginx")
            .arg("-c")
            .arg(conf)
            .arg("-p")
            .arg(prefix)
            .args(["-g", "daemon off;"])
            .stderr(Stdio::null()),
    );
    wait_for(&port.to_string(), log);
}
