//! A small HTTP/1.0 client for the tests that talk to nginx on loopback:
//! the whole response (status, headers in order, body) and a cookie jar.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Cookies a client has been given (name, value), sent back on each request.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub port: u16,
    pub cookies: Vec<(String, String)>,
}

impl Client {
    pub fn new(port: u16) -> Self {
        Client {
            port,
            cookies: Vec::new(),
        }
    }

    pub fn get(&mut self, target: &str) -> Response {
        self.send("GET", target, &[], b"")
    }

    pub fn post_form(&mut self, target: &str, form: &str) -> Response {
        self.send(
            "POST",
            target,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
    }

    pub fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let response = request(self.port, method, target, headers, &self.cookies, body);
        for (name, value) in &response.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((cookie, content)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != cookie.trim());
                self.cookies
                    .push((cookie.trim().to_string(), content.trim().to_string()));
            }
        }
        response
    }
}

/// One exchange with nginx on 127.0.0.1:`port`.
pub fn request(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    cookies: &[(String, String)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to nginx");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!("{method} {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !cookies.is_empty() {
        let jar: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        head.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send");
    stream.write_all(body).expect("send body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("an incomplete response to {method} {target}: {raw:?}"));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}
