//! Broken nginx files through the real binary: each one exits 2 and says
//! what is wrong at `file:line:col`, without a panic.

use crate::common;

struct Case {
    name: &'static str,
    content: Vec<u8>,
    /// `line:col` the message must name.
    at: &'static str,
    says: &'static str,
}

fn case(name: &'static str, content: &[u8], at: &'static str, says: &'static str) -> Case {
    Case {
        name,
        content: content.to_vec(),
        at,
        says,
    }
}

fn cases() -> Vec<Case> {
    let deep = {
        let mut text = b"a".to_vec();
        for _ in 0..20_000 {
            text.extend_from_slice(b" {\nb");
        }
        text.extend_from_slice(b";");
        text.extend(std::iter::repeat_n(b'}', 20_000));
        text
    };
    let deep_lua = {
        let mut text = b"content_by_lua_block ".to_vec();
        text.extend(std::iter::repeat_n(b'{', 20_000));
        text
    };
    vec![
        case(
            "unclosed-block",
            b"http {\n    server {\n        listen 80;\n    }\n",
            "4:6",
            "the `http` block opened on line 1 is never closed",
        ),
        case("stray-close", b"events {}\n}\n", "2:1", "unexpected `}`"),
        case(
            "unterminated-double-quote",
            b"events {}\nhttp {\n  add_header X \"value;\n}\n",
            "3:16",
            "quoted string is never closed",
        ),
        case(
            "unterminated-single-quote",
            b"log_format main '$remote_addr;\n",
            "1:17",
            "quoted string is never closed",
        ),
        case(
            "missing-semicolon-before-brace",
            b"http {\n  sendfile on\n}\n",
            "2:14",
            "expected `;` after the `sendfile` directive, found `}`",
        ),
        case(
            "missing-semicolon-at-eof",
            b"worker_processes 1",
            "1:19",
            "found the end of the file",
        ),
        case("nul-byte", b"events {}\x00\n", "1:10", "NUL byte"),
        case(
            "deep-nesting",
            &deep,
            "201:3",
            "nested more than 200 levels",
        ),
        case(
            "deep-lua-nesting",
            &deep_lua,
            "1:22",
            "Lua code in this block has a `{` that is never closed",
        ),
        case("lone-semicolon", b"events {}\n;\n", "2:1", "unexpected `;`"),
        case(
            "block-without-name",
            b"{ listen 80; }\n",
            "1:1",
            "unexpected `{`",
        ),
        case(
            "glued-after-quote",
            b"server_name \"a\"b;\n",
            "1:16",
            "unexpected `b` right after a quoted string",
        ),
        case(
            "comment-glued-to-quote",
            b"server_name \"a\"#c\n;\n",
            "1:16",
            "unexpected `#` right after a quoted string",
        ),
        case(
            "unclosed-lua-block",
            b"location / {\n  content_by_lua_block {\n    ngx.say('}')\n",
            "2:24",
            "Lua block is never closed",
        ),
        case("backslash-at-eof", b"root /srv\\", "1:11", "expected `;`"),
        case(
            "args-then-close",
            b"http { server_name a b }\n",
            "1:23",
            "found `}`",
        ),
        case(
            "unclosed-inner-block-crlf",
            b"http {\r\n\tserver {\r\n\t\tlisten 80;\r\n}\r\n",
            "4:2",
            "never closed",
        ),
        // Found by fuzzing: the byte after the quote is not UTF-8.
        case(
            "glued-invalid-byte",
            b"a ''\xb8 \xd0\xb5;\n",
            "1:5",
            "right after a quoted string",
        ),
        case(
            "stray-close-after-comment",
            b"# } in a comment is fine\n}\n",
            "2:1",
            "unexpected `}`",
        ),
    ]
}

#[test]
fn each_broken_file_exits_2_with_a_located_message() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cases = cases();
    assert!(cases.len() >= 15);
    for case in &cases {
        let path = dir.path().join(format!("{}.conf", case.name));
        std::fs::write(&path, &case.content).expect("write case");
        let output = common::mgdeploy()
            .arg("parse")
            .arg(&path)
            .output()
            .expect("run mgdeploy");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: exit code; stderr:\n{stderr}",
            case.name
        );
        let location = format!("{}:{}", path.display(), case.at);
        assert!(
            stderr.contains(&location),
            "{}: expected {location} in:\n{stderr}",
            case.name
        );
        assert!(
            stderr.contains(case.says),
            "{}: expected {:?} in:\n{stderr}",
            case.name,
            case.says
        );
        assert!(
            !stderr.contains("panicked"),
            "{}: panicked:\n{stderr}",
            case.name
        );
        // The offending line is shown with a caret under the problem.
        assert!(
            stderr.contains('^'),
            "{}: no caret in:\n{stderr}",
            case.name
        );
    }
}

#[test]
fn unreadable_input_exits_2() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("missing.conf");
    let output = common::mgdeploy()
        .arg("parse")
        .arg(&missing)
        .output()
        .expect("run mgdeploy");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.conf"));
    let output = common::mgdeploy()
        .arg("parse")
        .arg(dir.path())
        .output()
        .expect("run mgdeploy");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn unusual_but_valid_files_parse() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let valid: &[(&str, &[u8])] = &[
        ("empty", b""),
        ("no-final-newline", b"events {}"),
        ("latin1-comment", b"# caf\xe9\nevents {}\n"),
        (
            "latin1-argument",
            b"events {}\nhttp { server_name caf\xe9; }\n",
        ),
        (
            "crlf-tabs",
            b"events {\r\n\tworker_connections 10;\r\n}\r\n",
        ),
        (
            "comment-between-args",
            b"listen 80 # port\n default_server;\n",
        ),
        (
            "quoted-regex-braces",
            b"location ~ \"^/x{2}$\" { return 200; }\n",
        ),
        (
            "lua-braces-in-strings",
            b"content_by_lua_block {\n ngx.say(\"}\") -- }\n}\n",
        ),
        ("variable-braces", b"set $a ${b}c;\n"),
    ];
    for (name, content) in valid {
        let path = dir.path().join(format!("{name}.conf"));
        std::fs::write(&path, content).expect("write case");
        let output = common::mgdeploy()
            .args(["parse", "--single-file"])
            .arg(&path)
            .output()
            .expect("run mgdeploy");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
        assert_eq!(json["status"], "ok", "{name}");
    }
}

#[test]
fn a_missing_include_is_reported_where_it_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("nginx.conf");
    std::fs::write(
        &path,
        "events {}\nhttp {\n    include Sites/*.conf;\n    include uwsgi_Params;\n}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("uwsgi_params"), "uwsgi_param A b;\n").expect("write");
    let output = common::mgdeploy()
        .arg("parse")
        .arg(&path)
        .output()
        .expect("run mgdeploy");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:4:13", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `uwsgi_params`"), "{stderr}");
}

#[test]
fn an_include_cycle_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("a.conf"), "include b.conf;\n").expect("write");
    std::fs::write(dir.path().join("b.conf"), "# loops back\ninclude a.conf;\n").expect("write");
    let output = common::mgdeploy()
        .arg("parse")
        .arg(dir.path().join("a.conf"))
        .output()
        .expect("run mgdeploy");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("include cycle"), "{stderr}");
    assert!(stderr.contains("b.conf:2:1"), "{stderr}");
}
