//! What mgdeploy knows about the protocols between nginx and MediaGoblin,
//! in one place that `migrate` and `check` both read: what becomes of each
//! FastCGI and HTTP directive, which `*_pass` speaks which protocol,
//! addresses, and how large a request uWSGI can read.

pub mod address;
pub mod directives;
pub mod fastcgi;
pub mod http;

/// uWSGI's `buffer-size` when none is set.
pub const UWSGI_BUFFER_DEFAULT: u64 = 4096;

/// The largest `buffer-size` that helps: a uwsgi packet's size is 16 bits,
/// so uWSGI never reads a request's variables past 65535 bytes.
pub const UWSGI_BUFFER_MAX: u64 = 65535;

/// The `buffer-size` uWSGI needs to read every request nginx lets through
/// with `header_room` bytes of headers: that much, within what uWSGI can
/// hold (`UWSGI_BUFFER_DEFAULT`..=`UWSGI_BUFFER_MAX`).
pub fn uwsgi_buffer_for(header_room: u64) -> u64 {
    header_room.clamp(UWSGI_BUFFER_DEFAULT, UWSGI_BUFFER_MAX)
}

pub use address::Address;

/// How nginx talks to the application server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    FastCgi,
    Uwsgi,
    Http,
}

impl Protocol {
    /// The prefix of the directives of the nginx module that speaks it,
    /// underscore included (`fastcgi_pass`, `uwsgi_pass`, `proxy_pass`).
    pub fn prefix(self) -> &'static str {
        match self {
            Protocol::FastCgi => "fastcgi_",
            Protocol::Uwsgi => "uwsgi_",
            Protocol::Http => "proxy_",
        }
    }

    /// The protocol of a `*_pass` directive.
    pub fn of_pass(directive: &[u8]) -> Option<Protocol> {
        [Protocol::FastCgi, Protocol::Uwsgi, Protocol::Http]
            .into_iter()
            .find(|protocol| {
                directive.strip_prefix(protocol.prefix().as_bytes()) == Some(b"pass".as_slice())
            })
    }

    /// The `*_pass` argument's address.
    pub fn address(self, argument: &str) -> Address {
        match self {
            Protocol::Http => http::ProxyUrl::parse(argument).address(),
            Protocol::FastCgi | Protocol::Uwsgi => Address::parse_nginx(argument),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::FastCgi => "FastCGI",
            Protocol::Uwsgi => "uWSGI",
            Protocol::Http => "HTTP",
        }
    }
}
