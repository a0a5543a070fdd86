//! What becomes of each `fastcgi_*` and `proxy_*` directive in a location
//! moved to uWSGI. Which directives exist is nginx's own table
//! (`nginx::vocabulary`); a directive's twin is `uwsgi_` with the same
//! suffix whenever nginx has that name, so only the directives that go,
//! and why, are kept here by hand.

use super::Protocol;
use crate::nginx::vocabulary;

/// Why `{prefix}{suffix}` goes with no twin, when it does.
fn dropped(protocol: Protocol, suffix: &str) -> Option<&'static str> {
    let table: &[(&str, &str)] = match protocol {
        Protocol::FastCgi => &FASTCGI_DROPPED,
        Protocol::Http => &HTTP_DROPPED,
        Protocol::Uwsgi => &[],
    };
    if let Some((_, why)) = table.iter().find(|(dropped, _)| *dropped == suffix) {
        return Some(why);
    }
    // uwsgi_ssl_* exist, for uWSGI over TLS; the new hop is plain.
    (protocol == Protocol::Http && suffix.starts_with("ssl_")).then_some(HTTP_TLS)
}

/// What happens to a `fastcgi_*` or `proxy_*` directive in a location
/// moved to uWSGI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It becomes its twin (this name), arguments unchanged.
    Rename(String),
    /// There is no uWSGI twin; the directive goes, for this reason.
    Drop(&'static str),
}

/// The fate of `name`, a directive of the module that speaks `from`
/// (FastCGI or HTTP); `None` when nginx has no such directive for HTTP, or
/// when it is not a plain rename or drop (`proxy_set_header` becomes
/// `uwsgi_param`, `migrate/proxy.rs`).
pub fn fate(from: Protocol, name: &str) -> Option<Fate> {
    if from == Protocol::Uwsgi {
        return None;
    }
    let suffix = name.strip_prefix(from.prefix())?;
    if !vocabulary::in_http(name) {
        return None;
    }
    if let Some(why) = dropped(from, suffix) {
        return Some(Fate::Drop(why));
    }
    let twin = format!("uwsgi_{suffix}");
    vocabulary::in_http(&twin).then_some(Fate::Rename(twin))
}

/// Every directive nginx has for HTTP in the module that speaks `from`,
/// with its fate.
pub fn all(from: Protocol) -> impl Iterator<Item = (&'static str, Fate)> {
    vocabulary::names().filter_map(move |name| Some((name, fate(from, name)?)))
}

/// The FastCGI-only directives and why each can go.
const FASTCGI_DROPPED: [(&str, &str); 5] = [
    (
        "index",
        "it names the file appended to URIs ending in `/` in $fastcgi_script_name; the uwsgi protocol has no such variable",
    ),
    (
        "split_path_info",
        "it splits the URI into SCRIPT_NAME and PATH_INFO for FastCGI; on uWSGI the prefix is handled by uWSGI itself (mount or fixpathinfo)",
    ),
    (
        "send_lowat",
        "it tunes a FreeBSD socket option and has no uwsgi twin",
    ),
    (
        "catch_stderr",
        "the uwsgi protocol has no stderr stream to search; uWSGI logs the application's errors itself",
    ),
    (
        "keep_conn",
        "FastCGI connection reuse has no counterpart: nginx opens one uwsgi connection per request",
    ),
];

/// Why the TLS settings of the hop to paster go.
const HTTP_TLS: &str = "it configured TLS on the hop to paster's HTTP server; uWSGI is reached over its own socket, without TLS";

