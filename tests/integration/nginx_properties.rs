//! Properties of the nginx parser on generated input: what parses prints
//! back byte for byte, the lexer always agrees with the grammar, and
//! `parse`'s streamed JSON is the tree's.

use std::sync::Arc;

use mgdeploy::nginx::{parse, parse_with_grammar};
use mgdeploy::source::SourceFile;
use proptest::prelude::*;

fn source(bytes: Vec<u8>) -> Arc<SourceFile> {
    SourceFile::new("generated.conf", bytes)
}

/// The lexer and the grammar give the same tree or the same error.
fn assert_twins(source: &Arc<SourceFile>) {
    match (parse(source), parse_with_grammar(source)) {
        (Ok(a), Ok(b)) => assert_eq!(a.children, b.children),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        // The grammar gives up on absurd nesting inside Lua (pest's stack
        // guard); the lexer counts instead of recursing.
        (Ok(_), Err(b)) if b.message.contains("nested too deeply") => {}
        (a, b) => panic!(
            "lexer: {:?}\ngrammar: {:?}",
            a.err().map(|e| e.to_string()),
            b.err().map(|e| e.to_string())
        ),
    }
}

/// `parse`'s streamed JSON, read on one thread and on two, is the tree's
/// JSON, for files that parse and files that do not.
fn assert_streamed_as_tree(bytes: &[u8]) {
    use mgdeploy::nginx::crossplane::{Options, Payload, stream};
    use mgdeploy::nginx::include::{Follow, load};

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("generated.conf");
    std::fs::write(&path, bytes).expect("write the file");
    let options = Options {
        comments: true,
        includes: false,
    };
    let tree = load(&path, dir.path(), Follow::SingleFile).expect("readable");
    let expected = serde_json::to_vec(&Payload {
        loaded: &tree,
        options,
    })
    .expect("serializable");
    for threads_from in [0, usize::MAX] {
        let streamed = stream::load_with_threads_from(
            &path,
            dir.path(),
            Follow::SingleFile,
            options,
            threads_from,
        )
        .expect("readable");
        let mut written = Vec::new();
        streamed.write(&mut written).expect("written to memory");
        assert!(
            written == expected,
            "two threads from {threads_from} bytes: {}\nvs the tree's {}",
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&expected)
        );
    }
}

fn whitespace() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just(" "),
            Just("\t"),
            Just("\n"),
            Just("\r\n"),
            Just("    ")
        ],
        1..4,
    )
    .prop_map(|parts| parts.concat())
}

fn bare_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,12}",
        "/[a-z/._-]{0,20}",
        "\\$[a-z_]{1,8}",
        "\\$\\{[a-z_]{1,8}\\}[a-z]{0,3}",
        "[a-z]{1,4}\\\\[ ;{][a-z]{0,3}",
        "~\\*?\\^/[a-z]{1,5}\\(\\.\\*\\)\\$",
        "[0-9]{1,5}[kmsd]?",
        "[a-zé€]{1,6}",
        "x}y#z\"q'",
    ]
}

fn quoted_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "\"[a-z {};#$'\n]{0,8}(\\\\[nt\"\\\\][a-z ]{0,4})?\"",
        "'[a-z {};#$\"\n]{0,8}(\\\\['\\\\][a-z ]{0,4})?'",
        Just("\"\"".to_string()),
    ]
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![4 => bare_word(), 1 => quoted_word()]
}

fn comment() -> impl Strategy<Value = String> {
    "#[^\n\x00]{0,20}\n"
}

fn lua_body() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("local a = { 1, 2 }\n".to_string()),
            Just("ngx.say(\"}{\")\n".to_string()),
            Just("-- a } comment\n".to_string()),
            Just("s = [[ } ]] t = [==[ ]] } ]==]\n".to_string()),
            Just("--[[ { ]]\n".to_string()),
            Just("x = 'a\\'}'\n".to_string()),
            Just("if a then b() end\n".to_string()),
        ],
        0..5,
    )
    .prop_map(|parts| parts.concat())
}

/// A syntactically valid configuration, `depth` levels of blocks at most.
fn config(depth: u32) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => (word(), prop::collection::vec((whitespace(), word()), 0..4), whitespace())
            .prop_map(|(name, args, ws)| {
                let mut out = name;
                for (ws, arg) in args {
                    out.push_str(&ws);
                    out.push_str(&arg);
                }
                out.push(';');
                out.push_str(&ws);
                out
            }),
        1 => comment(),
        1 => (whitespace(), lua_body()).prop_map(|(ws, body)| format!("content_by_lua_block{ws}{{{body}}}\n")),
        1 => Just("if ($request_method = \"POST\") { return 405; }\n".to_string()),
    ];
    leaf.prop_recursive(depth, 64, 6, |inner| {
        (
            bare_word(),
            prop::collection::vec(inner, 0..6),
            whitespace(),
        )
            .prop_map(|(name, children, ws)| format!("{name} {{{ws}{}}}{ws}", children.concat()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn generated_configs_print_back(items in prop::collection::vec(config(4), 0..8), tail in prop_oneof![Just(""), Just("\n"), Just("  # end")]) {
        let text = format!("{}{tail}", items.concat());
        let source = source(text.into_bytes());
        let config = parse(&source).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(config.print().expect("lossless tree"), source.bytes());
        assert_twins(&source);
        assert_streamed_as_tree(source.bytes());
    }

    /// Arbitrary bytes drawn mostly from nginx's special characters: never a
    /// panic, the twins agree, and what parses prints back.
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(prop_oneof![
        8 => prop::sample::select(b" \t\r\n;{}\"'\\$#()[]-=_abyluckon".to_vec()),
        1 => any::<u8>(),
    ], 0..200)) {
        let source = source(bytes);
        assert_twins(&source);
        assert_streamed_as_tree(source.bytes());
        if let Ok(config) = parse(&source) {
            prop_assert_eq!(config.print().expect("lossless tree"), source.bytes());
        }
    }

    #[test]
    fn lua_statements(name in "[a-z]{1,6}(_[a-z]{1,6}){0,2}_by_lua_block", body in prop::collection::vec(prop::sample::select(b"{}\"'[]=-\n ab\\".to_vec()), 0..60)) {
        let mut text = format!("{name} {{").into_bytes();
        text.extend(body);
        text.extend_from_slice(b"}\nx;\n");
        assert_twins(&source(text));
    }
}
