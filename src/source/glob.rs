//! Globs (`'logs/*.log'`): every matching file is a source of its own, also files that appear
//! later.
//!
//! Wildcards (`*`, `?`, `[abc]`, `[a-z]`, `[!abc]`) are allowed in the file name; the directory
//! is literal. As in the shell, a name starting with `.` matches only a pattern starting with `.`.
//! The glob's source watches the directory's names (the same shared watch as files) and reports
//! every matching file after each change; the mux follows those it does not follow yet. Each file
//! is then followed like any other (rotation and all) and ends when it is deleted.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::watch::DirWatch;
use super::{fds, Found, SourceEvent, SourceOptions, SourceStream};

/// A parsed glob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The directory part as written, with its trailing `/` (empty for the current directory).
    prefix: String,
    /// The file-name pattern.
    name: Vec<u8>,
}

const WILDCARDS: [char; 3] = ['*', '?', '['];

impl Pattern {
    /// A glob if `spec` has wildcards in its file name; `None` for a plain path. Pure: whether
    /// the spec is also the name of an existing file is settled when it is opened.
    pub fn parse(spec: &str) -> Result<Option<Pattern>, String> {
        if !spec.contains(WILDCARDS) {
            return Ok(None);
        }
        let (prefix, name) = match spec.rfind('/') {
            Some(i) => spec.split_at(i + 1),
            None => ("", spec),
        };
        if !name.contains(WILDCARDS) {
            return Err("wildcards are allowed in the file name only".into());
        }
        if prefix.contains(WILDCARDS) {
            return Err("wildcards are allowed in the file name only".into());
        }
        Ok(Some(Pattern { prefix: prefix.to_string(), name: name.as_bytes().to_vec() }))
    }

    /// The directory to look in.
    pub fn dir(&self) -> &Path {
        if self.prefix.is_empty() {
            Path::new(".")
        } else {
            Path::new(&self.prefix)
        }
    }

    /// Whether a file name matches.
    pub fn matches(&self, name: &[u8]) -> bool {
        if name.first() == Some(&b'.') && self.name.first() != Some(&b'.') {
            return false;
        }
        wildmatch(&self.name, name)
    }

    /// The regular files matching now, sorted, as paths written like the pattern
    /// (`logs/app.log`), each with its (device, inode).
    pub fn scan(&self) -> Vec<(PathBuf, (u64, u64))> {
        self.scan_files().unwrap_or_default()
    }

    /// [`Pattern::scan`]; an error when the directory could not be read for want of
    /// descriptors.
    fn scan_files(&self) -> std::io::Result<Vec<(PathBuf, (u64, u64))>> {
        let dir = self.dir();
        let (entries, dev) = match std::fs::read_dir(dir).and_then(|e| Ok((e, dir.metadata()?))) {
            Ok((entries, meta)) => (entries, meta.dev()),
            Err(e) if fds::exhausted(&e) => return Err(e),
            Err(_) => return Ok(Vec::new()),
        };
        let mut found: Vec<_> = entries
            .flatten()
            .filter(|e| self.matches(e.file_name().as_bytes()))
            .filter_map(|e| {
                // The directory entry tells a plain file and its inode without a stat (a file
                // system mounted on an entry would be a directory, never a match); anything
                // else (a symlink, a type the file system does not tell) is looked at.
                let id = match e.file_type() {
                    Ok(t) if t.is_file() => (dev, e.ino()),
                    Ok(t) if t.is_dir() => return None,
                    _ => std::fs::metadata(e.path())
                        .ok()
                        .filter(|m| m.is_file())
                        .map(|m| (m.dev(), m.ino()))?,
                };
                let mut path = std::ffi::OsString::from(&self.prefix);
                path.push(e.file_name());
                Some((PathBuf::from(path), id))
            })
            .collect();
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
        let sub = watch.subscribe_dir(pattern.dir());
        // What the last look found: only files that are new since (or new at a known name) are
        // reported, so that a directory of ten thousand files is not reported again after
        // every change in it.
        let mut known: HashMap<PathBuf, (u64, u64)> = HashMap::new();
        let ended = glob_ended.unwrap_or_default();
        let mut starved = None;
        loop {
            for path in ended.take() {
                known.remove(&path);
            }
            let found = match pattern.scan_files() {
                Ok(found) => found,
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
            tokio::select! {
                _ = sub.changed() => {}
                _ = ended.notify.notified() => {}
            }
        }
    })
}

/// Shell-style wildcard match of a whole name.
fn wildmatch(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, name index it covers to).
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p + 1, n));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, len)) = class(&pattern[p..], name[n]) {
                        if matched {
                            p += len;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        // An unclosed `[` is itself.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                // Let the last `*` cover one more byte.
                star = Some((sp, sn + 1));
                p = sp;
                n = sn + 1;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the bracket class at the start of `pattern`: (matched, class length), or
/// `None` when the `[` is not closed.
fn class(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pattern.len() {
        let lo = pattern[i];
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = pattern[i + 2];
            matched |= (lo..=hi).contains(&c);
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        Pattern { prefix: String::new(), name: pattern.as_bytes().to_vec() }
            .matches(name.as_bytes())
    }

    #[test]
    fn wildcards() {
        assert!(m("*.log", "app.log"));
        assert!(!m("*.log", ".log"), "hidden files need a leading dot");
        assert!(m(".*.log", ".x.log"));
        assert!(!m("*.log", "app.log.1"));
        assert!(m("app-?.log", "app-1.log"));
        assert!(!m("app-?.log", "app-12.log"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("[ab]*", "b.log"));
        assert!(!m("[!ab]*", "b.log"));
        assert!(m("x[0-9].log", "x7.log"));
        assert!(!m("x[0-9].log", "xa.log"));
        assert!(m("[]]", "]"));
        assert!(m("a[", "a["), "an unclosed [ is literal");
        assert!(m("*", "anything"));
    }

    #[test]
    fn parse_finds_globs_in_the_file_name_only() {
        let p = Pattern::parse("logs/*.log").unwrap().unwrap();
        assert_eq!(p.dir(), Path::new("logs/"));
        assert_eq!(Pattern::parse("*.log").unwrap().unwrap().dir(), Path::new("."));
        assert_eq!(Pattern::parse("plain.log").unwrap(), None);
        assert!(Pattern::parse("l*/x.log").is_err());
    }
}
