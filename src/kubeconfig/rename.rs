//! Renaming a context in the kubeconfig files, as `kubectl config rename-context` does, for
//! `join --rename-context`: the context entry in the file that defines it, and
//! `current-context` in the file kubectl keeps it in.
//!
//! The edit is surgical: the source text of those two scalars is replaced and every other byte
//! stays as it was, so `token: 12e3` stays a string, and comments, quoting and fields kube does
//! not know survive. A file is written through symlinks to its target, under kubectl's
//! `<file>.lock`, after a backup that never replaces an earlier one, as an owner-only temporary
//! file beside the target that gets the target's mode, is fsynced and renamed over it.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::ops::Range;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use granit_parser::{Event, Parser, ScalarStyle, ScanError, StructureStyle, Tag};

use super::LoadedKubeconfig;
use crate::error::hinted;

/// A context rename, checked against the kubeconfig files as they were when planned.
#[derive(Clone, Debug)]
pub struct ContextRename {
    from: String,
    to: String,
    edits: Vec<FileEdit>,
}

/// One file a [`ContextRename`] changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEdit {
    /// The file as the loading rules named it (it may be a symlink).
    pub path: PathBuf,
    /// The file defines the context.
    pub renames_context: bool,
    /// The file's `current-context` names the context.
    pub sets_current_context: bool,
}

/// One file a [`ContextRename`] changed.
#[derive(Clone, Debug)]
pub struct RenamedFile {
    pub edit: FileEdit,
    /// The file written: `edit.path`, or the file its symlinks lead to.
    pub target: PathBuf,
    /// The copy of the file as it was.
    pub backup: PathBuf,
}

impl ContextRename {
    /// Which files renaming context `from` to `to` changes, and whether each can be edited.
    /// Reads the files; writes nothing.
    ///
    /// The context is renamed in the file that defines it (the first, which wins the merge).
    /// `current-context` changes where kubectl reads and writes it: in the first file that sets
    /// it, which with a `KUBECONFIG` list may be another file; and in the defining file too if it
    /// names the context there, so that file stays consistent on its own.
    pub fn plan(kubeconfig: &LoadedKubeconfig, from: &str, to: &str) -> Result<Self> {
        let files = &kubeconfig.files;
        let defining = kubeconfig.file_of_context(from).ok_or_else(|| {
            anyhow!(
                "cannot rename context `{from}`: it is not defined in kubeconfig {}",
                kubeconfig.describe_files()
            )
        })?;
        if let Some((path, _)) = files
            .iter()
            .find(|(_, c)| c.contexts.iter().any(|n| n.name == to))
        {
            return Err(exists_already(from, to, path));
        }
        let names =
            |config: &kube::config::Kubeconfig| config.current_context.as_deref() == Some(from);
        let effective = files
            .iter()
            .find(|(_, c)| c.current_context.as_deref().is_some_and(|s| !s.is_empty()))
            .filter(|(_, c)| names(c))
            .map(|(p, _)| p.as_path());
        let mut edits: Vec<(PathBuf, FileEdit)> = Vec::new();
        for (path, config) in files {
            let renames_context = path == defining;
            let sets_current_context =
                names(config) && (Some(path.as_path()) == effective || renames_context);
            if !renames_context && !sets_current_context {
                continue;
            }
            let target = std::fs::canonicalize(path)
                .with_context(|| format!("failed to resolve kubeconfig `{}`", path.display()))?;
            // The same file twice in KUBECONFIG, or under two names: one edit.
            if let Some((_, edit)) = edits.iter_mut().find(|(t, _)| *t == target) {
                edit.renames_context |= renames_context;
                edit.sets_current_context |= sets_current_context;
                continue;
            }
            edits.push((
                target,
                FileEdit {
                    path: path.clone(),
                    renames_context,
                    sets_current_context,
                },
            ));
        }
        let plan = ContextRename {
            from: from.to_string(),
            to: to.to_string(),
            edits: edits.into_iter().map(|(_, e)| e).collect(),
        };
        for edit in &plan.edits {
            let text = read(&edit.path)?;
            plan.edit_text(edit, &text)?;
        }
        Ok(plan)
    }

    pub fn from(&self) -> &str {
        &self.from
    }

    pub fn to(&self) -> &str {
        &self.to
    }

    /// The files to change, in loading order.
    pub fn edits(&self) -> &[FileEdit] {
        &self.edits
    }

