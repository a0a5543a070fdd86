//! mgdeploy as Ansible's binary modules `migrate` and `check`: Ansible
//! copies the executable to the host under the module's name and runs it
//! with the path of a JSON file of arguments; it prints one JSON result.
//!
//! The module runs this same executable as `mgdeploy migrate|check|apply|
//! rollback` with the arguments mapped to options, so a module run and a
//! command run validate, plan and write alike (one transaction per host,
//! `nginx -t`, a journal that `rollback` reads). Check mode is the dry run;
//! with `--diff`, each planned file is a `before`/`after` entry.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};

use crate::apply::resolve;
use crate::plan::{Plan, PlanFile};
use crate::sysroot::Sysroot;

/// Which module the executable was run as, from the name Ansible gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    Migrate,
    Check,
}

impl Module {
    /// The module named by `argv[0]`, when there is exactly one argument
    /// (the arguments file).
    pub fn from_invocation(args: &[std::ffi::OsString]) -> Option<Module> {
        let [program, _file] = args else {
            return None;
        };
        let name = Path::new(program).file_name()?.to_str()?;
        // Ansible copies a binary module to the host as `AnsiballZ_NAME`.
        match name.strip_prefix("AnsiballZ_").unwrap_or(name) {
            "migrate" => Some(Module::Migrate),
            "check" => Some(Module::Check),
            _ => None,
        }
    }
}

/// The type of a module argument, as Ansible's argument specs name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Path,
    Int,
    Dict,
    /// A list of strings.
    List,
}

impl Kind {
    /// Ansible's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Str => "str",
            Kind::Path => "path",
            Kind::Int => "int",
            Kind::Dict => "dict",
            Kind::List => "list",
        }
    }
}

/// One module argument: its key, its type and choices, and the
/// command-line flag it becomes (if the module passes it on).
pub struct Param {
    pub key: &'static str,
    pub kind: Kind,
    pub choices: &'static [&'static str],
    pub flag: Option<&'static str>,
}

const fn passed(key: &'static str, kind: Kind, flag: &'static str) -> Param {
    Param {
        key,
        kind,
        choices: &[],
        flag: Some(flag),
    }
}

/// The arguments both modules take: where the deployment's files are.
pub const DISCOVERY: &[Param] = &[
    passed("root", Kind::Path, "--root"),
    passed("nginx", Kind::Path, "--nginx"),
    passed("nginx_prefix", Kind::Path, "--nginx-prefix"),
    passed("paste", Kind::Path, "--paste"),
    passed("mediagoblin_ini", Kind::Path, "--mediagoblin-ini"),
    passed("uwsgi_ini", Kind::Path, "--uwsgi-ini"),
    passed("service", Kind::Path, "--service"),
    passed("sysroot", Kind::Path, "--sysroot"),
    passed("config", Kind::Path, "--config"),
    passed("fcgi_address", Kind::Str, "--fcgi-address"),
];

/// `migrate`'s own: the migration's choices, passed on, and its state.
pub const MIGRATION: &[Param] = &[
    Param {
        key: "from",
        kind: Kind::Str,
        choices: &["fastcgi", "http"],
        flag: Some("--from"),
    },
    passed("mount", Kind::Str, "--mount"),
    Param {
        key: "script_name",
        kind: Kind::Str,
        choices: &["mount", "fixpathinfo", "modifier1"],
        flag: Some("--script-name"),
    },
    passed("socket", Kind::Str, "--socket"),
    passed("user", Kind::Str, "--user"),
    passed("group", Kind::Str, "--group"),
    passed("processes", Kind::Int, "--processes"),
    passed("plugin", Kind::Str, "--plugin"),
    passed("templates", Kind::Path, "--templates"),
    Param {
        key: "service_style",
        kind: Kind::Str,
        choices: &["systemd", "debian-apps", "emperor", "none"],
        flag: Some("--service-style"),
    },
    Param {
        key: "state",
        kind: Kind::Str,
        choices: &["migrated", "rolled_back"],
        flag: None,
    },
    Param {
        key: "plan",
        kind: Kind::Dict,
        choices: &[],
        flag: None,
    },
];

