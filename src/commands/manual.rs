//! `mgdeploy manpage`: the manual pages, mgdeploy(1) and one per
//! subcommand (mgdeploy-migrate(1) ...), each with the options clap knows
//! and the sections it does not: EXIT STATUS, EXAMPLES, FILES, SEE ALSO.

use std::path::Path;

use clap::CommandFactory;

use super::{Failure, Status, write_stdout};
use crate::cli::{Cli, ManpageArgs};

/// What a page says besides its options.
struct Extra {
    exit_status: &'static [(&'static str, &'static str)],
    examples: &'static [(&'static str, &'static str)],
}

const MAIN: Extra = Extra {
    exit_status: &[
        (
            "0",
            "Nothing to do, no error findings, or the change was applied.",
        ),
        (
            "1",
            "Changes are pending (--dry-run, or not confirmed), or check found errors.",
        ),
        (
            "2",
            "mgdeploy could not do its job: bad arguments, unreadable or malformed input, a write that failed (and was undone).",
        ),
    ],
    examples: &[
        (
            "Plan the move of the site in the current checkout, and apply it after a yes:",
            "mgdeploy migrate",
        ),
        ("Lint the deployment:", "mgdeploy check"),
        ("Undo the last change:", "mgdeploy rollback"),
    ],
};

const MIGRATE: Extra = Extra {
    exit_status: &[
        (
            "0",
            "Nothing to change, or the change was applied (also with --exit-zero when changes are pending).",
        ),
        (
            "1",
            "Changes are pending: --dry-run, no terminal to ask on, or not confirmed.",
        ),
        (
            "2",
            "The deployment could not be read or planned, or a write failed and every file was put back.",
        ),
    ],
    examples: &[
        (
            "Show the plan for a checkout and an nginx site file, write nothing:",
            "mgdeploy migrate --dry-run -C /srv/mediagoblin --nginx /etc/nginx/sites-enabled/mediagoblin",
        ),
        (
            "Move a MediaGoblin 0.10+ site from paster's HTTP server (nginx proxy_pass) to uWSGI, where nginx also has an old FastCGI location:",
            "mgdeploy migrate --from http -C /srv/mediagoblin --nginx /etc/nginx/sites-enabled/mediagoblin",
        ),
        (
            "Serve the site under /mediagoblin, on a UNIX socket, as the mediagoblin user:",
            "mgdeploy migrate --mount /mediagoblin --socket unix:/run/mediagoblin/uwsgi.sock --user mediagoblin --group www-data",
        ),
        (
            "In CI, on a repository that mirrors the server's tree: a patch for git apply and a comment for the merge request:",
            "mgdeploy migrate --sysroot . -C /srv/mediagoblin --user mediagoblin --format patch --exit-zero > plan.patch\nmgdeploy migrate --sysroot . -C /srv/mediagoblin --user mediagoblin --format markdown --exit-zero > comment.md",
        ),
        (
            "Save the plan for review, then apply it on the server:",
            "mgdeploy migrate --dry-run --format json > plan.json\nmgdeploy apply plan.json",
        ),
    ],
};

const CHECK: Extra = Extra {
    exit_status: &[
        ("0", "No finding is an error (or --exit-zero)."),
        ("1", "At least one finding is an error."),
        ("2", "The deployment could not be found or read at all."),
    ],
    examples: &[
        (
            "Lint the deployment in the current checkout:",
            "mgdeploy check",
        ),
        (
            "For GitHub code scanning:",
            "mgdeploy check --format sarif --exit-zero > mgdeploy.sarif",
        ),
        (
            "For GitLab's merge-request widget (artifacts:reports:codequality):",
            "mgdeploy check --format gitlab --exit-zero > gl-code-quality-report.json",
        ),
        (
            "For reviewdog:",
            "mgdeploy check --format rdjsonl | reviewdog -f=rdjsonl -reporter=github-pr-review",
        ),
        (
            "Only the security rules, all but one other rule, and what a rule means:",
            "mgdeploy check --select MG013,MG014,MG015\nmgdeploy check --ignore MG017\nmgdeploy check --explain MG009",
        ),
    ],
};

const APPLY: Extra = Extra {
    exit_status: &[
        ("0", "Applied, or the plan changes nothing."),
        ("1", "Not confirmed."),
        (
            "2",
            "The plan could not be read or applied; nothing was left half-written.",
        ),
    ],
    examples: &[(
        "Apply a reviewed plan without asking:",
        "mgdeploy apply plan.json --yes",
    )],
};

const ROLLBACK: Extra = Extra {
    exit_status: &[
        ("0", "Restored, or nothing to undo."),
        ("1", "Not confirmed."),
        (
            "2",
            "Could not restore; the files that were restored are named.",
        ),
    ],
    examples: &[(
        "Undo the last change to the site in /srv/mediagoblin:",
        "mgdeploy rollback -C /srv/mediagoblin",
    )],
};