/// The HTTP-only directives and why each can go (and every `proxy_ssl_*`,
/// `HTTP_TLS`).
const HTTP_DROPPED: [(&str, &str); 12] = [
    (
        "redirect",
        "it rewrote the Location headers paster sent; MediaGoblin builds them from HTTP_HOST and SCRIPT_NAME, which it now gets as nginx received them",
    ),
    (
        "cookie_domain",
        "it rewrote the cookies' domain paster sent; MediaGoblin now sees the Host the visitor asked for",
    ),
    (
        "cookie_path",
        "it rewrote the cookies' path paster sent; MediaGoblin now gets SCRIPT_NAME and sets its cookies' path itself",
    ),
    (
        "cookie_flags",
        "it set flags on the cookies paster sent; the uwsgi module has no such directive (set them in mediagoblin.ini or with add_header)",
    ),
    (
        "http_version",
        "it chose the HTTP version of the hop to paster; the uwsgi protocol has none",
    ),
    (
        "method",
        "it changed the request method sent to paster; uWSGI gets the request's own method (uwsgi_params' REQUEST_METHOD)",
    ),
    (
        "set_body",
        "it replaced the request body sent to paster; the uwsgi module passes the request's own body",
    ),
    (
        "headers_hash_max_size",
        "it sized the hash of proxy_set_header's headers; uwsgi_param has its own",
    ),
    (
        "headers_hash_bucket_size",
        "it sized the hash of proxy_set_header's headers; uwsgi_param has its own",
    ),
    (
        "cache_convert_head",
        "the uwsgi cache has no such setting: HEAD requests reach uWSGI as HEAD",
    ),
    (
        "send_lowat",
        "it tunes a FreeBSD socket option and has no uwsgi twin",
    ),
    (
        "pass_trailers",
        "it passed the trailer fields of paster's responses; the uwsgi protocol has no trailers",
    ),
];

/// Files of `include` that carry FastCGI parameters, and the uWSGI file
/// that replaces them (in the same directory).
pub const PARAMS_FILES: [&str; 2] = ["fastcgi_params", "fastcgi.conf"];
pub const UWSGI_PARAMS: &str = "uwsgi_params";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_directive_of_both_families_has_a_fate() {
        for from in [Protocol::FastCgi, Protocol::Http] {
            let with_fate: Vec<&str> = all(from).map(|(name, _)| name).collect();
            for name in vocabulary::names() {
                let of_family = name.starts_with(from.prefix()) && vocabulary::in_http(name);
                // Rewritten with more than a rename (migrate/proxy.rs).
                if of_family && name != "proxy_set_header" {
                    assert!(with_fate.contains(&name), "{name}");
                }
            }
        }
    }

    #[test]
    fn every_drop_is_of_a_directive_nginx_has() {
        for (family, table) in [
            (Protocol::FastCgi, &FASTCGI_DROPPED[..]),
            (Protocol::Http, &HTTP_DROPPED[..]),
        ] {
            for (suffix, _) in table {
                let name = format!("{}{suffix}", family.prefix());
                assert!(vocabulary::in_http(&name), "{name}");
            }
        }
    }

    #[test]
    fn twins_are_named_by_the_suffix() {
        let twin = |name: &str| Some(Fate::Rename(name.to_string()));
        assert_eq!(fate(Protocol::FastCgi, "fastcgi_pass"), twin("uwsgi_pass"));
        assert_eq!(
            fate(Protocol::FastCgi, "fastcgi_socket_rcvbuf"),
            twin("uwsgi_socket_rcvbuf")
        );
        assert_eq!(
            fate(Protocol::Http, "proxy_read_timeout"),
            twin("uwsgi_read_timeout")
        );
        assert!(matches!(
            fate(Protocol::FastCgi, "fastcgi_index"),
            Some(Fate::Drop(_))
        ));
        assert_eq!(
            fate(Protocol::Http, "proxy_ssl_verify"),
            Some(Fate::Drop(HTTP_TLS))
        );
        assert_eq!(fate(Protocol::FastCgi, "fastcgi_bogus"), None);
        assert_eq!(fate(Protocol::FastCgi, "uwsgi_pass"), None);
        // The stream module's proxy_timeout is not an HTTP directive.
        assert_eq!(fate(Protocol::Http, "proxy_timeout"), None);
    }
}
