//! The FastCGI → uWSGI and HTTP → uWSGI directive tables (nginx 1.22,
//! `ngx_http_fastcgi_commands`, `ngx_http_proxy_commands` and
//! `ngx_http_uwsgi_commands`): the one place that says what becomes of each
//! `fastcgi_*` and `proxy_*` directive.

/// What happens to a `fastcgi_*` directive in a location moved to uWSGI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// `fastcgi_X` becomes `uwsgi_X`, arguments unchanged.
    Rename,
    /// There is no uWSGI twin; the directive goes, for this reason.
    Drop(&'static str),
}

/// The 44 suffixes with a `uwsgi_` twin.
pub const RENAMED: [&str; 44] = [
    "pass",
    "param",
    "bind",
    "buffer_size",
    "buffering",
    "buffers",
    "busy_buffers_size",
    "cache",
    "cache_background_update",
    "cache_bypass",
    "cache_key",
    "cache_lock",
    "cache_lock_age",
    "cache_lock_timeout",
    "cache_max_range_offset",
    "cache_methods",
    "cache_min_uses",
    "cache_path",
    "cache_revalidate",
    "cache_use_stale",
    "cache_valid",
    "connect_timeout",
    "force_ranges",
    "hide_header",
    "ignore_client_abort",
    "ignore_headers",
    "intercept_errors",
    "limit_rate",
    "max_temp_file_size",
    "next_upstream",
    "next_upstream_timeout",
    "next_upstream_tries",
    "no_cache",
    "pass_header",
    "pass_request_body",
    "pass_request_headers",
    "read_timeout",
    "request_buffering",
    "send_timeout",
    "socket_keepalive",
    "store",
    "store_access",
    "temp_file_write_size",
    "temp_path",
];

/// The 5 FastCGI-only directives and why each can go.
pub const DROPPED: [(&str, &str); 5] = [
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

/// The fate of a directive named `name`; `None` when it is not a
/// `fastcgi_*` directive nginx knows.
pub fn fate(name: &str) -> Option<Fate> {
    let suffix = name.strip_prefix("fastcgi_")?;
    if RENAMED.contains(&suffix) {
        return Some(Fate::Rename);
    }
    DROPPED
        .iter()
        .find(|(dropped, _)| *dropped == suffix)
        .map(|(_, why)| Fate::Drop(why))
}

/// The 41 `proxy_*` suffixes with a `uwsgi_` twin that means the same.
/// `proxy_pass`, `proxy_set_header` and `proxy_cache_path` are rewritten
/// with more care than a rename (`migrate/proxy.rs`).
pub const PROXY_RENAMED: [&str; 41] = [
    "bind",
    "buffer_size",
    "buffering",
    "buffers",
    "busy_buffers_size",
    "cache",
    "cache_background_update",
    "cache_bypass",
    "cache_key",
    "cache_lock",
    "cache_lock_age",
    "cache_lock_timeout",
    "cache_max_range_offset",
    "cache_methods",
    "cache_min_uses",
    "cache_revalidate",
    "cache_use_stale",
    "cache_valid",
    "connect_timeout",
    "force_ranges",
    "hide_header",
    "ignore_client_abort",
    "ignore_headers",
    "intercept_errors",
    "limit_rate",
    "max_temp_file_size",
    "next_upstream",
    "next_upstream_timeout",
    "next_upstream_tries",
    "no_cache",
    "pass_header",
    "pass_request_body",
    "pass_request_headers",
    "read_timeout",
    "request_buffering",
    "send_timeout",
    "socket_keepalive",
    "store",
    "store_access",
    "temp_file_write_size",
    "temp_path",
];

/// Why the TLS settings of the hop to paster go.
const PROXY_TLS: &str = "it configured TLS on the hop to paster's HTTP server; uWSGI is reached over its own socket, without TLS";

/// The 24 HTTP-only directives and why each can go.
pub const PROXY_DROPPED: [(&str, &str); 24] = [
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
    ("ssl_certificate", PROXY_TLS),
    ("ssl_certificate_key", PROXY_TLS),
    ("ssl_ciphers", PROXY_TLS),
    ("ssl_conf_command", PROXY_TLS),
    ("ssl_crl", PROXY_TLS),
    ("ssl_name", PROXY_TLS),
    ("ssl_password_file", PROXY_TLS),
    ("ssl_protocols", PROXY_TLS),
    ("ssl_server_name", PROXY_TLS),
    ("ssl_session_reuse", PROXY_TLS),
    ("ssl_trusted_certificate", PROXY_TLS),
    ("ssl_verify", PROXY_TLS),
    ("ssl_verify_depth", PROXY_TLS),
];

/// The fate of a `proxy_*` directive named `name` other than `proxy_pass`,
/// `proxy_set_header` and `proxy_cache_path`; `None` when nginx has no such
/// directive.
pub fn proxy_fate(name: &str) -> Option<Fate> {
    let suffix = name.strip_prefix("proxy_")?;
    if PROXY_RENAMED.contains(&suffix) {
        return Some(Fate::Rename);
    }
    PROXY_DROPPED
        .iter()
        .find(|(dropped, _)| *dropped == suffix)
        .map(|(_, why)| Fate::Drop(why))
}

/// Files of `include` that carry FastCGI parameters, and the uWSGI file
/// that replaces them (in the same directory).
pub const PARAMS_FILES: [&str; 2] = ["fastcgi_params", "fastcgi.conf"];
pub const UWSGI_PARAMS: &str = "uwsgi_params";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fastcgi_directive_has_a_fate() {
        assert_eq!(
            RENAMED.len() + DROPPED.len(),
            49,
            "nginx 1.22 has 49 fastcgi_* directives"
        );
        assert_eq!(fate("fastcgi_pass"), Some(Fate::Rename));
        assert!(matches!(fate("fastcgi_index"), Some(Fate::Drop(_))));
        assert_eq!(fate("fastcgi_bogus"), None);
        assert_eq!(fate("uwsgi_pass"), None);
    }

    #[test]
    fn every_proxy_directive_has_a_fate() {
        // pass, set_header and cache_path are rewritten, not looked up.
        assert_eq!(
            PROXY_RENAMED.len() + PROXY_DROPPED.len() + 3,
            68,
            "nginx 1.22 has 68 proxy_* directives"
        );
        assert_eq!(proxy_fate("proxy_read_timeout"), Some(Fate::Rename));
        assert!(matches!(proxy_fate("proxy_redirect"), Some(Fate::Drop(_))));
        assert_eq!(proxy_fate("proxy_bogus"), None);
        // Every renamed one is a uwsgi directive too.
        for suffix in PROXY_RENAMED {
            assert!(RENAMED.contains(&suffix), "uwsgi_{suffix}");
        }
    }
}
