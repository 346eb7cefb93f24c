//! The only place that prints. Stdout carries data (object lines, YAML, JSON); stderr carries
//! progress, warnings and errors. Progress spinners appear only on a TTY, colour only on a TTY
//! and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error;

/// How structured data is printed (`-o yaml|json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

/// Prints results to stdout and notes to stderr.
#[derive(Clone, Debug)]
pub struct Printer {
    quiet: bool,
    color: bool,
    /// Spinners, one line each, when stderr is a terminal.
    bars: Option<MultiProgress>,
}

impl Printer {
    pub fn new(quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none();
        let bars = (tty && !quiet).then(MultiProgress::new);
        Printer { quiet, color, bars }
    }

    /// Whether prompts can be shown (stdin and stderr are terminals).
    pub fn can_prompt(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A kubectl-style result line: `kubefedcluster.core.kubefed.io/member1 created`.
    pub fn object(&self, resource: &str, name: &str, verb: &str) {
        if !self.quiet {
            write_stdout(&format!("{resource}/{name} {verb}\n"));
        }
    }

    /// Raw data on stdout, printed even with `-q`.
    pub fn data(&self, text: &str) {
        write_stdout(text);
    }

    /// A note for people on stderr (suppressed by `-q`).
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A warning on stderr (printed even with `-q`).
    pub fn warn(&self, text: &str) {
        eprintln!("{}: {text}", self.paint("warning", "33"));
    }

    /// Structured data in the requested format. Several values become a YAML stream or a JSON
    /// `List`, as kubectl prints them.
    pub fn structured<T: Serialize>(&self, format: Format, values: &[T]) -> anyhow::Result<()> {
        self.data(&render_structured(format, values)?);
        Ok(())
    }

    /// The error, its causes, and any hints, in the format of docs/style.md.
    pub fn error(&self, err: &anyhow::Error) {
        let mut out = format!("{}: {err}\n", self.paint("error", "1;31"));
        let causes = causes_of(err);
        if !causes.is_empty() {
            out.push_str("\nCaused by:\n");
            for c in &causes {
                out.push_str(&format!("    {c}\n"));
            }
        }
        for h in error::hints(err) {
            out.push_str(&format!("\n{}: {h}\n", self.paint("hint", "1;32")));
        }
        let _ = std::io::stderr().write_all(out.as_bytes());
    }

    /// A reporter for long operations: a spinner on a TTY, tracing lines otherwise.
    pub fn progress(&self) -> Progress {
        self.progress_for("")
    }

    /// A reporter with its own line, prefixed with `label` (one per cluster in a multi-join).
    pub fn progress_for(&self, label: &str) -> Progress {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}{msg} ({elapsed})")
                    .expect("static template"),
            );
            if !label.is_empty() {
                bar.set_prefix(format!("{label}: "));
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress {
            bar: Mutex::new(bar),
            label: label.to_string(),
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// The causes below the top message, readable: kube API errors as the server's message with
/// code and reason, and a wrapper dropped when the next cause repeats its text.
fn causes_of(err: &anyhow::Error) -> Vec<String> {
    let texts: Vec<String> = err
        .chain()
        // A kube API error is rendered from its Status below; the Status link repeats it.
        .filter(|c| {
            c.downcast_ref::<kube::core::Status>().is_none()
                && c.downcast_ref::<Box<kube::core::Status>>().is_none()
        })
        .map(|c| match c.downcast_ref::<kube::Error>() {
            Some(kube::Error::Api(s)) => {
                let reason = if s.reason.is_empty() || s.reason == "Failed to parse error data" {
                    String::new()
                } else {
                    format!(" {}", s.reason)
                };
                format!("{} ({}{reason})", s.message, s.code)
            }
            _ => c.to_string(),
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (i, text) in texts.iter().enumerate().skip(1) {
        let repeated_below = texts
            .get(i + 1)
            .is_some_and(|next| !next.is_empty() && text.contains(next.as_str()));
        let repeated_above = out.last().is_some_and(|prev| prev == text) || texts[0] == *text;
        if !repeated_below && !repeated_above {
            out.push(text.clone());
        }
    }
    out
}

/// Align tab-separated columns with two spaces between them, as kubectl's tables.
pub fn align_table(text: &str) -> String {
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// YAML documents separated by `---`, or one JSON value (a `List` for several).
pub fn render_structured<T: Serialize>(format: Format, values: &[T]) -> anyhow::Result<String> {
    match format {
        Format::Yaml => {
            let mut out = String::new();
            for v in values {
                let v = serde_json::to_value(v)?;
                out.push_str("---\n");
                out.push_str(&serde_saphyr::to_string(&v)?);
            }
            Ok(out)
        }
        Format::Json => {
            let value = if values.len() == 1 {
                serde_json::to_value(&values[0])?
            } else {
                serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "List",
                    "metadata": {"resourceVersion": ""},
                    "items": values,
                })
            };
            Ok(serde_json::to_string_pretty(&value)? + "\n")
        }
    }
}

/// A broken pipe (`kubefedctl ... | head`) ends the process quietly with exit 0.
fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Shows what a long operation is doing.
pub struct Progress {
    bar: Mutex<Option<ProgressBar>>,
    label: String,
}

impl crate::ops::Reporter for Progress {
    fn step(&self, message: &str) {
        match &*self.bar.lock().expect("progress lock") {
            Some(bar) => bar.set_message(message.to_string()),
            None if self.label.is_empty() => tracing::info!("{message}"),
            None => tracing::info!("{}: {message}", self.label),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}
