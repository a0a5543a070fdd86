//! Whether an account can reach a path: the permission bits along every
//! directory of the way, as the kernel checks them (ACLs and capabilities
//! aside). Accounts come from `/etc/passwd` and `/etc/group`, read as files,
//! so the same code answers for a server's tree mirrored elsewhere.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// A user with the groups it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gids: Vec<u32>,
}

/// `/etc/passwd` and `/etc/group`.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    /// (name, uid, primary gid)
    users: Vec<(String, u32, u32)>,
    /// (name, gid, members)
    groups: Vec<(String, u32, Vec<String>)>,
}

impl Accounts {
    /// Reads the server's `/etc/passwd` and `/etc/group`; unreadable files
    /// give no accounts.
    pub fn read(sysroot: &crate::sysroot::Sysroot) -> Self {
        let read = |name: &str| {
            sysroot
                .read(&sysroot.host(Path::new(name)))
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        Accounts::parse(&read("/etc/passwd"), &read("/etc/group"))
    }

    pub fn parse(passwd: &str, group: &str) -> Self {
        let users = passwd
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?.to_string();
                let uid = fields.nth(1)?.parse().ok()?;
                let gid = fields.next()?.parse().ok()?;
                Some((name, uid, gid))
            })
            .collect();
        let groups = group
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?.to_string();
                let gid = fields.nth(1)?.parse().ok()?;
                let members = fields
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect();
                Some((name, gid, members))
            })
            .collect();
        Accounts { users, groups }
    }

    /// The user `name` (or a numeric uid), with its primary and
    /// supplementary groups; `group` (as `gid =` would set it) replaces the
    /// primary one when given.
    pub fn user(&self, name: &str, group: Option<&str>) -> Option<Account> {
        let (user_name, uid, primary) = self
            .users
            .iter()
            .find(|(n, uid, _)| n == name || uid.to_string() == name)
            .cloned()?;
        let primary = match group {
            Some(group) => self.gid(group)?,
            None => primary,
        };
        let mut gids = vec![primary];
        gids.extend(
            self.groups
                .iter()
                .filter(|(_, _, members)| members.contains(&user_name))
                .map(|(_, gid, _)| *gid),
        );
        Some(Account {
            name: user_name,
            uid,
            gids,
        })
    }

    /// A group's id, by name or number.
    pub fn gid(&self, name: &str) -> Option<u32> {
        self.groups
            .iter()
            .find(|(n, gid, _)| n == name || gid.to_string() == name)
            .map(|(_, gid, _)| *gid)
            .or_else(|| name.parse().ok())
    }

    /// The name of a uid, when it has one.
    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users
            .iter()
            .find(|(_, id, _)| *id == uid)
            .map(|(name, _, _)| name.as_str())
    }

    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups
            .iter()
            .find(|(_, id, _)| *id == gid)
            .map(|(name, _, _)| name.as_str())
    }
}

/// What an account wants to do with a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Read,
    Write,
    /// Read and run (a program).
    Run,
}

/// The permission bit (in the "other" position) for a want.
fn bit(want: Want) -> u32 {
    match want {
        Want::Read => 0o4,
        Want::Write => 0o2,
        Want::Run => 0o5,
    }
}

fn allows(metadata: &std::fs::Metadata, account: &Account, wanted: u32) -> bool {
    if account.uid == 0 {
        // root may do anything, but runs only what someone may run.
        return wanted & 0o1 == 0 || metadata.mode() & 0o111 != 0;
    }
    let mode = metadata.mode();
    let granted = if metadata.uid() == account.uid {
        (mode >> 6) & 0o7
    } else if account.gids.contains(&metadata.gid()) {
        (mode >> 3) & 0o7
    } else {
        mode & 0o7
    };
    granted & wanted == wanted
}

/// What stops an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// This directory (or the file itself) does not let it.
    Closed(PathBuf),
    /// The file to read or run does not exist (a dangling link, say).
    Missing,
}

