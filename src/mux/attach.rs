//! Attaching sources: from the command line, from the `a` key (once located, which may take a
//! while), and the files a glob finds; each file once, whatever the paths that name it; and the
//! refusals (standard input twice, a file or listener already followed).

use std::path::{Path, PathBuf};

use super::table::{FileKey, SourceId};
use super::Mux;
use crate::output::Out;
use crate::source::{self, Initial, SourceKind, SourceOptions, SourceSpec};

impl Mux {
    /// Attaches every source of the command line, in order; fails (naming it) at the first that
    /// cannot start. Must run in the runtime.
    pub async fn attach_all(&mut self, specs: Vec<SourceSpec>) -> anyhow::Result<()> {
        let opts = self.opts.clone();
        if opts.follow {
            // inotify's descriptor before the sources': they may take every one that is left.
            self.watch.start();
        }
        for spec in specs {
            let spec = source::locate(spec, self.resolver).await?;
            self.attach(spec, &opts)?;
        }
        Ok(())
    }

    /// Starts following `spec` (located); fails (naming it) if it cannot start. A glob's files
    /// that exist now are attached right after it, with the same options.
    pub(super) fn attach(
        &mut self,
        spec: SourceSpec,
        opts: &SourceOptions,
    ) -> anyhow::Result<SourceId> {
        let found = match &spec.kind {
            SourceKind::Glob(pattern) => pattern.scan(&opts.exclude),
            _ => Vec::new(),
        };
        let opts = match &spec.kind {
            // The glob and its files share what tells it that one of them ended.
            SourceKind::Glob(_) => SourceOptions {
                glob_empty: found.is_empty(),
                glob_ended: Some(Default::default()),
                ..opts.clone()
            },
            _ => opts.clone(),
        };
        let opts = &opts;
        // A named file is looked at once: what it is tells both which file it is and how to open it.
        let looked = match &spec.kind {
            SourceKind::File(path) => Some(std::fs::metadata(path)),
            _ => None,
        };
        let key = match (&spec.kind, &looked) {
            (SourceKind::File(path), Some(looked)) => Some(FileKey::looked(path, looked)),
            _ => None,
        };
        let id = self.insert(spec, key, looked, opts, None)?;
        for (path, (dev, ino)) in found {
            self.attach_found(id, path, FileKey::Inode(dev, ino), opts)?;
        }
        Ok(id)
    }

    /// Opens `spec` and puts it in the table; a file (`key`: which one it is; `looked`: what a
    /// look at its name found, if one was taken) that is followed already (under another path, or found by a glob too) is followed once, under its first
    /// label, with a note.
    fn insert(
        &mut self,
        spec: SourceSpec,
        key: Option<FileKey>,
        looked: Option<std::io::Result<std::fs::Metadata>>,
        opts: &SourceOptions,
        parent: Option<SourceId>,
    ) -> anyhow::Result<SourceId> {
        if let Some(key) = &key {
            if let Some(first) = self.table.same_file(key) {
                // A glob finding its own file again says nothing.
                let own = parent.is_some() && self.table.row(first).parent == parent;
                if !own && self.table.first_note(key) {
                    let note = format!(
                        "{}: the same file as {}; followed once",
                        spec.spec,
                        self.table.name(first)
                    );
                    self.feedback.note(&note, &mut self.pending);
                }
                return Ok(first);
            }
        }
        let stream = source::open(&spec, opts, &self.watch, looked)?;
        let (label, text) = (spec.label.clone(), spec.spec.clone());
        let id = self.table.insert(spec, stream, parent);
        if let Some(key) = key {
            self.table.remember_file(key, id);
        }
        self.pending.push_back(Out::Source(id, label, text));
        Ok(id)
    }

    /// Follows a file that glob `glob` found, unless it is followed already.
    pub(super) fn attach_found(
        &mut self,
        glob: SourceId,
        path: PathBuf,
        key: FileKey,
        opts: &SourceOptions,
    ) -> anyhow::Result<()> {
        let g = &self.table.row(glob).spec;
        let file = path.to_string_lossy().into_owned();
        // A labelled glob's files: the label and the path below the glob's root.
        let below = match &g.kind {
            SourceKind::Glob(pattern) => pattern.below_root(&path),
            _ => path.file_name().map(Path::new).unwrap_or(&path),
        };
        let label = match g.labelled {
            true => format!("{}:{}", g.label, below.to_string_lossy()),
            false => file.clone(),
        };
        let spec =
            SourceSpec { label, spec: file, labelled: g.labelled, kind: SourceKind::File(path) };
        let opts = SourceOptions { end_when_gone: true, ..opts.clone() };
        self.insert(spec, Some(key), None, &opts, Some(glob))?;
        Ok(())
    }

    /// A source typed after `a` has been located: attach it, or say why not.
    pub(super) fn attach_located(&mut self, located: anyhow::Result<SourceSpec>) {
        let result = located.and_then(|spec| {
            self.may_attach(&spec)?;
            // Attached files are followed from now on.
            let opts = SourceOptions { initial: Initial::Last(0), ..self.opts.clone() };
            self.attach(spec, &opts)
        });
        match result {
            Ok(id) => self.say(format!("attached {}", self.table.name(id))),
            Err(e) => self.say(format!("cannot attach {e:#}")),
        }
    }

    /// Refuses what cannot be attached: standard input again, or when the keys come from it;
    /// a file already followed.
    fn may_attach(&self, spec: &SourceSpec) -> anyhow::Result<()> {
        match &spec.kind {
            SourceKind::Stdin if self.stdin_tty => {
                anyhow::bail!("-: standard input is the terminal the keys come from")
            }
            SourceKind::Stdin
                if self.table.rows().any(|(_, r)| r.spec.kind == SourceKind::Stdin) =>
            {
                anyhow::bail!("-: standard input is a source already")
            }
            _ => {}
        }
        let followed = match &spec.kind {
            SourceKind::File(path) => match FileKey::of(path) {
                // What the name is now: after a rotation, the file a source follows by this
                // name reads it, though it started with another.
                FileKey::Inode(dev, ino) => self
                    .table
                    .same_file(&FileKey::Inode(dev, ino))
                    .or_else(|| self.table.reading((dev, ino))),
                key => self.table.same_file(&key),
            },
            // Port 0 is a new port each time.
            SourceKind::Tcp(addr) | SourceKind::Tls(addr) | SourceKind::Udp(addr)
                if addr.port == 0 =>
            {
                None
            }
            kind if kind.is_listener() => self.table.following(kind),
            _ => None,
        };
        match followed {
            Some(id) => anyhow::bail!("{}: already followed as {}", spec.spec, self.table.name(id)),
            None => Ok(()),
        }
    }
}
