//! Globs (`'logs/*.log'`): every matching file is a source of its own, also files that appear
//! later.
//!
//! Wildcards anywhere in the path (`translate.rs`): `*`, `?`, `[abc]`, `[a-z]`, `[!abc]`,
//! `{a,b}`, and `**` for any depth. As in the shell, a name starting with `.` matches only a
//! pattern with a part starting with `.`. The glob's source walks the directories under its
//! root (the leading directories without wildcards; no deeper than the pattern reaches),
//! watches the names in each (the same shared watch as files: directories made later are
//! watched once seen, those gone are let go) and reports every matching file after each
//! change; the mux follows those it does not follow yet. Each file is then followed like any
//! other (rotation and all) and ends when it is deleted.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use regex::bytes::Regex;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::watch::DirWatch;
use translate::regex;

mod translate;
use super::{fds, Found, SourceEvent, SourceOptions, SourceStream};

/// A parsed glob.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The glob as written.
    text: String,
    /// The leading directories without wildcards, with their trailing `/` (empty for the
    /// current directory): where looking starts.
    root: String,
    /// How many directories below the root a match can be (`None`: any, with `**`).
    depth: Option<usize>,
    /// Whether a part of the pattern starts with `.` (else names starting with `.` are left
    /// out, as the shell does).
    dots: bool,
    matcher: Arc<Regex>,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

const WILDCARDS: [char; 4] = ['*', '?', '[', '{'];

/// The globs of `--exclude-path`: files matching any are left out of every glob.
pub type Excluded = Arc<Vec<Regex>>;

/// Compiles `--exclude-path` globs (matched against paths as the glob writes them, and against
/// file names alone when the exclusion has no `/`).
pub fn excluded(globs: &[String]) -> Result<Excluded, String> {
    let mut set = Vec::new();
    for g in globs {
        let g_bare = g.strip_prefix("./").unwrap_or(g);
        let whole = if g.contains('/') { g_bare.to_string() } else { format!("**/{g}") };
        set.push(regex(&whole).map_err(|e| format!("--exclude-path '{g}': {e}"))?);
    }
    Ok(Arc::new(set))
}

/// Whether `path` is left out; a leading `./` on either side does not count.
fn is_excluded(exclude: &Excluded, path: &Path) -> bool {
    let bare = path.strip_prefix(".").unwrap_or(path);
    exclude.iter().any(|re| {
        re.is_match(path.as_os_str().as_bytes()) || re.is_match(bare.as_os_str().as_bytes())
    })
}

impl Pattern {
    /// A glob if `spec` has wildcards (`*`, `?`, `[...]`, `{a,b}`, `**` for any depth); `None`
    /// for a plain path. Pure: whether the spec is also the name of an existing file is settled
    /// when it is opened.
    pub fn parse(spec: &str) -> Result<Option<Pattern>, String> {
        if !spec.contains(WILDCARDS) {
            return Ok(None);
        }
        let matcher = regex(spec)?;
        let parts: Vec<&str> = spec.split('/').collect();
        let fixed = parts.iter().take_while(|p| !p.contains(WILDCARDS)).count();
        if fixed == parts.len() {
            return Ok(None);
        }
        let root: String = parts[..fixed].iter().map(|p| format!("{p}/")).collect();
        let below = &parts[fixed..];
        let depth = (!below.contains(&"**") && !below.iter().any(|p| p.contains("**")))
            .then(|| below.len() - 1);
        let dots = below.iter().any(|p| p.starts_with('.'));
        Ok(Some(Pattern { text: spec.to_string(), root, depth, dots, matcher: Arc::new(matcher) }))
    }

    /// The directory to look in first.
    pub fn dir(&self) -> &Path {
        if self.root.is_empty() {
            Path::new(".")
        } else {
            Path::new(&self.root)
        }
    }

    /// A matching path below the root (`a/logs/app.log` of `srv/*/logs/app.log`): what tells
    /// the glob's files apart in a label.
    pub fn below_root<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    /// Whether a path written as the glob writes it matches.
    pub fn matches(&self, path: &Path) -> bool {
        self.matcher.is_match(path.as_os_str().as_bytes())
    }

    /// The regular files matching now, sorted, as paths written like the pattern
    /// (`logs/app.log`), each with its (device, inode), less those `exclude` leaves out.
    pub fn scan(&self, exclude: &Excluded) -> Vec<(PathBuf, (u64, u64))> {
        self.scan_files(exclude, &mut Vec::new()).unwrap_or_default()
    }