    /// Rename. Every file is locked (kubectl's `<file>.lock`, and the symlink target's) and
    /// re-read, and every edit is computed, before the first file is written.
    pub fn apply(&self) -> Result<Vec<RenamedFile>> {
        let mut targets = Vec::new();
        let mut lock_paths = BTreeSet::new();
        for edit in &self.edits {
            let failed = || format!("failed to resolve kubeconfig `{}`", edit.path.display());
            let target = std::fs::canonicalize(&edit.path).with_context(failed)?;
            // Where kubectl's `<path>.lock` lives: the path with its directories resolved (not
            // the file, when it is a link). A lock per place, so a file reached through a
            // linked directory is not locked twice.
            let dir = match edit.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let name = edit.path.file_name().ok_or_else(|| anyhow!(failed()))?;
            let place = std::fs::canonicalize(dir).with_context(failed)?.join(name);
            lock_paths.insert(place);
            lock_paths.insert(target.clone());
            targets.push(target);
        }
        // Sorted, as client-go takes its locks.
        let _locks = lock_paths
            .iter()
            .map(|p| Lock::acquire(p))
            .collect::<Result<Vec<_>>>()?;
        let mut prepared = Vec::new();
        for (edit, target) in self.edits.iter().zip(targets) {
            let text = read(&target)?;
            let new = self.edit_text(edit, &text)?;
            prepared.push((edit, target, text, new));
        }
        let mut done = Vec::new();
        for (edit, target, old, new) in prepared {
            let backup = write_backup(&target, old.as_bytes())?;
            replace(&target, new.as_bytes())?;
            done.push(RenamedFile {
                edit: edit.clone(),
                target,
                backup,
            });
        }
        Ok(done)
    }

    /// `text` with the edits `edit` asks for, checked: the result must parse to the same YAML
    /// but for the replaced scalars.
    fn edit_text(&self, edit: &FileEdit, text: &str) -> Result<String> {
        let file = &edit.path;
        let by_hand = || {
            format!(
                "rename the context by hand: `kubectl config rename-context {} {}`",
                self.from, self.to
            )
        };
        let cannot = |why: String| {
            hinted(
                format!(
                    "cannot rename context `{}` in kubeconfig `{}`: {why}",
                    self.from,
                    file.display()
                ),
                by_hand(),
            )
        };
        let docs = parse(text)
            .map_err(|e| anyhow!(e))
            .with_context(|| format!("failed to parse kubeconfig `{}`", file.display()))?;
        let root = match docs.as_slice() {
            [root] => root,
            [] => return Err(cannot("the file is empty".into())),
            _ => return Err(cannot("the file holds several YAML documents".into())),
        };
        let Node::Map { entries, .. } = root else {
            return Err(cannot("the file is not a YAML mapping".into()));
        };
        let mut replaced: Vec<(Range<usize>, ScalarStyle)> = Vec::new();
        if edit.renames_context {
            let contexts = match value_of(entries, "contexts") {
                Ok(Some(node)) => node,
                Ok(None) => return Err(cannot("the file has no `contexts`".into())),
                Err(why) => return Err(cannot(why)),
            };
            let Node::Seq { items, .. } = contexts else {
                return Err(cannot("`contexts` is not a list".into()));
            };
            let mut found = Vec::new();
            for item in items {
                let Node::Map { entries, .. } = item else {
                    continue;
                };
                match value_of(entries, "name") {
                    Ok(Some(Node::Scalar(s))) if s.value == self.to => {
                        return Err(exists_already(&self.from, &self.to, file));
                    }
                    Ok(Some(Node::Scalar(s))) if s.value == self.from => found.push(s),
                    Ok(Some(Node::Alias)) => {
                        return Err(cannot("a context's name is a YAML alias".into()));
                    }
                    Err(why) => return Err(cannot(why)),
                    _ => {}
                }
            }
            let scalar = match found.as_slice() {
                [one] => *one,
                [] => return Err(cannot("the file does not define it".into())),
                _ => return Err(cannot("the file defines it more than once".into())),
            };
            replaced.push(self.replacement(scalar).map_err(&cannot)?);
        }
        if edit.sets_current_context {
            match value_of(entries, "current-context") {
                Ok(Some(Node::Scalar(s))) if s.value == self.from => {
                    replaced.push(self.replacement(s).map_err(&cannot)?);
                }
                Ok(Some(Node::Alias)) => {
                    return Err(cannot("`current-context` is a YAML alias".into()));
                }
                Err(why) => return Err(cannot(why)),
                _ => return Err(cannot("its `current-context` changed".into())),
            }
        }
        // From the end, so that the earlier ranges stay valid.
        replaced.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        let mut out = text.to_string();
        for (range, style) in &replaced {
            if out.get(range.clone()).is_none() {
                return Err(cannot(
                    "the YAML parser reported a position outside the file".into(),
                ));
            }
            out.replace_range(range.clone(), &render(&self.to, *style));
        }
        // The result must be the same YAML but for the replaced scalars, which now read `to`.
        let changed: Vec<(usize, ScalarStyle)> = replaced
            .iter()
            .map(|(range, style)| (range.start, *style))
            .collect();
        let same = match parse(&out) {
            Ok(new) => {
                new.len() == docs.len()
                    && docs
                        .iter()
                        .zip(&new)
                        .all(|(old, new)| old.same_but(new, &changed, &self.to))
            }
            Err(_) => false,
        };
        // And kube must still read it.
        if !same
            || (kube::config::Kubeconfig::from_yaml(text).is_ok()
                && kube::config::Kubeconfig::from_yaml(&out).is_err())
        {
            return Err(cannot(
                "the edited file would not read back the same".into(),
            ));
        }
        Ok(out)
    }

