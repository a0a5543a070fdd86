//! nginx's stock include files, known without nginx: `fastcgi_params`,
//! `fastcgi.conf`, `uwsgi_params`, `scgi_params`, `mime.types` as nginx
//! 1.22.1 ships them, and Debian's versions (nginx-common
//! 1.22.1-9+deb12u11) with `proxy_params` and `snippets/fastcgi-php.conf`.
//! A configuration read where nginx is not installed (a CI runner, an ops
//! repository) includes these; mgdeploy reads the copy and says so.

use std::path::Path;

struct Stock {
    /// The path under nginx's configuration directory.
    name: &'static str,
    upstream: Option<&'static str>,
    debian: Option<&'static str>,
}

const FILES: [Stock; 7] = [
    Stock {
        name: "fastcgi_params",
        upstream: Some(include_str!("stock/upstream/fastcgi_params")),
        debian: Some(include_str!("stock/debian/fastcgi_params")),
    },
    Stock {
        name: "fastcgi.conf",
        upstream: Some(include_str!("stock/upstream/fastcgi.conf")),
        debian: Some(include_str!("stock/debian/fastcgi.conf")),
    },
    Stock {
        name: "uwsgi_params",
        upstream: Some(include_str!("stock/upstream/uwsgi_params")),
        debian: Some(include_str!("stock/debian/uwsgi_params")),
    },
    Stock {
        name: "scgi_params",
        upstream: Some(include_str!("stock/upstream/scgi_params")),
        debian: Some(include_str!("stock/debian/scgi_params")),
    },
    Stock {
        name: "mime.types",
        upstream: Some(include_str!("stock/upstream/mime.types")),
        debian: Some(include_str!("stock/debian/mime.types")),
    },
    Stock {
        name: "proxy_params",
        upstream: None,
        debian: Some(include_str!("stock/debian/proxy_params")),
    },
    Stock {
        name: "snippets/fastcgi-php.conf",
        upstream: None,
        debian: Some(include_str!("stock/debian/snippets/fastcgi-php.conf")),
    },
];

/// Which copy stands in for a missing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// nginx 1.22.1's `conf/`.
    Upstream,
    /// Debian's nginx-common.
    Debian,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Upstream => "nginx 1.22.1's stock copy",
            Origin::Debian => "Debian's stock copy (nginx-common 1.22.1)",
        }
    }
}

/// The stock file a server path names, if any: under `/etc/nginx` (Debian's
/// layout) Debian's copy, under another prefix nginx's own.
pub fn lookup(server_path: &Path, prefix: &Path) -> Option<(Origin, &'static str)> {
    let (under, debian_layout) = match server_path.strip_prefix("/etc/nginx") {
        Ok(rest) => (rest, true),
        Err(_) => (server_path.strip_prefix(prefix).ok()?, false),
    };
    let name = under.to_str()?;
    let stock = FILES.iter().find(|s| s.name == name)?;
    match (debian_layout, stock.debian, stock.upstream) {
        (true, Some(text), _) => Some((Origin::Debian, text)),
        (_, _, Some(text)) => Some((Origin::Upstream, text)),
        (false, Some(text), None) => Some((Origin::Debian, text)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stock_files_are_found_by_their_path() {
        let (origin, text) = lookup(
            Path::new("/etc/nginx/uwsgi_params"),
            Path::new("/etc/nginx"),
        )
        .unwrap();
        assert_eq!(origin, Origin::Debian);
        assert!(text.contains("uwsgi_param  PATH_INFO          $document_uri;"));
        assert!(text.contains("HTTP_HOST"), "Debian's security workaround");
        let (origin, text) = lookup(
            Path::new("/usr/local/nginx/conf/uwsgi_params"),
            Path::new("/usr/local/nginx/conf"),
        )
        .unwrap();
        assert_eq!(origin, Origin::Upstream);
        assert!(!text.contains("HTTP_HOST"));
        assert!(
            lookup(
                Path::new("/etc/nginx/snippets/fastcgi-php.conf"),
                Path::new("/etc/nginx")
            )
            .is_some()
        );
        assert!(
            lookup(
                Path::new("/etc/nginx/sites-enabled/default"),
                Path::new("/etc/nginx")
            )
            .is_none()
        );
        assert!(lookup(Path::new("/srv/uwsgi_params"), Path::new("/etc/nginx")).is_none());
    }
}
