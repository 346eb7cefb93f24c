//! The generated files (docs/cli.md, man/, completions/) must match the command tree.
//! Regenerate with `KUBEFEDCTL_UPDATE_GENERATED=1 cargo test --test generated`.

use std::path::Path;

use kubefedctl::cli::docs::{completion_scripts, man_pages, markdown};

fn check(files: Vec<(String, String)>, dir: &str, exclusive: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let update = std::env::var_os("KUBEFEDCTL_UPDATE_GENERATED").is_some();
    if update {
        std::fs::create_dir_all(&root).unwrap();
    }
    let mut stale = Vec::new();
    for (name, content) in &files {
        let path = root.join(name);
        if update {
            std::fs::write(&path, content).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            stale.push(format!("{dir}/{name}"));
        }
    }
    // No leftovers from removed commands.
    if let Ok(entries) = std::fs::read_dir(&root)
        && exclusive
    {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !files.iter().any(|(n, _)| *n == name) && !name.starts_with("README") {
                if update {
                    std::fs::remove_file(e.path()).unwrap();
                } else {
                    stale.push(format!("{dir}/{name} (no longer generated)"));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}\nregenerate with `KUBEFEDCTL_UPDATE_GENERATED=1 cargo test --test generated`"
    );
}

#[test]
fn cli_reference_is_current() {
    check(vec![("cli.md".into(), markdown())], "docs", false);
}

#[test]
fn man_pages_are_current() {
    check(man_pages().unwrap(), "man", true);
}

#[test]
fn completion_scripts_are_current() {
    check(completion_scripts().unwrap(), "completions", true);
}

#[test]
fn every_command_has_examples() {
    let md = markdown();
    for section in md.split("\n## ").skip(1) {
        let title = section.lines().next().unwrap();
        // Command groups (the root, orphaning-deletion, get) list subcommands instead.
        if [
            "kubefedctl",
            "kubefedctl orphaning-deletion",
            "kubefedctl get",
        ]
        .contains(&title)
        {
            continue;
        }
        assert!(
            section.contains("Examples:"),
            "`{title}` --help has no Examples section"
        );
    }
}
