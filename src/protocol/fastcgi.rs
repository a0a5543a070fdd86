//! The variables the FastCGI module sets, and what they hold once a
//! location passes to uWSGI: migrate rewrites them, check's MG012 offers
//! the same rewrite.

/// An nginx word's raw text with `$fastcgi_script_name` and
/// `$fastcgi_path_info` (either spelling) replaced by `$uri`, which is
/// what they hold without `fastcgi_split_path_info` and `fastcgi_index`;
/// `None` when it uses neither.
pub fn without_variables(raw: &str) -> Option<String> {
    let replaced = raw
        .replace("${fastcgi_script_name}", "${uri}")
        .replace("$fastcgi_script_name", "$uri")
        .replace("${fastcgi_path_info}", "${uri}")
        .replace("$fastcgi_path_info", "$uri");
    (replaced != raw).then_some(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastcgi_variables_become_uri() {
        assert_eq!(
            without_variables("/$fastcgi_path_info").as_deref(),
            Some("/$uri")
        );
        assert_eq!(
            without_variables("$document_root${fastcgi_script_name}").as_deref(),
            Some("$document_root${uri}")
        );
        assert_eq!(without_variables("$uri"), None);
    }
}
