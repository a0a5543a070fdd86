//! The FastCGI → uWSGI directive table (nginx 1.22, `ngx_http_fastcgi_commands`
//! and `ngx_http_uwsgi_commands`): the one place that says what becomes of
//! each `fastcgi_*` directive.

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
}
