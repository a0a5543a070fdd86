//! What an HTTP hop to paster means in uWSGI's terms: the parts of a
//! `proxy_pass` URL, the request headers that belonged to the hop itself,
//! and the uWSGI variable a request header arrives in. Migrate rewrites
//! with these; check's MG033 offers the same.

use super::Address;

/// Headers of the HTTP hop itself: they meant nothing to MediaGoblin.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Whether `name` is a header of the HTTP connection, not of the request.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str())
}

/// The parts of a `proxy_pass` URL.
#[derive(Debug, PartialEq, Eq)]
pub struct ProxyUrl<'a> {
    pub https: bool,
    /// `host:port`, `unix:/path`, or an upstream's name, as written.
    pub authority: &'a str,
    /// What follows the address: `""`, `/`, `/path/`.
    pub uri: &'a str,
}

impl<'a> ProxyUrl<'a> {
    pub fn parse(url: &'a str) -> ProxyUrl<'a> {
        let (https, rest) = match url.strip_prefix("https://") {
            Some(rest) => (true, rest),
            None => (false, url.strip_prefix("http://").unwrap_or(url)),
        };
        // `unix:/path:/uri`: the socket's path ends at the next colon.
        let end = match rest.strip_prefix("unix:") {
            Some(path) => path.find(':').map_or(rest.len(), |i| "unix:".len() + i),
            None => rest.find('/').unwrap_or(rest.len()),
        };
        let (authority, uri) = rest.split_at(end);
        let uri = if authority.starts_with("unix:") {
            uri.strip_prefix(':').unwrap_or(uri)
        } else {
            uri
        };
        ProxyUrl {
            https,
            authority,
            uri,
        }
    }

    /// The scheme's port: what nginx connects to when none is given.
    fn default_port(&self) -> u16 {
        if self.https { 443 } else { 80 }
    }

    /// The port nginx put into `$proxy_port` and `Host: $proxy_host`.
    pub fn port(&self) -> String {
        match self.authority.rsplit_once(':') {
            Some((_, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                port.to_string()
            }
            _ => self.default_port().to_string(),
        }
    }

    /// Where nginx sends the request: a UNIX socket, `host:port` (the
    /// scheme's port when none is given, for a name that is a host), or an
    /// upstream's name.
    pub fn address(&self) -> Address {
        if let Some(path) = self.authority.strip_prefix("unix:") {
            return Address::parse_nginx(&format!("unix:{path}"));
        }
        match Address::parse_nginx(self.authority) {
            Address::Upstream(name) if name.contains('.') || name == "localhost" => Address::Tcp {
                host: name.to_ascii_lowercase(),
                port: self.default_port(),
            },
            address => address,
        }
    }
}

/// The uWSGI variable a request header arrives in: `X-Real-IP` →
/// `HTTP_X_REAL_IP`. `None` for a name that is no HTTP token of letters,
/// digits and `-` (there would be no telling what MediaGoblin reads).
pub fn header_variable(name: &str) -> Option<String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    Some(format!(
        "HTTP_{}",
        name.to_ascii_uppercase().replace('-', "_")
    ))
}

/// `proxy_set_header NAME VALUE;` said as uWSGI's: `uwsgi_param
/// HTTP_NAME VALUE if_not_empty;`. nginx leaves out a header whose value is
/// empty, and `if_not_empty` does the same for the variable; a parameter
/// named `HTTP_*` also keeps nginx from sending the visitor's own header of
/// that name, as `proxy_set_header` did.
pub fn header_param(variable: &str, raw_value: &str) -> String {
    let may_be_empty = raw_value.contains('$') || matches!(raw_value, "\"\"" | "''");
    if may_be_empty {
        format!("uwsgi_param {variable} {raw_value} if_not_empty;")
    } else {
        format!("uwsgi_param {variable} {raw_value};")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_are_split_into_address_and_path() {
        let url = ProxyUrl::parse("http://127.0.0.1:6543");
        assert_eq!(
            (url.authority, url.uri, url.https),
            ("127.0.0.1:6543", "", false)
        );
        let url = ProxyUrl::parse("http://127.0.0.1:6543/");
        assert_eq!((url.authority, url.uri), ("127.0.0.1:6543", "/"));
        let url = ProxyUrl::parse("https://mediagoblin/x/");
        assert_eq!(
            (url.authority, url.uri, url.https),
            ("mediagoblin", "/x/", true)
        );
        let url = ProxyUrl::parse("http://unix:/run/mg.sock");
        assert_eq!((url.authority, url.uri), ("unix:/run/mg.sock", ""));
        let url = ProxyUrl::parse("http://unix:/run/mg.sock:/");
        assert_eq!((url.authority, url.uri), ("unix:/run/mg.sock", "/"));
        assert_eq!(ProxyUrl::parse("http://[::1]:6543").port(), "6543");
        assert_eq!(ProxyUrl::parse("http://mediagoblin").port(), "80");
    }

    #[test]
    fn proxy_urls_reach_an_address() {
        let tcp = |host: &str, port| Address::Tcp {
            host: host.into(),
            port,
        };
        let address = |url: &str| ProxyUrl::parse(url).address();
        assert_eq!(
            address("http://unix:/var/run//uwsgi.sock:/"),
            Address::Unix("/var/run/uwsgi.sock".into())
        );
        assert_eq!(address("http://127.0.0.1:6543/"), tcp("127.0.0.1", 6543));
        assert_eq!(address("http://localhost"), tcp("localhost", 80));
        assert_eq!(address("https://Example.org/x"), tcp("example.org", 443));
        assert_eq!(address("http://[::1]:6543"), tcp("::1", 6543));
        assert_eq!(
            address("http://backend/x"),
            Address::Upstream("backend".into())
        );
    }

    #[test]
    fn headers_become_uwsgi_variables() {
        assert_eq!(
            header_variable("X-Real-IP").as_deref(),
            Some("HTTP_X_REAL_IP")
        );
        assert_eq!(header_variable("host").as_deref(), Some("HTTP_HOST"));
        assert_eq!(header_variable("X_Y"), None);
        assert_eq!(header_variable(""), None);
        assert_eq!(header_variable("a;b"), None);
        assert_eq!(
            header_param("HTTP_HOST", "$http_host"),
            "uwsgi_param HTTP_HOST $http_host if_not_empty;"
        );
        assert_eq!(
            header_param("HTTP_X_FORWARDED_PROTO", "https"),
            "uwsgi_param HTTP_X_FORWARDED_PROTO https;"
        );
        assert_eq!(
            header_param("HTTP_ACCEPT_ENCODING", "\"\""),
            "uwsgi_param HTTP_ACCEPT_ENCODING \"\" if_not_empty;"
        );
        assert!(is_hop_by_hop("Connection"));
        assert!(!is_hop_by_hop("Host"));
    }
}
