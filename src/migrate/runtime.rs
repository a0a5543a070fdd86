//! Which uWSGI runs the site after the move. It must embed the Python the
//! site's virtualenv was made with: MediaGoblin ≤ 0.9 is Python 2.7, and a
//! Python 3 plugin on a Python 2 virtualenv dies at start (`No module named
//! 'encodings'`). In order of preference: a uWSGI installed in the
//! virtualenv (built against its Python: no plugin to load), the host's
//! plugin for that Python, else one to install into the virtualenv.

use std::path::{Path, PathBuf};

use crate::deploy::Deployment;
use crate::deploy::host::{loads_python3, python_of_plugin_name};
use crate::deploy::python::PythonVersion;
use crate::diagnostic::Diagnostic;
use crate::escape::shell_word;

/// The uWSGI program that starts the site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Program {
    /// `bin/uwsgi` of the virtualenv (there now, or after the install step).
    Virtualenv(PathBuf),
    /// The host's `uwsgi` on PATH.
    System,
}

/// How the site's uWSGI is started, and why that one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    pub program: Program,
    /// The `plugins =` line, for a modular (Debian) uWSGI.
    pub plugin: Option<String>,
    /// The Python it runs, when known.
    pub python: Option<PythonVersion>,
    /// A command to run before the first start: uWSGI is not installed yet.
    pub install: Option<Vec<String>>,
    /// One sentence on the choice, for the summary.
    pub why: String,
}

impl Runtime {
    pub fn program_path(&self) -> String {
        match &self.program {
            Program::Virtualenv(path) => path.display().to_string(),
            Program::System => "uwsgi".to_string(),
        }
    }

    /// The command that starts uWSGI on `ini`.
    pub fn start_argv(&self, ini: &Path) -> Vec<String> {
        vec![
            self.program_path(),
            "--ini".to_string(),
            ini.display().to_string(),
        ]
    }

    /// Whether it runs Python 3 (where `uwsgi_modifier1 30` does nothing).
    pub fn is_python3(&self) -> bool {
        match self.python {
            Some(version) => version.major == 3,
            None => self.plugin.as_deref().is_some_and(loads_python3),
        }
    }
}

/// A command line as a shell reads it.
pub fn shell_command(argv: &[String]) -> String {
    argv.iter()
        .map(|word| shell_word(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Python a plugin named on the command line runs: its file on this
/// host says best (`python3` → `python311_plugin.so`), its name otherwise.
fn python_of_plugin(deployment: &Deployment, plugin: &str) -> Option<PythonVersion> {
    deployment
        .host
        .plugin(plugin)
        .and_then(|p| p.python())
        .or_else(|| python_of_plugin_name(plugin))
}

/// Picks the uWSGI for the site; `plugin` is `--plugin`, when given.
pub fn choose(deployment: &Deployment, plugin: Option<&str>) -> Result<Runtime, Diagnostic> {
    let venv = deployment.python.as_ref();
    let version = venv.and_then(|v| v.version);
    let venv_says = || {
        venv.map(|v| {
            format!(
                "the virtualenv {} is Python {}{}",
                deployment.server(&v.dir).display(),
                v.version
                    .map_or("(version unknown)".to_string(), |x| x.to_string()),
                v.version_from
                    .as_deref()
                    .map_or(String::new(), |from| format!(" ({from})"))
            )
        })
        .unwrap_or_else(|| "no virtualenv was found".to_string())
    };

    if let Some(plugin) = plugin {
        let runs = python_of_plugin(deployment, plugin);
        let python3_plugin = runs.map_or(loads_python3(plugin), |v| v.major == 3);
        if let Some(version) = version {
            let mismatch = match runs {
                Some(runs) => runs != version,
                None => python3_plugin != (version.major == 3),
            };
            if mismatch {
                return Err(Diagnostic::error(format!(
                    "--plugin {plugin} cannot run this site: {}",
                    venv_says()
                ))
                .with_note(format!(
                    "the plugin embeds Python {}; uWSGI would die at start with \"No module named 'encodings'\"",
                    runs.map_or("3".to_string(), |v| v.to_string())
                ))
                .with_help("leave --plugin out: mgdeploy picks the uWSGI that runs the virtualenv's Python"));
            }
        }
        return Ok(Runtime {
            program: Program::System,
            plugin: Some(plugin.to_string()),
            python: runs.or(version),
            install: None,
            why: format!("--plugin {plugin}"),
        });
    }

    let Some(venv) = venv else {
        let plugin = deployment
            .host
            .plugin("python3")
            .map_or("python3".to_string(), |p| p.name.clone());
        return Ok(Runtime {
            program: Program::System,
            python: python_of_plugin(deployment, &plugin),
            plugin: Some(plugin),
            install: None,
            why: "no virtualenv was found in the checkout, so MediaGoblin runs on the host's Python 3".to_string(),
        });
    };

    let server = |host: &Path| deployment.server(host);
    if let Some(uwsgi) = &venv.uwsgi {
        let uwsgi = server(uwsgi);
        return Ok(Runtime {
            program: Program::Virtualenv(uwsgi.clone()),
            plugin: None,
            python: version,
            install: None,
            why: format!(
                "{} is built against the virtualenv's Python{}",
                uwsgi.display(),
                version.map_or(String::new(), |v| format!(" {v}"))
            ),
        });
    }

    let host_plugin = match version {
        Some(version) => deployment.host.plugin_for(version),
        // A virtualenv whose files do not say: assume the host's Python 3.
        None => deployment.host.plugin("python3"),
    };
    if let Some(found) = host_plugin {
        return Ok(Runtime {
            program: Program::System,
            plugin: Some(found.name.clone()),
            python: found.python().or(version),
            install: None,
            why: format!(
                "{}, which the host's {} plugin ({}) runs",
                venv_says(),
                found.name,
                deployment.server(&found.file).display()
            ),
        });
    }

    let target = server(&venv.uwsgi_path());
    Ok(Runtime {
        program: Program::Virtualenv(target),
        plugin: None,
        python: version,
        install: Some(vec![
            server(&venv.pip()).display().to_string(),
            "install".to_string(),
            "uwsgi".to_string(),
        ]),
        why: format!(
            "{}, and this host has no uWSGI plugin for it{}",
            venv_says(),
            match &deployment.host.plugin_dir {
                Some(dir) => format!(" in {}", deployment.server(dir).display()),
                None => String::new(),
            }
        ),
    })
}