const PARSE: Extra = Extra {
    exit_status: &[
        ("0", "Every file parsed."),
        ("1", "A file failed to parse (its errors are in the JSON)."),
        ("2", "FILE cannot be read."),
    ],
    examples: &[(
        "The site's configuration, with comments, as crossplane prints it:",
        "mgdeploy parse /etc/nginx/nginx.conf --include-comments --indent 2",
    )],
};

const COMPLETIONS: Extra = Extra {
    exit_status: &[
        ("0", "The script was printed."),
        ("2", "It could not be written."),
    ],
    examples: &[(
        "For bash:",
        "mgdeploy completions bash > ~/.local/share/bash-completion/completions/mgdeploy",
    )],
};

const MANPAGE: Extra = Extra {
    exit_status: &[
        ("0", "The pages were written."),
        ("2", "They could not be written."),
    ],
    examples: &[(
        "Install the pages:",
        "mgdeploy manpage --dir /usr/local/share/man/man1",
    )],
};

fn extra(name: &str) -> &'static Extra {
    match name {
        "migrate" => &MIGRATE,
        "check" => &CHECK,
        "apply" => &APPLY,
        "rollback" => &ROLLBACK,
        "parse" => &PARSE,
        "completions" => &COMPLETIONS,
        "manpage" => &MANPAGE,
        _ => &MAIN,
    }
}

/// Text for roff: backslashes doubled, and a line that starts with `.` or
/// `'` (a request) kept as text.
fn roff_text(text: &str) -> String {
    text.replace('\\', "\\e")
        .lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sections(page: &str, extra: &Extra, subcommands: &[String]) -> String {
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in extra.exit_status {
        out.push_str(&format!(".TP\n.B {code}\n{}\n", roff_text(meaning)));
    }
    out.push_str(".SH EXAMPLES\n");
    for (what, command) in extra.examples {
        out.push_str(&format!(
            ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
            roff_text(what),
            roff_text(command)
        ));
    }
    if page != "completions" && page != "manpage" && page != "parse" {
        out.push_str(
            ".SH FILES\n.TP\n.I mgdeploy.toml\n\
             Defaults for the options (paths, [migrate] choices, [check] select and ignore), found in the \
             current directory or above it, up to the root of the git work tree.\n\
             .TP\n.I <root>/.mgdeploy/\n\
             The journal and backups of each applied change, which rollback undoes; only its owner may write it.\n",
        );
    }
    out.push_str(".SH ENVIRONMENT\n.TP\n.B MGDEPLOY_COLOR\nauto, always or never, as --color.\n");
    out.push_str(".SH \"SEE ALSO\"\n");
    let pages: Vec<String> = std::iter::once("mgdeploy".to_string())
        .chain(subcommands.iter().map(|s| format!("mgdeploy-{s}")))
        .filter(|p| p != page && format!("mgdeploy-{page}") != *p)
        .map(|p| format!(".BR {p} (1)"))
        .collect();
    out.push_str(&pages.join(",\n"));
    out.push_str(",\n.BR nginx (8),\n.BR uwsgi (1)\n");
    out
}

/// One page, rendered.
fn render(
    cmd: clap::Command,
    page: &str,
    title: &str,
    subcommands: &[String],
) -> Result<Vec<u8>, Failure> {
    let man = clap_mangen::Man::new(cmd.clone()).title(title);
    let mut out = Vec::new();
    let failed = |e: std::io::Error| Failure::io("cannot render the manual page", &e);
    man.render_title(&mut out).map_err(failed)?;
    man.render_name_section(&mut out).map_err(failed)?;
    man.render_synopsis_section(&mut out).map_err(failed)?;
    man.render_description_section(&mut out).map_err(failed)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out).map_err(failed)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out).map_err(failed)?;
    }
    out.extend_from_slice(sections(page, extra(page), subcommands).as_bytes());
    man.render_version_section(&mut out).map_err(failed)?;
    Ok(out)
}

/// Every page: (file name, roff).
pub fn pages() -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut out = vec![(
        "mgdeploy.1".to_string(),
        render(cmd.clone(), "mgdeploy", "mgdeploy", &names)?,
    )];
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        let title = format!("mgdeploy-{name}");
        let sub = sub.clone();
        out.push((format!("{title}.1"), render(sub, name, &title, &names)?));
    }
    Ok(out)
}

pub fn manpage(args: &ManpageArgs) -> Result<Status, Failure> {
    let pages = pages()?;
    let Some(dir) = &args.dir else {
        if let Some((_, page)) = pages.first() {
            write_stdout(page)?;
        }
        return Ok(Status::Clean);
    };
    for (name, page) in &pages {
        let path = Path::new(dir).join(name);
        std::fs::write(&path, page)
            .map_err(|e| Failure::io(&format!("cannot write {}", path.display()), &e))?;
    }
    super::say(&format!(
        "Wrote {} pages to {}.",
        pages.len(),
        dir.display()
    ));
    Ok(Status::Clean)
}
