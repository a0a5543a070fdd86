//! What a MediaGoblin site answers, page by page, and the comparison of
//! two states of it (before and after a move): the real-MediaGoblin tests
//! of 0.9 (FastCGI) and 0.15 (HTTP) ask the same pages and hold the
//! answers to the same standard.

use std::path::Path;
use std::process::Command;

use super::http::{Client, Response};

/// One page as compared: what was asked, and the answer with what differs
/// from run to run masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub label: &'static str,
    pub status: u16,
    pub headers: Vec<String>,
    pub body: String,
}

/// Replaces the value after `marker` up to the next `"` (or `;`).
pub fn mask_after(text: &str, marker: &str, end: char) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        out.push_str("<masked>");
        rest = tail.find(end).map_or("", |i| &tail[i..]);
    }
    out.push_str(rest);
    out
}

pub fn masked(label: &'static str, response: &Response, secrets: &[String]) -> Page {
    let mut body = response.text();
    for secret in secrets.iter().filter(|s| s.len() > 4) {
        body = body.replace(secret.as_str(), "<masked>");
    }
    // An Atom feed says when it was made.
    body = mask_after(&body, "<updated>", '<');
    let headers = response
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("date"))
        .map(|(name, value)| {
            if name.eq_ignore_ascii_case("content-length") {
                // Of the body as compared (masked values differ in length).
                let unchanged = value
                    .parse::<usize>()
                    .is_ok_and(|n| n == response.body.len());
                let shown = if unchanged {
                    body.len().to_string()
                } else {
                    format!("{value} (not the body's length)")
                };
                format!("{name}: {shown}")
            } else if name.eq_ignore_ascii_case("set-cookie") {
                // The cookie's value, and its expiry time.
                let (cookie, attributes) = value.split_once(';').unwrap_or((value, ""));
                let cookie = cookie
                    .split_once('=')
                    .map_or(cookie.to_string(), |(n, _)| format!("{n}=<masked>"));
                format!(
                    "{name}: {cookie};{}",
                    mask_after(attributes, "expires=", ';')
                )
            } else {
                format!("{name}: {value}")
            }
        })
        .collect();
    Page {
        label,
        status: response.status,
        headers,
        body,
    }
}

