//! Paths as the watcher keys them: one directory, one key, however it was written.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// The (directory, name) key for a file path: the directory made absolute and normalized.
pub fn key_of(path: &Path) -> (PathBuf, OsString) {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let name = abs.file_name().map(OsStr::to_os_string).unwrap_or_default();
    let dir = abs.parent().map(normalize).unwrap_or_else(|| PathBuf::from("/"));
    (dir, name)
}

/// Resolves symlinks and `..` in the part of `dir` that exists, so that one directory always has
/// one key (notify reports events under the path it was given).
pub fn normalize(dir: &Path) -> PathBuf {
    let mut existing = dir.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.file_name().map(OsStr::to_os_string), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => {
                // Only `..` and roots left: fall back to lexical clean-up.
                let mut out = PathBuf::new();
                for c in dir.components() {
                    match c {
                        Component::ParentDir => {
                            out.pop();
                        }
                        Component::CurDir => {}
                        other => out.push(other),
                    }
                }
                return out;
            }
        }
    }
}

/// The nearest directory at or above `dir` that exists, with its (device, inode).
pub fn nearest_existing(dir: &Path) -> (PathBuf, (u64, u64)) {
    let mut p = dir;
    loop {
        if let Ok(m) = std::fs::metadata(p) {
            if m.is_dir() {
                return (p.to_path_buf(), (m.dev(), m.ino()));
            }
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => return (PathBuf::from("/"), (0, 0)),
        }
    }
}

/// Whether `path` is on a file system where inotify does not see every change.
pub fn is_remote(path: &Path) -> bool {
    // Magic numbers from statfs(2): file systems whose files other hosts (or a user-space
    // server) can change without the local kernel knowing.
    const REMOTE: &[u64] = &[
        0x6969,      // NFS
        0x517B,      // SMB
        0xFF53_4D42, // CIFS
        0xFE53_4D42, // SMB2
        0x6573_5546, // FUSE
        0x0102_1997, // 9P
        0x00C3_6400, // Ceph
        0x0BD0_0BD0, // Lustre
        0x5346_414F, // AFS
        0x6B41_4653, // kAFS
        0x7375_7245, // Coda
        0x0116_1970, // GFS2
        0x7461_636F, // OCFS2
        0x4750_4653, // GPFS
    ];
    match rustix::fs::statfs(path) {
        #[allow(clippy::unnecessary_cast)]
        Ok(fs) => REMOTE.contains(&(fs.f_type as u64 & 0xFFFF_FFFF)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_directory_has_one_key_however_it_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(real.join("logs")).unwrap();
        std::os::unix::fs::symlink(real.join("logs"), real.join("link")).unwrap();
        let logs = real.join("logs");
        assert_eq!(normalize(&real.join("logs/../logs")), logs);
        assert_eq!(normalize(&real.join("link")), logs, "a symlink leads to its directory");
        // The part that does not exist yet is kept as written, below the part that does.
        assert_eq!(normalize(&real.join("link/new/deeper")), logs.join("new/deeper"));
        let (dir, name) = key_of(&real.join("link/./app.log"));
        assert_eq!((dir, name), (logs, OsString::from("app.log")));
    }

    #[test]
    fn the_nearest_existing_directory_serves_a_missing_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (found, id) = nearest_existing(&tmp.path().join("a/b/c"));
        assert_eq!(found, tmp.path());
        let meta = std::fs::metadata(tmp.path()).unwrap();
        assert_eq!(id, (meta.dev(), meta.ino()));
        assert!(!is_remote(tmp.path()), "a local temporary directory is watched, not polled");
    }
}
