//! `--since` in a file: where the first line stamped at or after WHEN starts, found by binary
//! search on the file (seek, read a window, resync to a line, read its time), so that a file
//! of gigabytes is read a few windows deep, never whole. Lines without a time belong to the
//! line before them: they are skipped with it, or shown with it.

use std::io;

use jiff::Timestamp;

use crate::parse::{self, Clock};

/// The bytes read at each probe.
const WINDOW: usize = 64 * 1024;

/// Reads at an offset: `(buffer, position) -> bytes read` (0 at the end).
pub(super) trait ReadAt {
    fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize>;
}

impl ReadAt for &std::fs::File {
    fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(*self, buf, pos)
    }
}

/// Fills `buf` from `pos` as far as the file goes; the bytes read.
fn fill(file: &mut impl ReadAt, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], pos + got as u64)? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// The first line starting at `pos` or after (at `pos` itself only when it is 0) that carries a
/// time, within one window: where it starts and its time.
fn stamped_after(
    file: &mut impl ReadAt,
    pos: u64,
    buf: &mut [u8],
    clock: &Clock,
) -> io::Result<Option<(u64, Timestamp)>> {
    let n = fill(file, buf, pos)?;
    let window = &buf[..n];
    let mut at = 0;
    if pos > 0 {
        // Resync: the line `pos` is in started before it.
        match memchr::memchr(b'\n', window) {
            Some(i) => at = i + 1,
            None => return Ok(None),
        }
    }
    // Whole lines, and a last one cut by the window judged by its start (a time is at the
    // start of a line, and only a prefix is ever looked at).
    while at < n {
        let end = memchr::memchr(b'\n', &window[at..]).map_or(n, |len| at + len);
        if let Some(ts) = parse::timestamp(&window[at..end], clock) {
            return Ok(Some((pos + at as u64, ts)));
        }
        at = end + 1;
    }
    Ok(None)
}

/// [`stamped_after`], looking a few windows further (up to `hi`) when one holds no time (a
/// long stack trace), so that the search stays a few windows deep.
fn stamped_ahead(
    file: &mut impl ReadAt,
    mut pos: u64,
    hi: u64,
    buf: &mut [u8],
    clock: &Clock,
) -> io::Result<Option<(u64, Timestamp)>> {
    for _ in 0..16 {
        if let Some(found) = stamped_after(file, pos, buf, clock)? {
            return Ok(Some(found));
        }
        pos += WINDOW as u64;
        if pos >= hi {
            break;
        }
    }
    Ok(None)
}

/// How far a file is read for a first time before it is taken for one without times.
const UNTIMED: u64 = 1 << 20;

