//! What mgdeploy knows about the protocols between nginx and MediaGoblin,
//! in one place that `migrate` and `check` both read: the FastCGI → uWSGI
//! directive table, the FastCGI variables, which `*_pass` speaks which
//! protocol, and addresses.

pub mod address;
pub mod directives;

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
    /// The protocol of a `*_pass` directive.
    pub fn of_pass(directive: &[u8]) -> Option<Protocol> {
        match directive {
            b"fastcgi_pass" => Some(Protocol::FastCgi),
            b"uwsgi_pass" => Some(Protocol::Uwsgi),
            b"proxy_pass" => Some(Protocol::Http),
            _ => None,
        }
    }

    /// The `*_pass` argument's address.
    pub fn address(self, argument: &str) -> Address {
        match self {
            Protocol::Http => Address::parse_proxy_url(argument),
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
