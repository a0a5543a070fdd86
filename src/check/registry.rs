//! Every rule `check` knows, by its stable code. Codes never change meaning
//! and are never reused; CI configurations and SARIF consumers rely on them.

use crate::diagnostic::Severity;

pub struct Rule {
    pub code: &'static str,
    /// A short kebab-case name, for SARIF and humans.
    pub name: &'static str,
    /// The severity of a typical finding (some rules report at two levels).
    pub severity: Severity,
    /// For rules about attacks: a CVSS-like score from 0.0 to 10.0, as code
    /// scanning ranks security alerts by (`security-severity`).
    pub security_severity: Option<&'static str>,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// What `check --explain CODE` prints.
    pub explanation: &'static str,
    /// What `check --fix` does about a finding, when it can (the finding
    /// says whether its fix is safe or needs `--unsafe-fixes`).
    pub fix: Option<&'static str>,
}

pub const RULES: &[Rule] = &[
    Rule {
        code: "MG001",
        name: "syntax-error",
        severity: Severity::Error,
        security_severity: None,
        summary: "a configuration file does not parse",
        explanation: "An nginx file, paste.ini, mediagoblin.ini or the uWSGI ini cannot be read the way nginx, \
            Python's configparser or uWSGI read it. nginx refuses to start (or reload) with a file it cannot \
            parse; paster and uWSGI's paste loader refuse a paste.ini configparser rejects. The message names \
            the line and column and what was expected there.",
        fix: None,
    },
    Rule {
        code: "MG002",
        name: "unknown-directive",
        severity: Severity::Error,
        security_severity: None,
        summary: "an nginx directive nginx does not know",
        explanation: "nginx compares directive names byte for byte: `uWSGI_pass` is not `uwsgi_pass`, and nginx \
            stops with `unknown directive`. A name that differs from a known directive only in case, or by a \
            letter or two, is an error with the likely intended name. A name mgdeploy does not know at all may \
            belong to a third-party module; that is a warning, since nginx accepts it when the module is loaded.",
        fix: Some(
            "writes the directive's name in the case nginx knows (safe); a name a letter or two away is another directive's only probably (unsafe)",
        ),
    },
    Rule {
        code: "MG003",
        name: "include-problem",
        severity: Severity::Error,
        security_severity: None,
        summary: "`include` names a file that does not exist, or includes itself",
        explanation: "A plain `include` path must name an existing file (nginx stops with `open() failed` \
            otherwise); relative paths start at nginx's configuration directory, and file names are \
            case-sensitive (`uWSGI_params` is not `uwsgi_params`). A glob that matches nothing is fine. A file \
            that includes itself, directly or through others, would be read forever. nginx's stock files \
            (`uwsgi_params`, `mime.types` ...) are known from mgdeploy's copies where nginx is not installed \
            (a note). Any other missing file is a warning, since the server may have it; it is an error when \
            MediaGoblin's location includes it, because what the location does then cannot be known.",
        fix: Some(
            "names the file in the case it exists with, beside it or as nginx's stock file (safe)",
        ),
    },
    Rule {
        code: "MG004",
        name: "still-fastcgi",
        severity: Severity::Warning,
        security_severity: None,
        summary: "MediaGoblin is still served over FastCGI",
        explanation: "MediaGoblin's location passes requests to flup's FastCGI server, which needs Python 2 and \
            `paster`. MediaGoblin stopped documenting FastCGI in 0.10.0. `mgdeploy migrate` moves the \
            location to uWSGI, writes the uWSGI ini and patches lazystarter.sh.",
        fix: None,
    },
    Rule {
        code: "MG005",
        name: "address-mismatch",
        severity: Severity::Error,
        security_severity: None,
        summary: "nginx passes to an address the uWSGI ini does not listen on",
        explanation: "The `uwsgi_pass` address of MediaGoblin's location must be one of the `socket`s in the uWSGI \
            ini; otherwise nginx answers 502 Bad Gateway (connection refused) for every page.",
        fix: None,
    },
    Rule {
        code: "MG006",
        name: "param-without-pass",
        severity: Severity::Error,
        security_severity: None,
        summary: "a location sets `uwsgi_param` but does not `uwsgi_pass`",
        explanation: "`uwsgi_param` only matters for requests the location passes to uWSGI. Without a `uwsgi_pass` \
            in the same location the parameters go nowhere; usually the pass was lost, or misspelt.",
        fix: None,
    },
    Rule {
        code: "MG007",
        name: "prefix-not-stripped",
        severity: Severity::Error,
        security_severity: None,
        summary: "nginx sends SCRIPT_NAME but nothing takes it off PATH_INFO",
        explanation: "With `uwsgi_param SCRIPT_NAME /prefix;` nginx still sends the whole URI as PATH_INFO \
            (uwsgi_params sets it from $document_uri), so MediaGoblin sees /prefix twice and answers 404. \
            Something must strip it: `route-run = fixpathinfo:` in the uWSGI ini, or (better) drop the param \
            and use `mount = /prefix=config:/abs/paste.ini` with `manage-script-name = true`.",
        fix: None,
    },
    Rule {
        code: "MG008",
        name: "prefix-stripped-twice",
        severity: Severity::Error,
        security_severity: None,
        summary: "the prefix is taken off PATH_INFO twice",
        explanation: "Two mechanisms each remove the prefix length from PATH_INFO (`route-run = fixpathinfo:`, \
            `manage-script-name` with a mountpoint, `uwsgi_modifier1 30` on Python 2); the second one cuts \
            into the real path. Keep one.",
        fix: None,
    },
    Rule {
        code: "MG009",
        name: "modifier1-python3",
        severity: Severity::Error,
        security_severity: None,
        summary: "`uwsgi_modifier1 30` with uWSGI's Python 3 plugin",
        explanation: "modifier1 30 asks uWSGI to remove SCRIPT_NAME from PATH_INFO. The Python 3 plugin checks for \
            byte strings where it has text and silently does nothing (unbit/uwsgi#876), so MediaGoblin gets \
            PATH_INFO with the prefix still on it. uWSGI's own docs call the trick deprecated. Use \
            `mount` + `manage-script-name`, or `route-run = fixpathinfo:`.",
        fix: Some(
            "drops `uwsgi_modifier1 30` and adds `route-run = fixpathinfo:` to the uWSGI ini, where nginx sends SCRIPT_NAME (unsafe: two files, new routing)",
        ),
    },
    Rule {
        code: "MG010",
        name: "mountpoint-trailing-slash",
        severity: Severity::Error,
        security_severity: None,
        summary: "a uWSGI mountpoint ends with `/`",
        explanation: "`mount = /mediagoblin/=...` makes SCRIPT_NAME `/mediagoblin/` and PATH_INFO lose its leading \
            slash (`u/x` instead of `/u/x`). Write the mountpoint without the trailing slash; nginx's location \
            keeps its own (`location /mediagoblin/`).",
        fix: Some("drops the trailing slash (safe)"),
    },
    Rule {
        code: "MG011",
        name: "paste-app-path",
        severity: Severity::Error,
        security_severity: None,
        summary: "`mount` or `paste` without `config:` or with a relative path",
        explanation: "uWSGI hands `config:/abs/paste.ini` to PasteDeploy. A bare `/path/paste.ini` in `mount` is \
            silently not mounted (every request: 500, no Python application found), and PasteDeploy refuses a \
            relative `config:paste.ini`. Write `config:` and an absolute path.",
        fix: Some("puts `config:` before an absolute paste.ini path (safe)"),
    },
    Rule {
        code: "MG012",
        name: "fastcgi-leftover",
        severity: Severity::Warning,
        security_severity: None,
        summary: "`fastcgi_*` directives or `$fastcgi_*` variables in a uWSGI location",
        explanation: "`fastcgi_*` directives do nothing for requests passed with `uwsgi_pass`, and \
            $fastcgi_script_name / $fastcgi_path_info depend on FastCGI settings (fastcgi_index, \
            fastcgi_split_path_info). Use the uwsgi_* twins, and $uri or $document_uri.",
        fix: Some(
            "drops the FastCGI-only directives the table says have no uWSGI twin (safe); renames the others to their `uwsgi_` twin (unsafe: the setting starts to apply)",
        ),
    },
    Rule {
        code: "MG013",
        name: "public-uwsgi-socket",
        severity: Severity::Error,
        security_severity: Some("9.8"),
        summary: "uWSGI speaks the uwsgi protocol on a public or wildcard address",
        explanation: "The uwsgi protocol lets the client set variables such as UWSGI_FILE, which make uWSGI load \
            and run code. Its socket must only be reachable by nginx: a UNIX socket, or 127.0.0.1. `:3031` and \
            `0.0.0.0:3031` listen on every interface.",
        fix: None,
    },
    Rule {
        code: "MG014",
        name: "socket-permissions",
        severity: Severity::Error,
        security_severity: Some("8.8"),
        summary: "a UNIX socket anyone may write to, or that nginx cannot",
        explanation: "`chmod-socket = 666` lets every local user talk uwsgi to MediaGoblin (and load code, see \
            MG013). Without `chmod-socket`/`chown-socket` the socket belongs to the user uWSGI runs as and \
            nginx's workers get `Permission denied`: 502 for every page. Use `chmod-socket = 660` and \
            `chown-socket = <nginx's user>`.",
        fix: None,
    },
    Rule {
        code: "MG015",
        name: "alias-traversal",
        severity: Severity::Error,
        security_severity: Some("7.5"),
        summary: "a location and its `alias` disagree on the trailing slash",
        explanation: "`location /static { alias /srv/static/; }` maps `/static../secret` to `/srv/static/../secret`: \
            one directory up. `location /static/ { alias /srv/static; }` maps `/static/x` to `/srv/staticx`. \
            End both with `/`, or neither.",
        fix: None,
    },
    Rule {
        code: "MG016",
        name: "static-not-served",
        severity: Severity::Warning,
        security_severity: None,
        summary: "a static or media URL of mediagoblin.ini that nginx does not serve",
        explanation: "MediaGoblin builds URLs for its static files, theme and plugin files and uploads from \
            mediagoblin.ini (direct_remote_path, theme_web_path, plugin_web_path, [storage:publicstore] \
            base_url). They do not follow SCRIPT_NAME. When no nginx location serves them, they reach \
            MediaGoblin itself, which serves them slowly or not at all.",
        fix: None,
    },
    Rule {
        code: "MG017",
        name: "upload-limit",
        severity: Severity::Warning,
        security_severity: None,
        summary: "`client_max_body_size` is below what MediaGoblin accepts",
        explanation: "nginx refuses request bodies larger than client_max_body_size (1m unless set) with 413 \
            before MediaGoblin sees them, so uploads MediaGoblin would accept (upload_limit, max_file_size in \
            mediagoblin.ini; no limit by default) fail.",
        fix: None,
    },
    Rule {
        code: "MG018",
        name: "no-celery-worker",
        severity: Severity::Warning,
        security_severity: None,
        summary: "background tasks are not eager and no celery worker is set up",
        explanation: "MediaGoblin processes uploads in celery. It runs them in the web process only when the \
            environment has CELERY_ALWAYS_EAGER=true (lazyserver.sh exports it; under uWSGI: `env = \
            CELERY_ALWAYS_EAGER=true`). Otherwise a worker must run (lazycelery.sh, or a mediagoblin-celeryd \
            service), or uploads wait forever.",
        fix: None,
    },
    Rule {
        code: "MG019",
        name: "unknown-uwsgi-option",
        severity: Severity::Error,
        security_severity: None,
        summary: "a uWSGI option uWSGI does not know",
        explanation: "uWSGI option names are case-sensitive. With `strict = true` an unknown option stops uWSGI; \
            without it uWSGI silently treats it as a placeholder and the setting has no effect.",
        fix: None,
    },
    Rule {
        code: "MG020",
        name: "uwsgi-plugin-missing",
        severity: Severity::Error,
        security_severity: None,
        summary: "the uWSGI ini loads a plugin this host does not have",
        explanation: "`plugins = python` looks for python_plugin.so, which only the Python 2 package provided; \
            Debian ships python3_plugin.so. In an ini file uWSGI only logs that the plugin did not load, then \
            treats its options as unknown and serves every request with an error. Use `plugins = python3`.",
        fix: None,
    },
    Rule {
        code: "MG021",
        name: "buffer-size",
        severity: Severity::Info,
        security_severity: None,
        summary: "uWSGI's request buffer is smaller than the headers nginx lets through",
        explanation: "uWSGI reads a request's variables into `buffer-size` bytes (4096 by default) and drops the \
            request (`invalid request block size`) when they do not fit; nginx accepts request headers up to \
            large_client_header_buffers (8k by default). Long cookies or URLs then fail with 502. Set \
            `buffer-size = 8192` or more.",
        fix: Some("sets `buffer-size` to what nginx lets through (safe)"),
    },
    Rule {
        code: "MG022",
        name: "script-name-missing",
        severity: Severity::Error,
        security_severity: None,
        summary: "MediaGoblin gets no SCRIPT_NAME",
        explanation: "MediaGoblin's app.py reads environ['SCRIPT_NAME'], and so does Paste's urlmap (the paste.ini \
            of MediaGoblin up to 0.4); without it every page is a 502 (KeyError). nginx's uwsgi_params sends no \
            SCRIPT_NAME, and uWSGI adds none for an app at /. At / send it empty: `uwsgi_param SCRIPT_NAME \"\";`. \
            Under a prefix, uWSGI's `mount` + `manage-script-name` sets it, or nginx sends the prefix.",
        fix: Some(
            "adds `uwsgi_param SCRIPT_NAME \"\";` after the `uwsgi_pass` of a location at `/` (safe)",
        ),
    },
    Rule {
        code: "MG023",
        name: "python-mismatch",
        severity: Severity::Error,
        security_severity: None,
        summary: "the uWSGI ini loads a Python plugin that cannot run the virtualenv's Python",
        explanation: "A uWSGI Python plugin embeds one Python. MediaGoblin up to 0.9 runs on Python 2.7, and \
            Debian ships only a Python 3 plugin: on a Python 2 virtualenv it dies at start with `No module named \
            'encodings'`. Install uWSGI into the virtualenv (`bin/pip install uwsgi`, built against its \
            Python), drop the `plugins` line and start that uWSGI, or load the plugin for the virtualenv's \
            Python.",
        fix: None,
    },
    Rule {
        code: "MG024",
        name: "uwsgi-ini-not-found",
        severity: Severity::Warning,
        security_severity: None,
        summary: "nginx passes MediaGoblin's requests over uwsgi, but no uWSGI ini of the site was found",
        explanation: "mgdeploy looks for the uWSGI ini at <root>/mediagoblin-uwsgi.ini (or --uwsgi-ini, or \
            mgdeploy.toml's uwsgi-ini), at the ini the last `migrate` wrote, and for an ini that names the \
            checkout in /etc/uwsgi/apps-enabled, /etc/uwsgi-emperor/vassals and /etc/uwsgi/apps-available. Without \
            it nothing can say whether anything listens where nginx sends requests, and the uWSGI rules do not \
            run. Name it with --uwsgi-ini FILE.",
        fix: None,
    },
    Rule {
        code: "MG025",
        name: "lazyserver-cannot-start",
        severity: Severity::Error,
        security_severity: None,
        summary: "lazyserver.sh starts uWSGI in a way uWSGI refuses",
        explanation: "Patched as old guides show, lazystarter.sh runs `uwsgi --ini-paste \"$ini_file\"`: paste.ini has \
            no [uwsgi] section, so uWSGI has no socket and exits (`The -s/--socket option is missing`). \
            paster's `--reload` is no uWSGI flag either (uWSGI's --reload takes a pidfile). Start uWSGI on its \
            own ini: `$starter --ini /path/to/mediagoblin-uwsgi.ini \"$@\"`.",
        fix: None,
    },
    Rule {
        code: "MG026",
        name: "nginx-refuses",
        severity: Severity::Error,
        security_severity: None,
        summary: "a directive where nginx does not allow it, or with arguments nginx refuses",
        explanation: "nginx knows, for each directive it ships, in which blocks it may stand, whether it opens a \
            block, and how many arguments it takes; it refuses to start otherwise (`invalid number of \
            arguments`, `is not allowed here`). A missing `;` is the usual cause: `fastcgi_pass \
            127.0.0.1:26543` followed by `include fastcgi_params;` on the next line is one directive with \
            three arguments. mgdeploy checks this from nginx's own table, also where nginx is not installed.",
        fix: None,
    },
    Rule {
        code: "MG027",
        name: "suppression-problem",
        severity: Severity::Warning,
        security_severity: None,
        summary: "an `# mgdeploy: ignore[...]` comment without a reason, with an unknown code, or with nothing to ignore",
        explanation: "A finding can be silenced where it is: `# mgdeploy: ignore[MG017] the CDN serves /mgoblin_media` \
            on the finding's line, or alone on the line before it (in an ini, only on its own line: configparser \
            keeps the rest of a line as the value). The reason is required, so that the next reader knows why; \
            without one the comment silences nothing. A code that is no rule, or a comment where that rule finds \
            nothing, is reported too: the comment is stale. Whole rules are left out with --ignore or \
            `[check] ignore` in mgdeploy.toml.",
        fix: None,
    },
    Rule {
        code: "MG028",
        name: "fastcgi-service-enabled",
        severity: Severity::Error,
        security_severity: None,
        summary: "a service that starts paster's FastCGI server is still enabled after the move to uWSGI",
        explanation: "nginx passes MediaGoblin's requests to uWSGI, but a systemd unit, init script or supervisor \
            program still starts `paster serve … --server-name=fcgi` at boot. After the next reboot paster \
            takes the address first (uWSGI then fails to bind) or loses it: one of the two is down, and the \
            site with it. `mgdeploy migrate` rewrites such a service to start uWSGI; otherwise disable it \
            (`systemctl disable --now mediagoblin-paster`, `update-rc.d NAME disable`, `autostart=false`).",
        fix: None,
    },
    Rule {
        code: "MG029",
        name: "service-uwsgi-cannot-run-site",
        severity: Severity::Error,
        security_severity: None,
        summary: "a service starts a uWSGI that cannot load the site's Python",
        explanation: "A unit or script starts uWSGI for this site, but that uWSGI cannot run the virtualenv: the \
            host's uWSGI (/usr/bin/uwsgi) has no plugin for its Python (Debian has none for Python 2.7, which \
            MediaGoblin ≤ 0.9 needs), or the virtualenv's own uWSGI (bin/uwsgi) is not installed. The service \
            fails at every start. Install uWSGI into the virtualenv (`bin/pip install uwsgi`) and start that one.",
        fix: None,
    },
    Rule {
        code: "MG030",
        name: "uwsgi-not-started-at-boot",
        severity: Severity::Warning,
        security_severity: None,
        summary: "nothing starts the site's uWSGI ini at boot",
        explanation: "nginx passes MediaGoblin's requests to uWSGI, and the uWSGI ini is there, but no systemd unit, \
            init script or supervisor program starts it (directly or through lazyserver.sh), and it is neither \
            one of Debian's enabled apps (/etc/uwsgi/apps-enabled) nor an emperor's vassal. The site works until \
            the next reboot. `mgdeploy migrate --service-style systemd|debian-apps|emperor` sets one up.",
        fix: None,
    },
    Rule {
        code: "MG031",
        name: "ambiguous-location",
        severity: Severity::Warning,
        security_severity: None,
        summary: "several FastCGI locations could be MediaGoblin's",
        explanation: "More than one location passes to a FastCGI address that could be MediaGoblin's (none is PHP's, \
            and paste.ini's `[server:fcgi]` does not pick one out). mgdeploy does not guess: the rules about \
            MediaGoblin's location are not run, and `migrate` plans nothing. Name MediaGoblin's address with \
            `--fcgi-address ADDR` (or `fcgi-address` under `[migrate]` in mgdeploy.toml), for `check` and \
            `migrate` alike.",
        fix: None,
    },
];

pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code.eq_ignore_ascii_case(code))
}

/// A rule's code as typed (`mg017`, ` MG017`), or what the codes are.
pub fn parse_code(text: &str) -> Result<&'static str, String> {
    rule(text.trim()).map(|r| r.code).ok_or_else(|| {
        format!(
            "`{text}` is not a rule; the rules are MG001 to {} (`mgdeploy check --explain` lists them)",
            RULES.last().map_or("MG001", |r| r.code)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_in_order() {
        for (index, rule) in RULES.iter().enumerate() {
            assert_eq!(rule.code, format!("MG{:03}", index + 1));
        }
        assert!(rule("mg009").is_some());
    }
}
