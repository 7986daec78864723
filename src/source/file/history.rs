//! `--since` for a file: its rotated predecessors in the same directory (`NAME.1`,
//! `NAME.2.gz`, `NAME-20261201`, `NAME-20261201.gz`), read before it, oldest first. One last
//! written before WHEN holds nothing to show and is skipped unopened; in a plain one the start
//! is found by binary search; a gzip one is read through (gzip cannot seek) and the lines
//! before WHEN are left out by the time filter every source goes through.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jiff::Timestamp;

use super::since::since_offset;
use crate::line::LineLimits;
use crate::parse::Clock;
use crate::source::stream::{Detached, Emitter};

/// How a predecessor is named: `.N` (a larger N is older) or `-DATE` (an earlier date is older).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Order {
    Dated(String),
    Numbered(std::cmp::Reverse<u64>),
}

/// What a predecessor's name says of it, given the followed file's `name`: its order, and
/// whether it is gzip.
fn rotated(name: &str, candidate: &str) -> Option<(Order, bool)> {
    let rest = candidate.strip_prefix(name)?;
    let (rest, gz) = match rest.strip_suffix(".gz") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(n) = rest.strip_prefix('.').filter(|n| all_digits(n) && n.len() <= 6) {
        return Some((Order::Numbered(std::cmp::Reverse(n.parse().ok()?)), gz));
    }
    // -YYYYMMDD, and -YYYYMMDDHH… as logrotate's dateformat may add.
    if let Some(d) = rest.strip_prefix('-').filter(|d| all_digits(d) && (8..=14).contains(&d.len()))
    {
        return Some((Order::Dated(d.to_string()), gz));
    }
    None
}

/// The predecessors of `path` that may hold lines at or after `since`, oldest first.
pub(super) fn predecessors(path: &Path, since: Timestamp) -> Vec<(PathBuf, bool)> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return Vec::new() };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let since = SystemTime::from(since);
    let mut found: Vec<(Order, PathBuf, bool)> = entries
        .flatten()
        .filter_map(|e| {
            let file_name = e.file_name();
            let (order, gz) = rotated(name, file_name.to_str()?)?;
            let meta = e.metadata().ok()?;
            // Last written before WHEN: every line in it is older.
            let recent = meta.modified().map_or(true, |m| m >= since);
            (meta.is_file() && recent).then(|| (order, dir.join(&file_name), gz))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p, gz)| (p, gz)).collect()
}

/// Reads `path`'s predecessors from `since` on, as this source's lines. One that cannot be
/// read is a note, not the end of the source.
pub(super) async fn read(
    path: &Path,
    since: Timestamp,
    limits: &LineLimits,
    emit: &Emitter,
) -> Result<(), Detached> {
    for (old, gz) in predecessors(path, since) {
        if let Err(e) = read_one(&old, gz, since, limits, emit).await {
            match e {
                Failure::Detached(d) => return Err(d),
                Failure::Io(e) => emit.note(format!("{}: cannot read: {e}", old.display())).await?,
            }
        }
    }
    Ok(())
}

enum Failure {
    Io(io::Error),
    Detached(Detached),
}

async fn read_one(
    path: &Path,
    gz: bool,
    since: Timestamp,
    limits: &LineLimits,
    emit: &Emitter,
) -> Result<(), Failure> {
    let file = File::open(path).map_err(Failure::Io)?;
    let mut reader: Box<dyn Read + Send> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(file)))
    } else {
        let size = file.metadata().map_err(Failure::Io)?.len();
        let (start, _) =
            since_offset(&mut &file, size, since, Clock::of_run()).map_err(Failure::Io)?;
        let mut file = file;
        io::Seek::seek(&mut file, io::SeekFrom::Start(start)).map_err(Failure::Io)?;
        Box::new(file)
    };
    let mut lines = limits.splitter();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Io(e)),
        };
        lines.push(&buf[..n]);
        if let Some(batch) = lines.take_batch() {
            emit.lines(batch, None).await.map_err(Failure::Detached)?;
        }
    }
    if let Some(batch) = lines.finish() {
        emit.lines(batch, None).await.map_err(Failure::Detached)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names_and_their_order() {
        assert_eq!(
            rotated("a.log", "a.log.1"),
            Some((Order::Numbered(std::cmp::Reverse(1)), false))
        );
        assert_eq!(
            rotated("a.log", "a.log.2.gz"),
            Some((Order::Numbered(std::cmp::Reverse(2)), true))
        );
        assert_eq!(
            rotated("a.log", "a.log-20261201.gz"),
            Some((Order::Dated("20261201".into()), true))
        );
        for other in ["a.log", "a.log.bak", "a.log.1.zip", "b.log.1", "a.log-2026", "a.logx.1"] {
            assert_eq!(rotated("a.log", other), None, "{other}");
        }
        let mut orders = vec![
            rotated("a", "a.1").unwrap().0,
            rotated("a", "a.3.gz").unwrap().0,
            rotated("a", "a.2").unwrap().0,
        ];
        orders.sort();
        assert_eq!(
            orders,
            [3, 2, 1].map(|n| Order::Numbered(std::cmp::Reverse(n))),
            "oldest first"
        );
    }
}