/// `check`'s own.
pub const CHECKING: &[Param] = &[
    Param {
        key: "select",
        kind: Kind::List,
        choices: &[],
        flag: None,
    },
    Param {
        key: "ignore",
        kind: Kind::List,
        choices: &[],
        flag: None,
    },
    Param {
        key: "fail_on",
        kind: Kind::Str,
        choices: &["error", "never"],
        flag: None,
    },
];

/// Every argument a module takes.
pub fn spec(module: Module) -> Vec<&'static Param> {
    let own = match module {
        Module::Migrate => MIGRATION,
        Module::Check => CHECKING,
    };
    DISCOVERY.iter().chain(own).collect()
}

impl Module {
    fn name(self) -> &'static str {
        match self {
            Module::Migrate => "mgdeploy.mediagoblin.migrate",
            Module::Check => "mgdeploy.mediagoblin.check",
        }
    }
}

/// A JSON value as Python shows it (`type(value)`, and `str(value)`),
/// for messages worded as Ansible's.
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_repr(&Value::String(k.clone())),
                    python_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn python_repr(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        other => python_str(other),
    }
}

/// Checks `arguments` against the module's spec as `AnsibleModule` does
/// (unsupported arguments, `root` required, each value converted to its
/// type or refused, choices), with Ansible's own messages; returns the
/// arguments converted: strings for `str`/`path`/`int`, arrays of strings
/// for `list`, objects for `dict`. `None` values count as not given.
pub fn check_arguments(
    module: Module,
    arguments: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let spec = spec(module);
    let mut unsupported: Vec<&str> = arguments
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with("_ansible_") && !spec.iter().any(|p| p.key == *k))
        .collect();
    if !unsupported.is_empty() {
        unsupported.sort_unstable();
        let mut supported: Vec<&str> = spec.iter().map(|p| p.key).collect();
        supported.sort_unstable();
        return Err(format!(
            "Unsupported parameters for ({}) module: {}. Supported parameters include: {}.",
            module.name(),
            unsupported.join(", "),
            supported.join(", ")
        ));
    }
    if arguments.get("root").is_none_or(Value::is_null) {
        return Err("missing required arguments: root".into());
    }
    let mut out = Map::new();
    for param in &spec {
        let Some(value) = arguments.get(param.key).filter(|v| !v.is_null()) else {
            continue;
        };
        let unable = |why: String| {
            format!(
                "argument '{}' is of type {} and we were unable to convert to {}: {why}",
                param.key,
                python_type(value),
                param.kind.as_str()
            )
        };
        let converted = match (param.kind, value) {
            (Kind::Str | Kind::Path, Value::String(_)) => value.clone(),
            // AnsibleModule converts other values to their str().
            (Kind::Str | Kind::Path, other) => Value::String(python_str(other)),
            (Kind::Int, Value::Number(n)) if n.is_u64() || n.is_i64() => {
                Value::String(n.to_string())
            }
            (Kind::Int, Value::Bool(b)) => Value::String(u8::from(*b).to_string()),
            (Kind::Int, Value::String(text)) => match text.trim().parse::<i64>() {
                Ok(n) => Value::String(n.to_string()),
                Err(_) => {
                    return Err(unable(format!(
                        "invalid literal for int() with base 10: {}",
                        python_repr(value)
                    )));
                }
            },
            (Kind::Int, other) => {
                return Err(unable(format!(
                    "{} cannot be converted to an int",
                    python_type(other)
                )));
            }
            (Kind::Dict, Value::Object(_)) => value.clone(),
            (Kind::Dict, _) => {
                return Err(unable(
                    "dictionary requested, could not parse JSON or key=value".into(),
                ));
            }
            (Kind::List, Value::Array(items)) => {
                Value::Array(items.iter().map(|i| Value::String(python_str(i))).collect())
            }
            (Kind::List, Value::String(text)) => Value::Array(
                text.split(',')
                    .map(|item| Value::String(item.trim().to_string()))
                    .collect(),
            ),
            (Kind::List, other) => Value::Array(vec![Value::String(python_str(other))]),
        };
        if !param.choices.is_empty() {
            let text = converted.as_str().unwrap_or_default();
            if !param.choices.contains(&text) {
                return Err(format!(
                    "value of {} must be one of: {}, got: {}",
                    param.key,
                    param.choices.join(", "),
                    python_str(value)
                ));
            }
        }
        out.insert(param.key.to_string(), converted);
    }
    for (key, value) in arguments {
        if key.starts_with("_ansible_") {
            out.insert(key.clone(), value.clone());
        }
    }
    Ok(out)
}