    /// The source range of `scalar`, and the style to write `to` in there.
    fn replacement(&self, scalar: &Scalar) -> Result<(Range<usize>, ScalarStyle), String> {
        if scalar.anchor != 0 {
            return Err(format!("`{}` carries a YAML anchor", self.from));
        }
        if scalar.tag.is_some() {
            return Err(format!("`{}` carries a YAML tag", self.from));
        }
        let style = match scalar.style {
            ScalarStyle::Plain if plain_is_a_string(&self.to) => ScalarStyle::Plain,
            ScalarStyle::Plain => ScalarStyle::DoubleQuoted,
            ScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
            ScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
            _ => return Err(format!("`{}` is a YAML block scalar", self.from)),
        };
        Ok((scalar.span.clone(), style))
    }
}

fn exists_already(from: &str, to: &str, file: &Path) -> anyhow::Error {
    hinted(
        format!(
            "cannot rename context `{from}` to `{to}`: kubeconfig `{}` defines a context `{to}` already",
            file.display()
        ),
        "pass --host-cluster-name instead, or rename the context by hand with `kubectl config rename-context`",
    )
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("failed to read kubeconfig `{}`", path.display()))
}

/// `to` as a YAML scalar in `style`.
fn render(to: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::Plain => to.to_string(),
        ScalarStyle::SingleQuoted => format!("'{}'", to.replace('\'', "''")),
        // A JSON string is a YAML double-quoted scalar.
        _ => serde_json::Value::from(to).to_string(),
    }
}

/// Whether `s` written plain reads back as the string `s` in YAML 1.1 and 1.2 alike (kubectl's
/// go-yaml is 1.1): a letter first, then letters, digits, `-`, `_` and `.`, and not a word
/// either version reads as a boolean or null.
fn plain_is_a_string(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
    ];
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// A YAML node with the source range of each scalar.
#[derive(Debug)]
enum Node {
    Scalar(Scalar),
    Seq {
        style: StructureStyle,
        anchor: usize,
        tag: Option<Tag>,
        items: Vec<Node>,
    },
    Map {
        style: StructureStyle,
        anchor: usize,
        tag: Option<Tag>,
        entries: Vec<(Node, Node)>,
    },
    Alias,
}

#[derive(Debug)]
struct Scalar {
    value: String,
    style: ScalarStyle,
    anchor: usize,
    tag: Option<Tag>,
    span: Range<usize>,
}

/// The value of `key` in a mapping; an error when the key is there twice.
fn value_of<'a>(entries: &'a [(Node, Node)], key: &str) -> Result<Option<&'a Node>, String> {
    let mut found = entries
        .iter()
        .filter(|(k, _)| matches!(k, Node::Scalar(s) if s.value == key));
    match (found.next(), found.next()) {
        (Some(_), Some(_)) => Err(format!("the key `{key}` appears twice")),
        (first, _) => Ok(first.map(|(_, v)| v)),
    }
}