/// What stops `account` from doing `want` with `path`: the first directory
/// on the way it cannot search, or the file itself; `None` when nothing
/// does. Symlinks are followed. A file to write that does not exist yet is
/// judged by its nearest existing directory, which must let the account
/// create it.
pub fn blocked(path: &Path, account: &Account, want: Want) -> Option<Blocked> {
    let (target, want) = match std::fs::canonicalize(path) {
        Ok(real) => (real, want),
        Err(_) if want != Want::Write => return Some(Blocked::Missing),
        Err(_) => {
            let mut parent = path.parent();
            loop {
                match parent {
                    Some(dir) => match std::fs::canonicalize(dir) {
                        Ok(real) => break (real, Want::Write),
                        Err(_) => parent = dir.parent(),
                    },
                    None => return None,
                }
            }
        }
    };
    let mut walked = PathBuf::new();
    let components: Vec<Component<'_>> = target.components().collect();
    for (index, component) in components.iter().enumerate() {
        walked.push(component);
        let Ok(metadata) = std::fs::metadata(&walked) else {
            return Some(Blocked::Closed(walked));
        };
        let last = index + 1 == components.len();
        let wanted = if last {
            if metadata.is_dir() && want == Want::Write {
                0o3
            } else {
                bit(want)
            }
        } else {
            0o1
        };
        if !allows(&metadata, account, wanted) {
            return Some(Blocked::Closed(walked));
        }
    }
    None
}

/// Why an account other than root could change `path` on this machine:
/// the file, or a directory on the way to it (links followed), belongs to
/// another account, or others may write to it (a sticky directory's
/// files excepted). For a file not there yet, the directories it would
/// be made in. `None`: only root can.
pub fn writable_by_others(path: &Path) -> Option<String> {
    let target = std::fs::canonicalize(path).ok().or_else(|| {
        path.ancestors()
            .skip(1)
            .find_map(|dir| std::fs::canonicalize(dir).ok())
    })?;
    let mut walked = PathBuf::new();
    for component in target.components() {
        walked.push(component);
        let metadata = std::fs::metadata(&walked).ok()?;
        if metadata.uid() != 0 {
            return Some(format!(
                "{} belongs to uid {}",
                walked.display(),
                metadata.uid()
            ));
        }
        let others = metadata.mode() & 0o002 != 0;
        let group = metadata.mode() & 0o020 != 0 && metadata.gid() != 0;
        // In a sticky directory (/tmp), others may add names but not
        // replace root's.
        let sticky = metadata.is_dir() && metadata.mode() & 0o1000 != 0;
        if (others || group) && !sticky {
            return Some(format!(
                "others may write to {} (mode {:o})",
                walked.display(),
                metadata.mode() & 0o7777
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nmg:x:1001:1001::/home/mg:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:mg\nnogroup:x:65534:\nmg:x:1001:\n";

    #[test]
    fn accounts_come_from_passwd_and_group() {
        let accounts = Accounts::parse(PASSWD, GROUP);
        let mg = accounts.user("mg", None).unwrap();
        assert_eq!(mg.uid, 1001);
        assert_eq!(mg.gids, [1001, 33]);
        assert_eq!(
            accounts.user("1001", Some("nogroup")).unwrap().gids,
            [65534, 33]
        );
        assert!(accounts.user("nosuchuser", None).is_none());
        assert_eq!(accounts.user_name(65534), Some("nobody"));
        assert_eq!(accounts.group_name(33), Some("www-data"));
    }

    #[test]
    fn a_closed_directory_on_the_way_blocks() {
        // Run as root in the test suite: permission bits are judged, not tried.
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let file = home.join("python");
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let nobody = Account {
            name: "nobody".into(),
            uid: 65534,
            gids: vec![65534],
        };
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        let closed = |p: &Path| Some(Blocked::Closed(std::fs::canonicalize(p).unwrap()));
        assert_eq!(blocked(&file, &nobody, Want::Run), None);
        assert_eq!(blocked(&file, &nobody, Want::Write), closed(&file));
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(blocked(&file, &nobody, Want::Read), closed(&home));
        // A file yet to be made needs a writable directory.
        let missing = home.join("new/db.sqlite");
        assert_eq!(blocked(&missing, &nobody, Want::Write), closed(&home));
        // One to run must be there.
        std::os::unix::fs::symlink("python2.7", home.join("python-link")).unwrap();
        assert_eq!(
            blocked(&home.join("python-link"), &nobody, Want::Run),
            Some(Blocked::Missing)
        );
    }
}
