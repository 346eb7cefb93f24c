//! Generated documentation, from the same clap command tree as `--help`: docs/cli.md, the man
//! pages and the completion scripts in completions/. `tests/generated.rs` fails when the
//! checked-in files are stale.

use anyhow::Result;

use super::completion::{Shell, script};

/// Fixed width, so the generated files do not depend on the terminal that made them.
const WIDTH: usize = 100;

fn tree() -> clap::Command {
    let mut cmd = super::Cli::command_for_docs().term_width(WIDTH);
    cmd.build();
    cmd
}

fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
    path.push(cmd.get_name().to_string());
    out.push((path.clone(), cmd.clone()));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        walk(sub, path, out);
    }
    path.pop();
}

fn commands() -> Vec<(Vec<String>, clap::Command)> {
    let mut out = Vec::new();
    walk(&tree(), &mut Vec::new(), &mut out);
    out
}

/// docs/cli.md: every command's full help.
pub fn markdown() -> String {
    let mut md = String::from(
        "# kubefedctl command reference\n\n<!-- Generated from the clap command tree by `KUBEFEDCTL_UPDATE_GENERATED=1 cargo test --test generated`; do not edit. -->\n\n",
    );
    let all = commands();
    for (path, _) in &all {
        let anchor = path.join("-");
        md.push_str(&format!("- [`{}`](#{anchor})\n", path.join(" ")));
    }
    for (path, cmd) in all {
        md.push_str(&format!("\n## {}\n\n```text\n", path.join(" ")));
        let help = cmd.clone().term_width(WIDTH).render_long_help().to_string();
        md.push_str(help.trim_end());
        md.push_str("\n```\n");
    }
    md
}

/// Man pages: `(file name, roff)`, one per command.
pub fn man_pages() -> Result<Vec<(String, String)>> {
    let mut pages = Vec::new();
    for (path, cmd) in commands() {
        let name = path.join("-");
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd.name(name.clone())).render(&mut buf)?;
        pages.push((format!("{name}.1"), String::from_utf8(buf)?));
    }
    Ok(pages)
}

/// Completion scripts: `(file name, script)`.
pub fn completion_scripts() -> Result<Vec<(String, String)>> {
    Ok(vec![
        ("kubefedctl.bash".into(), script(Shell::Bash, "kubefedctl")?),
        ("_kubefedctl".into(), script(Shell::Zsh, "kubefedctl")?),
        ("kubefedctl.fish".into(), script(Shell::Fish, "kubefedctl")?),
        (
            "kubefedctl.ps1".into(),
            script(Shell::Powershell, "kubefedctl")?,
        ),
        (
            "kubefedctl.elv".into(),
            script(Shell::Elvish, "kubefedctl")?,
        ),
    ])
}
