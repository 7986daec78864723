//! Attaching sources: from the command line, from the `a` key (once located, which may take a
//! while), and the files a glob finds; and the refusals (standard input twice, a file already
//! followed).

use std::path::PathBuf;

use super::table::SourceId;
use super::Mux;
use crate::output::Out;
use crate::source::{self, Initial, SourceKind, SourceOptions, SourceSpec};

impl Mux {
    /// Attaches every source of the command line, in order; fails (naming it) at the first that
    /// cannot start. Must run in the runtime.
    pub async fn attach_all(&mut self, specs: Vec<SourceSpec>) -> anyhow::Result<()> {
        let opts = self.opts.clone();
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
            SourceKind::Glob(pattern) => pattern.scan(),
            _ => Vec::new(),
        };
        let id = self.insert(spec, opts, None)?;
        for path in found {
            self.attach_found(id, path, opts)?;
        }
        Ok(id)
    }

    fn insert(
        &mut self,
        spec: SourceSpec,
        opts: &SourceOptions,
        parent: Option<SourceId>,
    ) -> anyhow::Result<SourceId> {
        let stream = source::open(&spec, opts, &self.watch)?;
        let (label, text) = (spec.label.clone(), spec.spec.clone());
        let id = self.table.insert(spec, stream, parent);
        self.pending.push_back(Out::Source(id, label, text));
        Ok(id)
    }

    /// Follows a file that glob `glob` found, unless one of its files already follows it.
    pub(super) fn attach_found(
        &mut self,
        glob: SourceId,
        path: PathBuf,
        opts: &SourceOptions,
    ) -> anyhow::Result<()> {
        if self.table.glob_follows(glob, &path) {
            return Ok(());
        }
        let g = &self.table.row(glob).spec;
        let file = path.to_string_lossy().into_owned();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let label = if g.labelled { format!("{}:{name}", g.label) } else { file.clone() };
        let spec =
            SourceSpec { label, spec: file, labelled: g.labelled, kind: SourceKind::File(path) };
        let opts = SourceOptions { end_when_gone: true, ..opts.clone() };
        self.insert(spec, &opts, Some(glob))?;
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
            kind @ SourceKind::File(_) => match self.table.following(kind) {
                Some(id) => {
                    anyhow::bail!("{}: already followed as {}", spec.spec, self.table.name(id))
                }
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}