    /// [`Pattern::scan`], also listing the directories looked in (to watch them); an error
    /// when the root could not be read for want of descriptors.
    fn scan_files(
        &self,
        exclude: &Excluded,
        dirs: &mut Vec<PathBuf>,
    ) -> std::io::Result<Vec<(PathBuf, (u64, u64))>> {
        let mut found = Vec::new();
        // (directory as written, its depth below the root)
        let mut todo = vec![(PathBuf::from(&self.root), 0usize)];
        while let Some((dir, depth)) = todo.pop() {
            let at = if dir.as_os_str().is_empty() { Path::new(".") } else { dir.as_path() };
            let (entries, dev) = match std::fs::read_dir(at).and_then(|e| Ok((e, at.metadata()?))) {
                Ok((entries, meta)) => (entries, meta.dev()),
                Err(e) if fds::exhausted(&e) && dirs.is_empty() => return Err(e),
                Err(_) => continue,
            };
            dirs.push(at.to_path_buf());
            for e in entries.flatten() {
                let name = e.file_name();
                if name.as_bytes().first() == Some(&b'.') && !self.dots {
                    continue;
                }
                let path = dir.join(&name);
                let kind = e.file_type().ok();
                if kind.is_some_and(|t| t.is_dir()) {
                    if self.depth.is_none_or(|d| depth < d) {
                        todo.push((path, depth + 1));
                    }
                    continue;
                }
                if !self.matches(&path) || is_excluded(exclude, &path) {
                    continue;
                }
                // The directory entry tells a plain file and its inode without a stat (a file
                // system mounted on an entry would be a directory, never a match); anything
                // else (a symlink, a type the file system does not tell) is looked at.
                let id = match kind {
                    Some(t) if t.is_file() => (dev, e.ino()),
                    _ => match std::fs::metadata(&path) {
                        Ok(m) if m.is_file() => (m.dev(), m.ino()),
                        _ => continue,
                    },
                };
                found.push((path, id));
            }
        }
        found.sort();
        Ok(found)
    }
}

/// The files of a glob whose sources ended, to be looked at again: a file deleted and made again
/// at once may get its inode number back, and then no scan alone could tell it is new.
#[derive(Debug, Default)]
pub struct Ended {
    paths: std::sync::Mutex<Vec<PathBuf>>,
    notify: tokio::sync::Notify,
}

impl Ended {
    /// The source of the glob's file at `path` ended.
    pub fn ended(&self, path: PathBuf) {
        self.paths.lock().unwrap_or_else(|e| e.into_inner()).push(path);
        self.notify.notify_one();
    }