impl Node {
    /// Equal to `other` but for the scalars starting at the offsets in `changed`, which must
    /// read `to` in the given style. Source ranges are not compared.
    fn same_but(&self, other: &Node, changed: &[(usize, ScalarStyle)], to: &str) -> bool {
        match (self, other) {
            (Node::Scalar(a), Node::Scalar(b)) => {
                let (value, style) = match changed.iter().find(|(start, _)| *start == a.span.start)
                {
                    Some((_, style)) => (to, *style),
                    None => (a.value.as_str(), a.style),
                };
                b.value == value && b.style == style && a.anchor == b.anchor && a.tag == b.tag
            }
            (
                Node::Seq {
                    style,
                    anchor,
                    tag,
                    items,
                },
                Node::Seq {
                    style: style2,
                    anchor: anchor2,
                    tag: tag2,
                    items: items2,
                },
            ) => {
                (style, anchor, tag) == (style2, anchor2, tag2)
                    && items.len() == items2.len()
                    && items
                        .iter()
                        .zip(items2)
                        .all(|(a, b)| a.same_but(b, changed, to))
            }
            (
                Node::Map {
                    style,
                    anchor,
                    tag,
                    entries,
                },
                Node::Map {
                    style: style2,
                    anchor: anchor2,
                    tag: tag2,
                    entries: entries2,
                },
            ) => {
                (style, anchor, tag) == (style2, anchor2, tag2)
                    && entries.len() == entries2.len()
                    && entries.iter().zip(entries2).all(|((k, v), (k2, v2))| {
                        k.same_but(k2, changed, to) && v.same_but(v2, changed, to)
                    })
            }
            (Node::Alias, Node::Alias) => true,
            _ => false,
        }
    }
}

/// The documents of a YAML stream. The parser bounds the nesting depth, and so the recursion.
fn parse(text: &str) -> Result<Vec<Node>, String> {
    let mut events = Parser::new_from_str(text)
        .filter(|e| !matches!(e, Ok((Event::Comment(..) | Event::Anchor(..), _))));
    let mut docs = Vec::new();
    loop {
        match next(&mut events)? {
            (Event::StreamStart | Event::DocumentEnd, _) => {}
            (Event::StreamEnd, _) => return Ok(docs),
            (Event::DocumentStart(..), _) => {
                let first = next(&mut events)?;
                docs.push(node(&mut events, first)?);
            }
            (event, _) => return Err(format!("unexpected YAML event {event:?}")),
        }
    }
}

type Spanned<'a> = (Event<'a>, granit_parser::Span);

fn next<'a>(
    events: &mut impl Iterator<Item = Result<Spanned<'a>, ScanError>>,
) -> Result<Spanned<'a>, String> {
    match events.next() {
        Some(Ok(event)) => Ok(event),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("unexpected end of the YAML stream".into()),
    }
}

fn node<'a>(
    events: &mut impl Iterator<Item = Result<Spanned<'a>, ScanError>>,
    (event, span): Spanned<'a>,
) -> Result<Node, String> {
    Ok(match event {
        Event::Scalar(value, style, anchor, tag) => Node::Scalar(Scalar {
            value: value.into_owned(),
            style,
            anchor,
            tag: tag.map(std::borrow::Cow::into_owned),
            span: span
                .byte_range()
                .ok_or("a YAML scalar without a source position")?,
        }),
        Event::SequenceStart(style, anchor, tag) => {
            let mut items = Vec::new();
            loop {
                match next(events)? {
                    (Event::SequenceEnd, _) => break,
                    first => items.push(node(events, first)?),
                }
            }
            Node::Seq {
                style,
                anchor,
                tag: tag.map(std::borrow::Cow::into_owned),
                items,
            }
        }
        Event::MappingStart(style, anchor, tag) => {
            let mut entries = Vec::new();
            loop {
                match next(events)? {
                    (Event::MappingEnd, _) => break,
                    first => {
                        let key = node(events, first)?;
                        let first = next(events)?;
                        entries.push((key, node(events, first)?));
                    }
                }
            }
            Node::Map {
                style,
                anchor,
                tag: tag.map(std::borrow::Cow::into_owned),
                entries,
            }
        }
        Event::Alias(_) => Node::Alias,
        event => return Err(format!("unexpected YAML event {event:?}")),
    })
}

/// The lock kubectl takes before it writes a kubeconfig: `<file>.lock`, created exclusively
/// (client-go's `lockFile`), removed when dropped.
struct Lock(PathBuf);

impl Lock {
    fn acquire(file: &Path) -> Result<Lock> {
        let mut name = file.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => Ok(Lock(path)),
            // No hint: what to do next depends on what the caller has done already.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(anyhow!(
                "kubeconfig `{}` is locked: `{}` exists (another kubectl or kubefedctl is \
                 changing the file, or was interrupted while it did)",
                file.display(),
                path.display()
            )),
            Err(e) => Err(anyhow::Error::new(e).context(format!(
                "failed to create the lock file `{}`",
                path.display()
            ))),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Copy `contents` to a new owner-only file beside `target`, never replacing an earlier backup.
