//! Where reading a file starts (`-n`), and where a symlink leads.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::source::Initial;

/// The path a symlink finally leads to (following links to links), whether or not it exists;
/// `None` when `path` is not a symlink (or the chain loops).
pub(super) fn link_target(path: &Path) -> Option<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let Ok(next) = std::fs::read_link(&at) else {
            return (at != path).then_some(at);
        };
        at = match at.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    None
}

/// Where reading a file starts, and the bytes from there that finding it read already.
#[derive(Debug, Default)]
pub(super) struct Start {
    pub(super) pos: u64,
    /// The file's bytes from `pos` on (to its end as it was), when finding `pos` read them.
    pub(super) read: Vec<u8>,
    /// `--since` found no line with a time in it (none of it is shown).
    pub(super) untimed: bool,
}

impl Start {
    pub(super) fn at(pos: u64) -> Start {
        Start { pos, read: Vec::new(), untimed: false }
    }
}

/// Where reading starts in a file of `size` bytes for `-n`.
pub(super) fn start_offset(file: &File, size: u64, initial: Initial) -> io::Result<Start> {
    const BLOCK: u64 = 64 * 1024;
    let mut buf = vec![0u8; BLOCK.min(size) as usize];
    match initial {
        Initial::Since(since) => {
            let clock = crate::parse::Clock::of_run();
            let (pos, timed) = super::since::since_offset(&mut &*file, size, since, clock)?;
            Ok(Start { untimed: !timed && size > 0, ..Start::at(pos) })
        }
        Initial::Last(0) => Ok(Start::at(size)),
        Initial::From(n) if n <= 1 => Ok(Start::at(0)),
        Initial::Last(n) => {
            // The n-th `\n` before the end (not counting one that ends the file) ends the line
            // before the ones to show.
            let mut end = size;
            let mut found = 0;
            let mut first_block = true;
            while end > 0 {
                let start = end.saturating_sub(BLOCK);
                let chunk = &mut buf[..(end - start) as usize];
                read_exact_at(file, chunk, start)?;
                let mut chunk = &chunk[..];
                if std::mem::take(&mut first_block) && chunk.last() == Some(&b'\n') {
                    chunk = &chunk[..chunk.len() - 1];
                }
                for i in memchr::memrchr_iter(b'\n', chunk) {
                    found += 1;
                    if found == n {
                        let pos = start + i as u64 + 1;
                        // In the last block, the lines to show are read already.
                        let read = match end == size {
                            true => buf[(pos - start) as usize..(end - start) as usize].to_vec(),
                            false => Vec::new(),
                        };
                        return Ok(Start { pos, read, untimed: false });
                    }
                }
                end = start;
            }
            // Fewer than n lines: all of the file is shown, and when one block held it, it is
            // read already.
            if size <= BLOCK {
                return Ok(Start { pos: 0, read: buf, untimed: false });
            }
            Ok(Start::at(0))
        }
        Initial::From(n) => {
            // Skip n - 1 lines.
            let mut pos = 0;
            let mut skipped = 0;
            while pos < size {
                let len = BLOCK.min(size - pos) as usize;
                read_exact_at(file, &mut buf[..len], pos)?;
                for i in memchr::memchr_iter(b'\n', &buf[..len]) {
                    skipped += 1;
                    if skipped == n - 1 {
                        return Ok(Start::at(pos + i as u64 + 1));
                    }
                }
                pos += len as u64;
            }
            Ok(Start::at(size))
        }
    }
}

pub(super) fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn offset(content: &[u8], initial: Initial) -> u64 {
        let mut f = tempfile();
        f.write_all(content).unwrap();
        let start = start_offset(&f, content.len() as u64, initial).unwrap();
        let at = start.pos as usize;
        assert!(start.read.is_empty() || start.read == content[at..], "what was read is the rest");
        start.pos
    }

    fn tempfile() -> File {
        let dir = std::env::temp_dir();
        let path = dir.join(format!(
            "mux-tail-offset-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f =
            File::options().create(true).truncate(true).read(true).write(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    #[test]
    fn link_targets_are_followed_to_the_end_even_when_missing() {
        let dir = std::env::temp_dir().join(format!("mux-tail-links-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let (a, b) = (dir.join("a"), dir.join("sub/b"));
        let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
        std::os::unix::fs::symlink("sub/b", &a).unwrap();
        std::os::unix::fs::symlink("../missing.log", &b).unwrap();
        assert_eq!(link_target(&a), Some(dir.join("sub/../missing.log")));
        assert_eq!(link_target(&dir.join("sub")), None, "not a link");
        std::fs::remove_file(&b).unwrap();
        std::os::unix::fs::symlink("b", &b).unwrap();
        assert_eq!(link_target(&a), None, "a loop leads nowhere");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn last_n_lines() {
        assert_eq!(offset(b"a\nb\nc\n", Initial::Last(2)), 2);
        assert_eq!(offset(b"a\nb\nc", Initial::Last(2)), 2);
        assert_eq!(offset(b"a\nb\nc\n", Initial::Last(10)), 0);
        assert_eq!(offset(b"a\nb\nc\n", Initial::Last(0)), 6);
        assert_eq!(offset(b"", Initial::Last(3)), 0);
        assert_eq!(offset(b"\n\n", Initial::Last(1)), 1);
    }

    #[test]
    fn a_file_of_fewer_lines_than_asked_for_is_read_once() {
        let mut f = tempfile();
        f.write_all(b"a\nb\n").unwrap();
        let start = start_offset(&f, 4, Initial::Last(10)).unwrap();
        assert_eq!((start.pos, &start.read[..]), (0, &b"a\nb\n"[..]), "kept, not read again");
    }

    #[test]
    fn from_line_n() {
        assert_eq!(offset(b"a\nb\nc\n", Initial::From(1)), 0);
        assert_eq!(offset(b"a\nb\nc\n", Initial::From(2)), 2);
        assert_eq!(offset(b"a\nb\nc\n", Initial::From(4)), 6);
        assert_eq!(offset(b"a\nb\nc\n", Initial::From(9)), 6);
    }

    #[test]
    fn last_lines_across_blocks() {
        let mut content = Vec::new();
        for i in 0..100_000 {
            content.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let at = offset(&content, Initial::Last(3)) as usize;
        assert_eq!(&content[at..], b"line 99997\nline 99998\nline 99999\n");
    }
}
