//! Documents generated from the code stay what the code says: the rules'
//! reference (docs/rules.md), which SARIF's helpUri and reviewdog's code
//! links point into. `MGDEPLOY_BLESS=1 cargo test --test integration docs::` rewrites it;
//! review the diff.

use std::path::Path;

#[test]
fn the_rules_reference_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    let expected = mgdeploy::report::rules::reference();
    if std::env::var_os("MGDEPLOY_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/rules.md");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/rules.md is not what the rules say: run MGDEPLOY_BLESS=1 cargo test --test integration docs:: and review the diff"
    );
    // Every rule has the section its links point at.
    for rule in mgdeploy::check::registry::RULES {
        let url = mgdeploy::report::rules::rule_url(rule.code);
        let anchor = url.rsplit('#').next().unwrap_or_default();
        assert!(
            actual.contains(&format!("\n## {} {}\n", rule.code, rule.name))
                && anchor == format!("{}-{}", rule.code.to_ascii_lowercase(), rule.name),
            "{url}"
        );
    }
}