/// Where the first line stamped at or after `since` starts in a file of `size` bytes (`size`
/// when there is none), and whether any line of it showed a time (a file whose probes and
/// first megabyte from the start of the search show none is taken for one without times).
pub(super) fn since_offset(
    file: &mut impl ReadAt,
    size: u64,
    since: Timestamp,
    clock: &Clock,
) -> io::Result<(u64, bool)> {
    let mut timed = false;
    let mut buf = vec![0u8; WINDOW];
    // Every line starting before `lo` is older than `since`; none of `hi` or after is needed
    // to find the first that is not.
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > WINDOW as u64 {
        let mid = lo + (hi - lo) / 2;
        match stamped_ahead(file, mid, hi, &mut buf, clock)? {
            // Older: the answer starts after that line (found again by resyncing past it).
            Some((at, ts)) if ts < since => {
                timed = true;
                lo = at + 1;
                // `hi` was a guess (a window without a time): the older line proves it low.
                hi = hi.max(lo);
            }
            // At or after `since`, or no time in this window: look before.
            found => {
                timed |= found.is_some();
                hi = mid;
            }
        }
    }
    // From `lo`, line by line: the first stamped at or after `since`.
    let (mut pos, mut resync) = (lo, lo > 0);
    loop {
        let n = fill(file, &mut buf, pos)?;
        if n == 0 || (!timed && pos - lo >= UNTIMED) {
            return Ok((size, timed));
        }
        let window = &buf[..n];
        let eof = pos + n as u64 >= size;
        let mut at = 0;
        if std::mem::take(&mut resync) {
            match memchr::memchr(b'\n', window) {
                Some(i) => at = i + 1,
                None => {
                    // Still inside a line longer than the window.
                    (pos, resync) = (pos + n as u64, true);
                    continue;
                }
            }
        }
        while at < n {
            let end = match memchr::memchr(b'\n', &window[at..]) {
                Some(len) => at + len,
                // The last line, without its `\n`.
                None if eof => n,
                // A line longer than the window: judged by its start.
                None if at == 0 => n,
                None => break,
            };
            if let Some(ts) = parse::timestamp(&window[at..end], clock) {
                timed = true;
                if ts >= since {
                    return Ok((pos + at as u64, true));
                }
            }
            if end == n && !eof {
                // The long line goes on past the window: skip the rest of it.
                resync = true;
            }
            at = end + 1;
        }
        if eof {
            return Ok((size, timed));
        }
        pos += at.min(n) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::{Offset, TimeZone};

    /// A file that is not there: line k (`LINE` bytes) is stamped START + k seconds, with
    /// `every`-th lines an unstamped continuation. Counts what is read.
    struct Virtual {
        size: u64,
        every: u64,
        read: u64,
    }

    const LINE: u64 = 64;
    const START: i64 = 1_796_205_600; // 2026-12-02T10:00:00Z

    fn line(k: u64, every: u64) -> Vec<u8> {
        // `every` above 1000: only every `every`-th line is stamped (long traces between).
        let unstamped = match every {
            0 => false,
            e if e > 1000 => !k.is_multiple_of(e),
            e => k % e == 1,
        };
        let mut l = if unstamped {
            format!("\tat frame {k}")
        } else {
            let ts = Timestamp::from_second(START + k as i64).unwrap();
            format!("{ts} INFO line {k}")
        }
        .into_bytes();
        l.resize(LINE as usize - 1, b' ');
        l.push(b'\n');
        l
    }

    impl ReadAt for Virtual {
        fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
            let n = buf.len().min(self.size.saturating_sub(pos) as usize);
            let mut i = 0;
            while i < n {
                let at = pos + i as u64;
                let l = line(at / LINE, self.every);
                let from = (at % LINE) as usize;
                let take = (LINE as usize - from).min(n - i);
                buf[i..i + take].copy_from_slice(&l[from..from + take]);
                i += take;
            }
            self.read += n as u64;
            Ok(n)
        }
    }

    fn clock() -> Clock {
        Clock::new(TimeZone::fixed(Offset::UTC), Timestamp::from_second(START).unwrap())
    }

    #[test]
    fn finds_the_first_line_at_or_after_since_in_a_3_gib_file_reading_little() {
        let size = 3u64 << 30;
        let lines = size / LINE;
        for (k, every) in
            [(0, 0), (1, 0), (lines / 2, 0), (lines - 10, 0), (lines - 10, 7), (12_345_678, 3)]
        {
            let mut f = Virtual { size, every, read: 0 };
            let since = Timestamp::from_second(START + k as i64).unwrap();
            let (at, timed) = since_offset(&mut f, size, since, &clock()).unwrap();
            assert!(timed);
            // An unstamped line is never where it starts: it goes with the one before.
            let want = if every > 0 && k % every == 1 { k + 1 } else { k };
            assert_eq!(at, want * LINE, "line {k}, every {every}");
            assert!(f.read < 4 << 20, "read {} bytes of 3 GiB", f.read);
        }
        // Past the end: nothing to show.
        let mut f = Virtual { size, every: 0, read: 0 };
        let late = Timestamp::from_second(START + lines as i64 + 5).unwrap();
        assert_eq!(since_offset(&mut f, size, late, &clock()).unwrap(), (size, true));
    }

    #[test]
    fn long_stretches_without_a_time_keep_the_search_short_and_right() {
        let size = 1u64 << 30;
        let every = 3000; // 192 KiB between stamped lines
        for k in [0u64, 2999, 3000, 3001, 1_000_000, size / LINE - 3001] {
            let mut f = Virtual { size, every, read: 0 };
            let since = Timestamp::from_second(START + k as i64).unwrap();
            let (at, timed) = since_offset(&mut f, size, since, &clock()).unwrap();
            assert!(timed);
            let want = k.div_ceil(every) * every;
            assert_eq!(at, (want * LINE).min(size), "line {k}");
            assert!(f.read < 64 << 20, "read {} bytes of 1 GiB", f.read);
        }
    }

    #[test]
    fn small_files_and_untimed_lines() {
        let mut file: Vec<u8> = Vec::new();
        for l in
            ["no time yet", "2026-12-02T10:00:00Z a", "  cont", "2026-12-02T10:00:05Z b", "tail"]
        {
            file.extend_from_slice(l.as_bytes());
            file.push(b'\n');
        }
        struct Mem<'a>(&'a [u8]);
        impl ReadAt for Mem<'_> {
            fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
                let rest = self.0.get(pos as usize..).unwrap_or(&[]);
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                Ok(n)
            }
        }
        let at = |s: &str| {
            let since: Timestamp = s.parse().unwrap();
            since_offset(&mut Mem(&file), file.len() as u64, since, &clock()).unwrap().0 as usize
        };
        assert_eq!(&file[at("2026-12-02T10:00:03Z")..], b"2026-12-02T10:00:05Z b\ntail\n");
        assert_eq!(
            &file[at("2026-12-02T09:00:00Z")..],
            b"2026-12-02T10:00:00Z a\n  cont\n2026-12-02T10:00:05Z b\ntail\n"
        );
        assert_eq!(at("2026-12-02T11:00:00Z"), file.len());
    }

    #[test]
    fn a_big_file_without_times_is_not_read_whole() {
        struct Untimed(u64);
        impl ReadAt for Untimed {
            fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
                let n = buf.len().min((3u64 << 30).saturating_sub(pos) as usize);
                for (i, b) in buf[..n].iter_mut().enumerate() {
                    *b = if (pos + i as u64) % 64 == 63 { b'\n' } else { b'x' };
                }
                self.0 += n as u64;
                Ok(n)
            }
        }
        let mut f = Untimed(0);
        let since = Timestamp::from_second(START).unwrap();
        assert_eq!(since_offset(&mut f, 3 << 30, since, &clock()).unwrap(), (3 << 30, false));
        assert!(f.0 < 64 << 20, "read {} bytes of 3 GiB", f.0);
    }
}