/// The CSRF token of the login form.
pub fn csrf_token(page: &Response) -> String {
    let text = page.text();
    let at = text
        .find("name=\"csrf_token\"")
        .unwrap_or_else(|| panic!("no csrf_token field on the login page:\n{text}"));
    let tag_start = text[..at].rfind('<').unwrap_or(0);
    let tag_end = at + text[at..].find('>').unwrap_or(0);
    let tag = &text[tag_start..tag_end];
    let value = tag
        .split("value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("no value in {tag}"));
    value.to_string()
}

/// The pages every state is asked for. `prefix` is where MediaGoblin is
/// mounted (`""` at /); static files stay at the root.
pub fn pages(port: u16, prefix: &str) -> Vec<Page> {
    let app = |path: &str| format!("{prefix}{path}");
    let mut visitor = Client::new(port);
    let mut out = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    let record = |out: &mut Vec<Page>, label, response: Response, secrets: &[String]| {
        out.push(masked(label, &response, secrets));
    };

    let r = visitor.get(&app("/"));
    record(&mut out, "GET /", r, &secrets);
    let login = visitor.get(&app("/auth/login/"));
    let token = csrf_token(&login);
    secrets.push(token.clone());
    secrets.extend(visitor.cookies.iter().map(|(_, v)| v.clone()));
    record(&mut out, "GET /auth/login/", login, &secrets);
    let r = visitor.get("/mgoblin_static/css/base.css");
    record(
        &mut out,
        "GET /mgoblin_static/css/base.css (nginx)",
        r,
        &secrets,
    );
    let r = visitor.get(&app("/no/such/page/"));
    record(&mut out, "GET /no/such/page/", r, &secrets);
    let r = visitor.get(&app("/u/admin/"));
    record(&mut out, "GET /u/admin/", r, &secrets);
    let r = visitor.get(&app("/u/ad%6Din/"));
    record(&mut out, "GET /u/ad%6Din/ (percent-encoded)", r, &secrets);
    let r = visitor.get(&app("/u/no%20one/"));
    record(&mut out, "GET /u/no%20one/", r, &secrets);
    let r = visitor.get(&app("/u/admin/gallery/?page=1&x=a%20b"));
    record(
        &mut out,
        "GET /u/admin/gallery/?page=1&x=a%20b",
        r,
        &secrets,
    );
    let r = visitor.get(&app("/u/admin/atom/"));
    record(&mut out, "GET /u/admin/atom/ (absolute URLs)", r, &secrets);

    let mut stranger = Client::new(port);
    let r = stranger.post_form(&app("/auth/login/"), "username=admin&password=adminpass");
    record(
        &mut out,
        "POST /auth/login/ without CSRF token",
        r,
        &secrets,
    );

    let r = visitor.post_form(
        &app("/auth/login/"),
        &format!("csrf_token={token}&username=admin&password=wrong"),
    );
    record(&mut out, "POST /auth/login/ wrong password", r, &secrets);
    let r = visitor.post_form(
        &app("/auth/login/"),
        &format!("csrf_token={token}&username=admin&password=adminpass"),
    );
    secrets.extend(visitor.cookies.iter().map(|(_, v)| v.clone()));
    record(&mut out, "POST /auth/login/ right password", r, &secrets);
    let r = visitor.get(&app("/"));
    assert!(
        r.text().contains("Log out") || r.text().contains("log out"),
        "not logged in after the login:\n{}",
        r.text()
    );
    record(&mut out, "GET / logged in", r, &secrets);
    let r = visitor.get(&app("/edit/account/"));
    record(&mut out, "GET /edit/account/ logged in", r, &secrets);
    out
}

/// A page served under `prefix`, said as it would be at `/`. Before that,
/// every link of the page must carry the prefix (static files excepted:
/// MediaGoblin builds their URLs from mediagoblin.ini, not SCRIPT_NAME).
pub fn as_at_root(page: &Page, prefix: &str) -> Page {
    if prefix.is_empty() {
        return page.clone();
    }
    for attribute in ["href=\"/", "action=\"/", "src=\"/"] {
        for (at, _) in page.body.match_indices(attribute) {
            let link = &page.body[at + attribute.len() - 1..];
            let fine = link.starts_with(&format!("{prefix}/"))
                || [
                    "/mgoblin_static/",
                    "/mgoblin_media/",
                    "/theme_static/",
                    "/plugin_static/",
                ]
                .iter()
                .any(|s| link.starts_with(s));
            assert!(
                fine,
                "{}: a link without the prefix {prefix}: {}",
                page.label,
                &link[..link.len().min(80)]
            );
        }
    }
    // MediaGoblin's cookies have SCRIPT_NAME as their path: empty at /.
    let strip = |text: &str| {
        let text = text
            .replace(&format!("{prefix}/"), "/")
            .replace(&format!("{prefix}\""), "/\"")
            .replace(&format!("Path={prefix};"), "Path=;");
        match text.strip_suffix(&format!("Path={prefix}")) {
            Some(head) => format!("{head}Path="),
            None => text,
        }
    };
    let body = strip(&page.body);
    let headers = page
        .headers
        .iter()
        .map(|h| match h.strip_prefix("Content-Length: ") {
            Some(_) => format!("Content-Length: {}", body.len()),
            None => strip(h),
        })
        .collect();
    Page {
        label: page.label,
        status: page.status,
        headers,
        body,
    }
}

/// The command in backquotes on the summary line that starts with `lead`.
pub fn step(summary: &str, lead: &str) -> Option<String> {
    let line = summary.lines().find(|l| l.contains(lead))?;
    let start = line.find('`')? + 1;
    let end = start + line[start..].find('`')?;
    Some(line[start..end].to_string())
}

pub fn shell(command: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(command);
    sh
}

/// Headers sorted by field name, fields of one name in their order: the
/// order of different fields means nothing (RFC 9110, 5.3), and waitress
/// and uWSGI send MediaGoblin's `Vary` and `Set-Cookie` in different orders.
fn in_field_order(headers: &[String]) -> Vec<String> {
    let mut sorted = headers.to_vec();
    sorted.sort_by_key(|h| {
        h.split_once(':')
            .map_or(h.as_str(), |(name, _)| name)
            .to_ascii_lowercase()
    });
    sorted
}

pub fn compare(
    table: &mut Vec<String>,
    state: &str,
    before: &[Page],
    after: &[Page],
    prefix: &str,
) {
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        let a = as_at_root(a, prefix);
        assert_eq!(a.status, b.status, "{state}: {}: status", b.label);
        assert!(
            a.body == b.body,
            "{state}: {}: the body differs\n--- before\n{}\n--- {state}\n{}",
            b.label,
            b.body,
            a.body
        );
        assert_eq!(
            in_field_order(&a.headers),
            in_field_order(&b.headers),
            "{state}: {}: headers",
            b.label
        );
        table.push(format!(
            "| {} | {} | {} | same headers ({}), same body ({} bytes) |",
            b.label,
            b.status,
            a.status,
            b.headers.len(),
            b.body.len()
        ));
    }
}

/// Holds the pages after the move, started as the summary says (`after`)
/// and through the patched lazyserver.sh (`lazy`), to those before, and
/// prints the table under `title`.
pub fn compare_states(title: String, before: &[Page], after: &[Page], lazy: &[Page], prefix: &str) {
    let mut table = vec![
        title,
        "| page | before | after | compared |".to_string(),
        "| --- | ---: | ---: | --- |".to_string(),
    ];
    compare(
        &mut table,
        "started as the summary says",
        before,
        after,
        prefix,
    );
    table.push(format!(
        "| (all of the above through ./lazyserver.sh) | | | same: {} pages |",
        lazy.len()
    ));
    compare(&mut Vec::new(), "./lazyserver.sh", before, lazy, prefix);
    eprintln!("{}", table.join("\n"));
}

/// `mgdeploy check` finds nothing wrong with the migrated site.
pub fn check_is_clean(root: &Path, nginx_conf: &Path) {
    let checked = super::mgdeploy()
        .arg("check")
        .arg("-C")
        .arg(root)
        .arg("--nginx")
        .arg(nginx_conf)
        .env("NO_COLOR", "1")
        .output()
        .expect("run mgdeploy check");
    assert_eq!(
        checked.status.code(),
        Some(0),
        "check on the migrated site:\n{}",
        String::from_utf8_lossy(&checked.stdout)
    );
}