    fn take(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *self.paths.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Starts watching the glob's directory; every scan's matches are sent as `Found`. Without
/// `follow`, the files there now are all there is: the source ends at once (failed, as a missing
/// file does, when there were none).
pub fn open(pattern: Pattern, watch: &DirWatch, opts: &SourceOptions) -> SourceStream {
    let watch = watch.clone();
    let (follow, empty, glob_ended) = (opts.follow, opts.glob_empty, opts.glob_ended.clone());
    let exclude = opts.exclude.clone();
    SourceStream::spawn(move |emit| async move {
        if !follow {
            if empty {
                let _ = emit.send(SourceEvent::Failed("no matching file".into())).await;
            }
            return;
        }
        if empty && emit.note("no matching file yet; waiting").await.is_err() {
            return;
        }
        let mut sub = watch.subscribe_dir(pattern.dir());
        let mut dirs = Vec::new();
        // What the last look found: only files that are new since (or new at a known name) are
        // reported, so that a directory of ten thousand files is not reported again after
        // every change in it.
        let mut known: HashMap<PathBuf, (u64, u64)> = HashMap::new();
        let ended = glob_ended.unwrap_or_default();
        let mut starved = None;
        let mut poll_noted = false;
        let mut over_noted = false;
        loop {
            for path in ended.take() {
                known.remove(&path);
            }
            dirs.clear();
            let found = match pattern.scan_files(&exclude, &mut dirs) {
                Ok(found) => rescan_while_new_dirs(found, &pattern, &exclude, &mut dirs, &mut sub),
                Err(_) => {
                    // No descriptor to read the directory with: look again once one is free.
                    // Said by the files that wait (the glob waits, too, only while they fill
                    // every descriptor, and would make a note of its own after each episode).
                    if starved.is_none() {
                        starved = Some(fds::Starved::start());
                    }
                    tokio::select! {
                        _ = sub.changed() => {}
                        _ = fds::freed() => {}
                    }
                    continue;
                }
            };
            if starved.take().is_some_and(fds::Starved::release)
                && emit.note(fds::OVER).await.is_err()
            {
                return;
            }
            for (path, id) in &found {
                let found = Found { path: path.clone(), id: *id, glob: ended.clone() };
                if known.get(path) != Some(id)
                    && emit.send(SourceEvent::Found(Box::new(found))).await.is_err()
                {
                    return;
                }
            }
            known = found.into_iter().collect();
            // A directory without an inotify watch (the limit reached) is looked at every few
            // seconds instead; said once.
            if sub.poll_reason().is_some() && !poll_noted {
                poll_noted = true;
                let secs = super::watch::POLL_INTERVAL.as_secs();
                let note = format!("not every directory could be watched; checking every {secs}s");
                if emit.note(note).await.is_err() {
                    return;
                }
            }
            let over = dirs.len() > MAX_DIRS;
            if over && !over_noted {
                over_noted = true;
                let secs = super::watch::POLL_INTERVAL.as_secs();
                let note = format!(
                    "{} directories: the first {MAX_DIRS} are watched, all are looked at every {secs}s",
                    dirs.len()
                );
                if emit.note(note).await.is_err() {
                    return;
                }
            }
            // Boxed: a timer only while over the bound.
            let tick = async {
                match over {
                    true => Box::pin(tokio::time::sleep(super::watch::POLL_INTERVAL)).await,
                    false => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sub.changed() => {}
                _ = ended.notify.notified() => {}
                _ = tick => {}
            }
        }
    })
}

/// The most directories one glob watches; beyond, the glob looks again every few seconds (an
/// inotify watch each would take more of the system's limit than one program should).
const MAX_DIRS: usize = 8192;

/// The files found, after watching the directories seen: while a look saw directories new to
/// the watch, what was made in them meanwhile is found by looking once more.
fn rescan_while_new_dirs(
    mut found: Vec<(PathBuf, (u64, u64))>,
    pattern: &Pattern,
    exclude: &Excluded,
    dirs: &mut Vec<PathBuf>,
    sub: &mut super::watch::Subscription,
) -> Vec<(PathBuf, (u64, u64))> {
    while sub.set_dirs(&dirs[..dirs.len().min(MAX_DIRS)]) {
        dirs.clear();
        match pattern.scan_files(exclude, dirs) {
            Ok(again) => found = again,
            Err(_) => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Pattern::parse(pattern).unwrap().unwrap().matches(Path::new(path))
    }

    #[test]
    fn wildcards() {
        assert!(m("*.log", "app.log"));
        assert!(!m("*.log", "app.log.1"));
        assert!(m("app-?.log", "app-1.log"));
        assert!(!m("app-?.log", "app-12.log"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("[ab]*", "b.log"));
        assert!(!m("[!ab]*", "b.log"));
        assert!(m("x[0-9].log", "x7.log"));
        assert!(m("caf[é]", "café"), "a class matches whole characters");
        assert!(m("?.log", "é.log"));
        assert!(m("logs/{api,web}.log", "logs/web.log"));
        assert!(!m("logs/{api,web}.log", "logs/db.log"));
        assert!(!m("logs/*.log", "logs/sub/a.log"), "* stays in one directory");
        assert!(m("r/**/*.log", "r/a.log"), "** is zero or more directories");
        assert!(m("r/**/*.log", "r/x/y/a.log"));
        assert!(m("srv/*/logs/app.log", "srv/b/logs/app.log"));
    }

    #[test]
    fn parse_finds_the_root_and_the_depth() {
        let p = Pattern::parse("logs/*.log").unwrap().unwrap();
        assert_eq!((p.dir(), p.depth), (Path::new("logs/"), Some(0)));
        assert_eq!(Pattern::parse("*.log").unwrap().unwrap().dir(), Path::new("."));
        assert_eq!(Pattern::parse("plain.log").unwrap(), None);
        let p = Pattern::parse("srv/*/logs/app.log").unwrap().unwrap();
        assert_eq!((p.dir(), p.depth), (Path::new("srv/"), Some(2)));
        let p = Pattern::parse("/var/log/**/*.log").unwrap().unwrap();
        assert_eq!((p.dir(), p.depth), (Path::new("/var/log/"), None));
        assert!(Pattern::parse("a/[b.log").is_err(), "an unclosed class is an error");
    }

    #[test]
    fn scan_walks_as_deep_as_the_pattern_and_leaves_out_what_is_excluded() {
        let dir = std::env::temp_dir().join(format!("mux-tail-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["a.log", "x/b.log", "x/y/c.log", "x/y/c.log.gz", ".hidden/d.log", "x/e.txt"] {
            let path = dir.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "").unwrap();
        }
        let root = dir.to_str().unwrap();
        let names = |pattern: &str, exclude: &[&str]| -> Vec<String> {
            let exclude =
                excluded(&exclude.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
            let p = Pattern::parse(&format!("{root}/{pattern}")).unwrap().unwrap();
            p.scan(&exclude)
                .into_iter()
                .map(|(p, _)| p.strip_prefix(root).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(names("**/*.log", &[]), ["a.log", "x/b.log", "x/y/c.log"]);
        assert_eq!(names("*/*.log", &[]), ["x/b.log"]);
        assert_eq!(names("**/*", &["*.gz", "*.txt"]), ["a.log", "x/b.log", "x/y/c.log"]);
        assert_eq!(names("**/*.log", &[&format!("{root}/x/**")]), ["a.log"]);
        assert_eq!(
            names(".*/*.log", &[]),
            [".hidden/d.log"],
            "a dot in the pattern finds dot names"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