/// What the module prints: Ansible's result.
type ModuleResult = Map<String, Value>;

fn failed(msg: impl Into<String>) -> ModuleResult {
    let mut out = Map::new();
    out.insert("failed".into(), Value::Bool(true));
    out.insert("changed".into(), Value::Bool(false));
    out.insert("msg".into(), Value::String(msg.into()));
    out
}

/// Runs the module on the arguments in `file` and prints its result.
pub fn run(module: Module, file: &Path) -> std::process::ExitCode {
    let result = match read_arguments(file).and_then(|a| check_arguments(module, &a)) {
        Ok(arguments) => match module {
            Module::Migrate => migrate(&arguments),
            Module::Check => check(&arguments),
        },
        Err(why) => failed(why),
    };
    let failed = result.get("failed").and_then(Value::as_bool) == Some(true);
    println!("{}", Value::Object(result));
    if failed {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

fn read_arguments(file: &Path) -> Result<Map<String, Value>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the module arguments {}: {e}", file.display()))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the module arguments are not a JSON object".into()),
        Err(e) => Err(format!("the module arguments are not JSON: {e}")),
    }
}

/// `--flag=value` for each argument given that the module passes on
/// (`check_arguments` made each a string).
fn options(arguments: &Map<String, Value>, params: &[Param]) -> Vec<String> {
    let mut out = Vec::new();
    for p in params {
        let (Some(flag), Some(Value::String(value))) = (p.flag, arguments.get(p.key)) else {
            continue;
        };
        // `=` keeps a value that starts with `-` a value.
        out.push(format!("{flag}={value}"));
    }
    out
}

fn flag(arguments: &Map<String, Value>, key: &str) -> bool {
    arguments.get(key).and_then(Value::as_bool) == Some(true)
}

/// Runs this executable as `mgdeploy ARGS`.
fn mgdeploy(args: &[String]) -> Result<std::process::Output, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    Command::new(exe)
        .arg("--color=never")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run mgdeploy: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end().to_string()
}