fn write_backup(target: &Path, contents: &[u8]) -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut base = target.as_os_str().to_owned();
    base.push(format!(".kubefedctl-backup-{stamp}"));
    for n in 0..1000 {
        let mut path = base.clone();
        if n > 0 {
            path.push(format!("-{n}"));
        }
        let path = PathBuf::from(path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match file {
            Ok(mut file) => {
                file.write_all(contents)
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("failed to write the backup `{}`", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("failed to create the backup `{}`", path.display())));
            }
        }
    }
    Err(anyhow!(
        "failed to back up `{}`: `{}` and 999 numbered variants exist",
        target.display(),
        Path::new(&base).display()
    ))
}

/// Replace `target` (not a symlink) by `contents` atomically: a temporary file in its directory,
/// created exclusively and owner-only, given the target's mode and owner, fsynced, renamed over
/// the target; then the directory is fsynced.
fn replace(target: &Path, contents: &[u8]) -> Result<()> {
    let failed = || format!("failed to write kubeconfig `{}`", target.display());
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = std::fs::metadata(target).with_context(failed)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".kubefedctl-tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .with_context(failed)?;
    let file = tmp.as_file_mut();
    file.write_all(contents).with_context(failed)?;
    let tmp_meta = file.metadata().with_context(failed)?;
    if (tmp_meta.uid(), tmp_meta.gid()) != (meta.uid(), meta.gid()) {
        std::os::unix::fs::fchown(&*file, Some(meta.uid()), Some(meta.gid()))
            .with_context(|| format!("failed to keep the owner of `{}`", target.display()))?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))
        .and_then(|()| file.sync_all())
        .with_context(failed)?;
    tmp.persist(target)
        .map_err(|e| e.error)
        .with_context(failed)?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("failed to sync directory `{}`", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    use std::path::{Path, PathBuf};

    use crate::kubeconfig::LoadedKubeconfig;

    /// Rename `from` to `to` as `join --rename-context` does, in the kubeconfig merged from
    /// `files` (KUBECONFIG order).
    fn rename(files: &[&Path], from: &str, to: &str) -> anyhow::Result<()> {
        let loaded =
            LoadedKubeconfig::load_with(None, Some(std::env::join_paths(files).unwrap()), None)?;
        super::ContextRename::plan(&loaded, from, to)?
            .apply()
            .map(|_| ())
    }

    fn write(path: &Path, text: &str, mode: u32) {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// The names in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn backups(dir: &Path, file: &str) -> Vec<PathBuf> {
        let prefix = format!("{file}.kubefedctl-backup-");
        let mut found: Vec<PathBuf> = listing(dir)
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .map(|n| dir.join(n))
            .collect();
        found.sort();
        found
    }

    const SMALL: &str = "\
apiVersion: v1
kind: Config
current-context: admin@prod
clusters:
- name: prod
  cluster:
    server: https://127.0.0.1:6443
users:
- name: numeric
  user:
    token: 12e3
- name: hex
  user:
    token: \"0x1F\"
contexts:
- name: admin@prod
  context:
    cluster: prod
    user: numeric
    namespace: 0755
- name: other
  context:
    cluster: prod
    user: hex
";

    // Every scalar kubectl reads as a string, written in every way YAML allows, plus comments,
    // flow style, extensions and fields kube does not know.
    const RICH: &str = "\
# Written by hand. This comment stays.
apiVersion: v1
kind: Config
preferences: {}
current-context: admin@prod   # the one in use
clusters:
- name: prod
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
    extensions:
    - name: example.com/meta
      extension:
        owner: ~
        enabled: yes
        version: 1.10
        port: 0x1F
        when: 2001-12-14
- name: \"1.10\"
  cluster: {server: 'https://127.0.0.1:6444', x-vendor-field: [1, 2.50, off]}
users:
- name: numeric
  user:
    token: 12e3 # a token that looks like a float
- name: hex
  user:
    token: \"0x1F\"
- name: words
  user:
    username: yes
    password: true
    token: ~
contexts:
# the context to rename
- name: admin@prod
  context:
    cluster: prod
    user: numeric
    namespace: 0755
    extensions:
    - name: example.com/ctx
      extension: {pinned: on, level: 010}
- {name: 'admin@prod-2', context: {cluster: \"1.10\", user: hex, namespace: 'on'}}
x-unknown-top-level:
  nested: [NULL, Yes, 0o17, 1_000, 2001-12-14t21:59:43.10-05:00]
";

    #[test]
    fn rename_context_keeps_unquoted_numeric_token_a_string() {
        // Pins issue 12 item 3: `token: 12e3` became `12000.0` and `namespace: 0755` became `755.0`.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        write(&file, SMALL, 0o600);
        rename(&[&file], "admin@prod", "admin-prod").unwrap();
        let after = std::fs::read_to_string(&file).unwrap();
        assert_eq!(after, SMALL.replace("admin@prod", "admin-prod"));
        let loaded = LoadedKubeconfig::load_with(Some(&file), None, None).unwrap();
        let user = |name: &str| {
            let auth = loaded.merged().auth_infos.iter().find(|a| a.name == name);
            let user = serde_json::to_value(auth.and_then(|a| a.auth_info.as_ref())).unwrap();
            user["token"].as_str().map(str::to_string)
        };
        assert_eq!(user("numeric").as_deref(), Some("12e3"));
        assert_eq!(user("hex").as_deref(), Some("0x1F"));
        let ctx = loaded
            .merged()
            .contexts
            .iter()
            .find(|c| c.name == "admin-prod");
        let namespace = ctx.and_then(|c| c.context.as_ref()?.namespace.clone());
        assert_eq!(namespace.as_deref(), Some("0755"));
    }

    #[test]
    fn rename_context_changes_nothing_but_the_context_name_and_current_context() {
        // Pins issue 12 item 3: the rewrite dropped comments and retyped `yes`, `~`, `0x1F`, ....
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        write(&file, RICH, 0o600);
        rename(&[&file], "admin@prod", "admin-prod").unwrap();
        let expected = RICH
            .replace(
                "current-context: admin@prod ",
                "current-context: admin-prod ",
            )
            .replace("- name: admin@prod\n", "- name: admin-prod\n");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
    }

    #[test]
    fn rename_context_through_a_symlink_keeps_the_link_and_rewrites_its_target() {
        // Pins issue 12 item 3: a symlinked ~/.kube/config was replaced by a regular file.
        let dir = tempfile::tempdir().unwrap();
        let (kube, dotfiles) = (dir.path().join("kube"), dir.path().join("dotfiles"));
        std::fs::create_dir_all(&kube).unwrap();
        std::fs::create_dir_all(&dotfiles).unwrap();
        let target = dotfiles.join("kubeconfig");
        write(&target, SMALL, 0o600);
        let link = kube.join("config");
        std::os::unix::fs::symlink("../dotfiles/kubeconfig", &link).unwrap();
        rename(&[&link], "admin@prod", "admin-prod").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link was replaced"
        );
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("../dotfiles/kubeconfig")
        );
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            SMALL.replace("admin@prod", "admin-prod")
        );
    }

    #[test]
    fn rename_context_replaces_the_target_atomically_from_its_own_directory() {
        // Pins issue 12 item 3: the new file must be a temporary file beside the target, renamed
        // over it (a reader sees the old or the new file, never a mix), with nothing left behind.
        let dir = tempfile::tempdir().unwrap();
        let (kube, dotfiles) = (dir.path().join("kube"), dir.path().join("dotfiles"));
        std::fs::create_dir_all(&kube).unwrap();
        std::fs::create_dir_all(&dotfiles).unwrap();
        let target = dotfiles.join("kubeconfig");
        write(&target, SMALL, 0o600);
        let link = kube.join("config");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let reader = std::fs::File::open(&target).unwrap();
        let inode = std::fs::metadata(&target).unwrap().ino();
        rename(&[&link], "admin@prod", "admin-prod").unwrap();
        assert_ne!(
            std::fs::metadata(&target).unwrap().ino(),
            inode,
            "rewritten in place"
        );
        let mut old = String::new();
        std::io::Read::read_to_string(&mut &reader, &mut old).unwrap();
        assert_eq!(old, SMALL, "a reader of the old file saw the new one");
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            SMALL.replace("admin@prod", "admin-prod")
        );
        assert_eq!(
            listing(&kube),
            vec!["config"],
            "left in the link's directory"
        );
        let mut expected = vec!["kubeconfig".to_string()];
        expected.extend(
            backups(&dotfiles, "kubeconfig")
                .iter()
                .map(|b| b.file_name().unwrap().to_string_lossy().into_owned()),
        );
        expected.sort();
        assert_eq!(
            listing(&dotfiles),
            expected,
            "left in the target's directory"
        );
    }

    #[test]
    fn rename_context_fails_while_kubectl_holds_the_lock_file() {
        // Pins issue 12 item 3: kubectl's `<file>.lock` was ignored, so a concurrent edit was lost.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        write(&file, SMALL, 0o600);
        let lock = dir.path().join("config.lock");
        std::fs::write(&lock, "").unwrap();
        let err = rename(&[&file], "admin@prod", "admin-prod").unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("config.lock"), "{text}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), SMALL);
        assert!(lock.exists(), "someone else's lock was removed");
        assert!(backups(dir.path(), "config").is_empty());
        // Once kubectl is done, the rename goes through and leaves no lock behind.
        std::fs::remove_file(&lock).unwrap();
        rename(&[&file], "admin@prod", "admin-prod").unwrap();
        assert!(!lock.exists(), "our lock was left behind");
    }

    #[test]
    fn rename_context_keeps_the_mode_and_never_reuses_a_world_readable_temp_file() {
        // Pins issue 12 item 3: the temporary file had a fixed name and was opened without
        // O_EXCL, so a file (or link) already there received the credentials with its own mode.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        write(&file, SMALL, 0o600);
        let outside = dir.path().join("outside");
        write(&outside, "not a kubeconfig\n", 0o644);
        std::os::unix::fs::symlink(&outside, dir.path().join(".config.kubefedctl-tmp")).unwrap();
        rename(&[&file], "admin@prod", "admin-prod").unwrap();
        assert_eq!(
            std::fs::read_to_string(&outside).unwrap(),
            "not a kubeconfig\n"
        );
        assert_eq!(mode(&outside), 0o644);
        assert!(
            std::fs::symlink_metadata(&file)
                .unwrap()
                .file_type()
                .is_file()
        );
        assert_eq!(mode(&file), 0o600);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            SMALL.replace("admin@prod", "admin-prod")
        );
        // A group-readable file stays group-readable; the backup is owner-only.
        let shared = dir.path().join("shared");
        write(&shared, SMALL, 0o640);
        rename(&[&shared], "admin@prod", "admin-prod").unwrap();
        assert_eq!(mode(&shared), 0o640);
        for backup in backups(dir.path(), "shared") {
            assert_eq!(mode(&backup), 0o600);
        }
    }

    #[test]
    fn rename_context_never_overwrites_an_earlier_backup() {
        // Pins issue 12 item 3: backups were named by the second, so a second rename in the same
        // second overwrote the only pristine copy.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        write(&file, SMALL, 0o600);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // Earlier backups, named as they would be now.
        let earlier: Vec<PathBuf> = (now..now + 5)
            .map(|s| dir.path().join(format!("config.kubefedctl-backup-{s}")))
            .collect();
        for e in &earlier {
            write(e, "an earlier backup\n", 0o600);
        }
        rename(&[&file], "admin@prod", "admin-prod").unwrap();
        rename(&[&file], "admin-prod", "admin-prod-2").unwrap();
        for e in &earlier {
            assert_eq!(std::fs::read_to_string(e).unwrap(), "an earlier backup\n");
        }
        let mut contents: Vec<String> = backups(dir.path(), "config")
            .iter()
            .filter(|b| !earlier.contains(b))
            .map(|b| std::fs::read_to_string(b).unwrap())
            .collect();
        contents.sort();
        let mut expected = vec![SMALL.to_string(), SMALL.replace("admin@prod", "admin-prod")];
        expected.sort();
        assert_eq!(contents, expected);
    }

    #[test]
    fn rename_context_updates_current_context_in_another_kubeconfig_file() {
        // Pins issue 12 item 3: with KUBECONFIG=a:b, current-context lives in `a` (kubectl writes
        // it to the first file that sets it) while `b` defines the context; only `b` was edited.
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        write(
            &a,
            "apiVersion: v1\nkind: Config\ncurrent-context: admin@prod\nclusters: []\nusers: []\ncontexts: []\n",
            0o600,
        );
        let b = dir.path().join("b");
        write(
            &b,
            &SMALL.replace("current-context: admin@prod\n", ""),
            0o600,
        );
        rename(&[&a, &b], "admin@prod", "admin-prod").unwrap();
        let loaded =
            LoadedKubeconfig::load_with(None, Some(std::env::join_paths([&a, &b]).unwrap()), None)
                .unwrap();
        assert_eq!(loaded.current_context(), Some("admin-prod"));
        assert_eq!(loaded.context_names(), vec!["admin-prod", "other"]);
        assert_eq!(
            std::fs::read_to_string(&b).unwrap(),
            SMALL
                .replace("current-context: admin@prod\n", "")
                .replace("admin@prod", "admin-prod")
        );
    }

    #[test]
    fn rename_context_keeps_the_quoting_style_and_quotes_a_name_yaml_would_retype() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        let quoted = "apiVersion: v1\r\nkind: Config\r\ncurrent-context: \"admin@prod\" # here\r\n\
                      clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\r\n\
                      users: [{name: u, user: {token: 12e3}}]\r\n\
                      contexts: [{name: 'admin@prod', context: {cluster: c, user: u}}]\r\n";
        write(&file, quoted, 0o600);
        rename(&[&file], "admin@prod", "admin-prod").unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            quoted.replace("admin@prod", "admin-prod")
        );
        for (to, written) in [
            ("1.10", "\"1.10\""),
            ("yes", "\"yes\""),
            ("0755", "\"0755\""),
        ] {
            write(&file, SMALL, 0o600);
            rename(&[&file], "admin@prod", to).unwrap();
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                SMALL.replace("admin@prod", written)
            );
            let loaded = LoadedKubeconfig::load_with(Some(&file), None, None).unwrap();
            assert_eq!(loaded.current_context(), Some(to));
        }
    }

    #[test]
    fn rename_context_refuses_what_it_cannot_edit_exactly_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        let base = SMALL.replace("current-context: admin@prod\n", "");
        let cases = [
            (
                "an anchored name that current-context aliases",
                base.replace("- name: admin@prod\n", "- name: &n admin@prod\n")
                    .replace("kind: Config\n", "kind: Config\ncurrent-context: *n\n")
                    .replace("contexts:", "x: 1\ncontexts:"),
                "anchor",
            ),
            (
                "a block scalar name",
                base.replace("- name: admin@prod\n", "- name: |-\n    admin@prod\n"),
                "block scalar",
            ),
            (
                "the context twice",
                format!("{base}- name: admin@prod\n  context:\n    cluster: prod\n    user: hex\n"),
                "more than once",
            ),
            (
                "the new name taken",
                base.replace("- name: other\n", "- name: admin-prod\n"),
                "defines a context `admin-prod` already",
            ),
        ];
        for (case, text, expected) in cases {
            write(&file, &text, 0o600);
            let err = match rename(&[&file], "admin@prod", "admin-prod") {
                Ok(()) => panic!("{case}: renamed"),
                Err(e) => format!("{e:#}"),
            };
            assert!(err.contains(expected), "{case}: {err}");
            assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "{case}");
            assert!(backups(dir.path(), "config").is_empty(), "{case}");
            assert!(!dir.path().join("config.lock").exists(), "{case}");
        }
        // A new name another file of the merge defines already.
        let a = dir.path().join("a");
        write(&a, &SMALL.replace("name: other", "name: admin-prod"), 0o600);
        write(&file, SMALL, 0o600);
        let err = rename(&[&file, &a], "admin@prod", "admin-prod").unwrap_err();
        assert!(
            format!("{err:#}")
                .contains(&format!("`{}` defines a context `admin-prod`", a.display())),
            "{err:#}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), SMALL);
    }

    #[test]
    fn rename_context_through_a_linked_directory_takes_one_lock() {
        // `kube/config` reached as `alias/config` (alias -> kube) is one file with one lock.
        let dir = tempfile::tempdir().unwrap();
        let kube = dir.path().join("kube");
        std::fs::create_dir_all(&kube).unwrap();
        write(&kube.join("config"), SMALL, 0o600);
        std::os::unix::fs::symlink(&kube, dir.path().join("alias")).unwrap();
        let file = dir.path().join("alias").join("config");
        rename(&[&file], "admin@prod", "admin-prod").unwrap();
        assert_eq!(
            std::fs::read_to_string(kube.join("config")).unwrap(),
            SMALL.replace("admin@prod", "admin-prod")
        );
        let mut expected = vec!["config".to_string()];
        expected.extend(
            backups(&kube, "config")
                .iter()
                .map(|b| b.file_name().unwrap().to_string_lossy().into_owned()),
        );
        expected.sort();
        assert_eq!(listing(&kube), expected);
    }
}
