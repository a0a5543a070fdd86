//! The tera templates mgdeploy renders (the uWSGI ini, a new systemd unit):
//! built into the binary, or the admin's own from `--templates DIR`. A
//! template of the admin's is read inside DIR only (a link there that
//! leads elsewhere is not followed out), since in review DIR is a
//! repository's. Values reach a template already escaped for the file it
//! writes; autoescaping (HTML's) stays off.

use std::path::Path;

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::sysroot::Sysroot;

/// Whether a missing template of the admin's falls back to the built-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// It must be there: DIR was given for it.
    Refused,
    /// The built-in one is used.
    BuiltIn,
}

/// Renders template `name` (`built_in` unless `dir` holds one) with
/// `values`; `help` says what a failing template can use.
pub fn render(
    name: &str,
    built_in: &str,
    dir: Option<&Path>,
    missing: Missing,
    values: &impl Serialize,
    help: &str,
) -> Result<String, Diagnostic> {
    let own = match dir {
        None => None,
        Some(dir) => {
            let path = dir.join(name);
            let read = Sysroot::mirror(dir).and_then(|jail| {
                let inside = jail.host(Path::new("/").join(name).as_path());
                jail.read(&inside)
            });
            match read {
                Ok(bytes) => Some((path, String::from_utf8_lossy(&bytes).into_owned())),
                Err(_) if missing == Missing::BuiltIn && !path.exists() => None,
                Err(e) => {
                    return Err(Diagnostic::error(format!(
                        "cannot read the template {}: {e}",
                        path.display()
                    ))
                    .in_file(&path)
                    .with_help(format!("--templates names a directory holding {name}")));
                }
            }
        }
    };
    let (shown, text) = match own {
        Some((path, text)) => (path.display().to_string(), text),
        None => (format!("built-in {name}"), built_in.to_string()),
    };
    let failed = |error: tera::Error| {
        Diagnostic::error(format!("the template {shown} does not render: {error}")).with_help(help)
    };
    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    tera.add_raw_template(name, &text).map_err(failed)?;
    let context = tera::Context::from_serialize(values).map_err(failed)?;
    tera.render(name, &context).map_err(failed)
}