fn migrate(arguments: &Map<String, Value>) -> ModuleResult {
    let check_mode = flag(arguments, "_ansible_check_mode");
    let diff = flag(arguments, "_ansible_diff");
    let discovery = options(arguments, DISCOVERY);
    match arguments.get("state").and_then(Value::as_str) {
        None | Some("migrated") => {}
        Some("rolled_back") => return rollback(arguments, check_mode),
        Some(other) => return failed(format!("unknown state {other}")),
    }

    // Plan: a dry run prints the plan whatever happens next.
    let mut args = vec![
        "migrate".to_string(),
        "--format=json".into(),
        "--dry-run".into(),
    ];
    args.extend(discovery.iter().cloned());
    args.extend(options(arguments, MIGRATION));
    let planned = match mgdeploy(&args) {
        Ok(output) => output,
        Err(why) => return failed(why),
    };
    if planned.status.code() == Some(2) || planned.stdout.is_empty() {
        return failed(text(&planned.stderr));
    }
    let report: Value = match serde_json::from_slice(&planned.stdout) {
        Ok(report) => report,
        Err(e) => return failed(format!("mgdeploy printed no plan: {e}")),
    };
    let sysroot = match arguments.get("sysroot").and_then(Value::as_str) {
        None => Sysroot::none(),
        Some(dir) => match Sysroot::mirror(Path::new(dir)) {
            Ok(sysroot) => sysroot,
            Err(e) => return failed(format!("cannot use {dir} as the server's tree: {e}")),
        },
    };

    // A plan reviewed in check mode, to be applied as it was: files that
    // changed since make this host fail, not a new plan.
    let reviewed = arguments.get("plan").filter(|p| !p.is_null());
    let plan_value = reviewed.cloned().unwrap_or_else(|| report["plan"].clone());
    let plan_file: PlanFile = match serde_json::from_value(plan_value.clone()) {
        Ok(plan) => plan,
        Err(e) => return failed(format!("`plan` is not a plan mgdeploy made: {e}")),
    };
    // Whether anything is left to change is what the files say now; a
    // reviewed plan already applied changes nothing.
    let changes = report["changes"].as_bool() == Some(true) && !plan_file.files.is_empty();

    let mut result = Map::new();
    result.insert("changed".into(), Value::Bool(changes));
    result.insert("plan".into(), plan_value.clone());
    result.insert("notes".into(), report["notes"].clone());
    result.insert("start_command".into(), report["start_command"].clone());
    let warnings = text(&planned.stderr);
    if !warnings.is_empty() {
        result.insert("findings".into(), Value::String(warnings));
    }
    if diff && changes {
        match diff_entries(&plan_file, &sysroot) {
            Ok(entries) => {
                result.insert("diff".into(), Value::Array(entries));
            }
            Err(why) => return failed(why),
        }
    }
    if !changes {
        result.insert(
            "msg".into(),
            Value::String(report["already_on_uwsgi"].as_str().map_or_else(
                || "nothing to change".to_string(),
                |place| format!("already served by uWSGI ({place})"),
            )),
        );
        return result;
    }
    if check_mode {
        result.insert(
            "msg".into(),
            Value::String(format!("{} file(s) would change", plan_file.files.len())),
        );
        return result;
    }

    // Apply: the plan as saved, through `mgdeploy apply` (one transaction,
    // nginx -t, journal).
    let saved = match tempfile_with(&plan_value) {
        Ok(saved) => saved,
        Err(why) => return failed(why),
    };
    let mut args = vec![
        "apply".to_string(),
        saved.path().to_string_lossy().into_owned(),
        "--yes".into(),
    ];
    if let Some(dir) = arguments.get("sysroot").and_then(Value::as_str) {
        args.push(format!("--sysroot={dir}"));
    }
    let applied = match mgdeploy(&args) {
        Ok(output) => output,
        Err(why) => return failed(why),
    };
    if !applied.status.success() {
        let mut out = failed(text(&applied.stderr));
        out.insert("plan".into(), plan_value);
        return out;
    }
    let root = arguments.get("root").and_then(Value::as_str).unwrap_or(".");
    result.insert("msg".into(), Value::String(text(&applied.stderr)));
    result.insert(
        "journal".into(),
        Value::String(
            sysroot
                .host(&Path::new(root).join(".mgdeploy"))
                .to_string_lossy()
                .into_owned(),
        ),
    );
    result
}

/// The plan's files as Ansible's diff entries: each file before and after.
fn diff_entries(plan: &PlanFile, sysroot: &Sysroot) -> Result<Vec<Value>, String> {
    let plan = Plan::from_file(plan.clone(), sysroot.clone())?;
    let targets = resolve(&plan).map_err(|d| d.to_string())?;
    Ok(targets
        .iter()
        .map(|t| {
            let path = sysroot.server(&t.shown).to_string_lossy().into_owned();
            json!({
                "before_header": if t.before.is_some() { path.clone() } else { "/dev/null".to_string() },
                "after_header": path,
                "before": t.before.as_deref().map(String::from_utf8_lossy).unwrap_or_default(),
                "after": String::from_utf8_lossy(&t.after),
            })
        })
        .collect())
}

/// A private temporary file holding `value` as JSON.
fn tempfile_with(value: &Value) -> Result<TempFile, String> {
    let dir = std::env::temp_dir();
    let name = format!("mgdeploy-plan-{}-{}.json", std::process::id(), unique());
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, value.to_string().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(TempFile { path })
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn rollback(arguments: &Map<String, Value>, check_mode: bool) -> ModuleResult {
    let root = arguments.get("root").and_then(Value::as_str).unwrap_or(".");
    let mut args = vec!["rollback".to_string(), format!("--root={root}")];
    // Without --yes and without a terminal, rollback shows and writes nothing.
    if !check_mode {
        args.push("--yes".into());
    }
    let output = match mgdeploy(&args) {
        Ok(output) => output,
        Err(why) => return failed(why),
    };
    let said = text(&output.stderr);
    if output.status.code() == Some(2) {
        return failed(said);
    }
    let nothing = said.contains("Nothing to roll back");
    let mut result = Map::new();
    result.insert("changed".into(), Value::Bool(!nothing));
    result.insert("msg".into(), Value::String(said));
    if check_mode {
        result.insert("diff_text".into(), Value::String(text(&output.stdout)));
    }
    result
}

fn check(arguments: &Map<String, Value>) -> ModuleResult {
    let mut args = vec![
        "check".to_string(),
        "--format=json".into(),
        "--exit-zero".into(),
    ];
    args.extend(options(arguments, DISCOVERY));
    for key in ["select", "ignore"] {
        if let Some(Value::Array(codes)) = arguments.get(key) {
            let codes: Vec<&str> = codes.iter().filter_map(Value::as_str).collect();
            args.push(format!("--{key}={}", codes.join(",")));
        }
    }
    let fail_on_error = arguments.get("fail_on").and_then(Value::as_str) != Some("never");
    let output = match mgdeploy(&args) {
        Ok(output) => output,
        Err(why) => return failed(why),
    };
    if output.status.code() == Some(2) {
        return failed(text(&output.stderr));
    }
    let report: Value = match serde_json::from_slice(&output.stdout) {
        Ok(report) => report,
        Err(e) => return failed(format!("mgdeploy printed no findings: {e}")),
    };
    let errors = report["summary"]["errors"].as_u64().unwrap_or(0);
    let mut result = Map::new();
    result.insert("changed".into(), Value::Bool(false));
    result.insert("findings".into(), report["diagnostics"].clone());
    result.insert("summary".into(), report["summary"].clone());
    let lines: Vec<String> = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{}:{}:{}: {} [{}] {}",
                d["file"].as_str().unwrap_or("-"),
                d["line"],
                d["column"],
                d["severity"].as_str().unwrap_or_default(),
                d["code"].as_str().unwrap_or_default(),
                d["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    result.insert(
        "msg".into(),
        Value::String(if lines.is_empty() {
            "no problems found".into()
        } else {
            lines.join("\n")
        }),
    );
    if fail_on_error && errors > 0 {
        result.insert("failed".into(), Value::Bool(true));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(json: &str) -> Map<String, Value> {
        match serde_json::from_str(json) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn module_from_its_name() {
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            Module::from_invocation(&args(&["/tmp/x/migrate", "/tmp/args"])),
            Some(Module::Migrate)
        );
        assert_eq!(
            Module::from_invocation(&args(&["check", "a"])),
            Some(Module::Check)
        );
        assert_eq!(
            Module::from_invocation(&args(&["/root/.ansible/tmp/t/AnsiballZ_check", "args"])),
            Some(Module::Check)
        );
        assert_eq!(Module::from_invocation(&args(&["mgdeploy", "a"])), None);
        assert_eq!(Module::from_invocation(&args(&["check", "a", "b"])), None);
    }

    #[test]
    fn parameters_are_validated_and_passed_as_options() {
        let given = arguments(
            r#"{"root": "/srv/mg", "mount": "-x", "processes": 4, "_ansible_check_mode": true}"#,
        );
        let checked = check_arguments(Module::Migrate, &given).unwrap();
        assert_eq!(options(&checked, DISCOVERY), vec!["--root=/srv/mg"]);
        assert_eq!(
            options(&checked, MIGRATION),
            vec!["--mount=-x", "--processes=4"]
        );
        assert_eq!(checked["_ansible_check_mode"], Value::Bool(true));
        let unknown = arguments(r#"{"root": "/srv/mg", "mountt": "/"}"#);
        let why = check_arguments(Module::Migrate, &unknown).unwrap_err();
        assert!(
            why.starts_with(
                "Unsupported parameters for (mgdeploy.mediagoblin.migrate) module: mountt."
            ),
            "{why}"
        );
        // A dict where a string goes becomes its str(), as Ansible makes it.
        let nested = arguments(r#"{"root": "/srv/mg", "user": {"a": 1}}"#);
        let checked = check_arguments(Module::Migrate, &nested).unwrap();
        assert_eq!(checked["user"], Value::String("{'a': 1}".into()));
        assert!(check_arguments(Module::Check, &arguments("{}")).is_err());
    }
}
