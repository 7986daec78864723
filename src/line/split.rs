//! Byte-level line splitting: the one place where raw input becomes lines.
//!
//! A [`Splitter`] owns the bytes read from one input (a file, a connection, stdin) that have not
//! yet become lines. Each call to [`Splitter::take_batch`] cuts every complete line off the front
//! and returns them as one [`Batch`]; a partial last line stays until its `\n` arrives or
//! [`Splitter::finish`] is called (the source ended or the file was replaced). Lines are bytes:
//! nothing here looks at encodings. A `\r` right before `\n` is dropped, and a line longer than the
//! maximum is cut into pieces of exactly the maximum (the last piece holding the rest), so memory
//! stays bounded whatever the input. The result never depends on how the input was chunked.

use std::io;
use std::os::fd::BorrowedFd;

use bytes::BytesMut;

use super::{Batch, Budget};

/// The smallest read the splitter asks for; it grows while reads keep filling the buffer.
const MIN_READ: usize = 8 * 1024;
/// The least room a read with an expected size takes.
const SMALL_READ: usize = 512;
/// The largest read the splitter asks for.
const MAX_READ: usize = 256 * 1024;

/// Turns a stream of byte chunks into batches of lines; see the module docs.
#[derive(Debug)]
pub struct Splitter {
    buf: BytesMut,
    /// The maximum number of content bytes in one line (below 2^31). The three sizes are
    /// `u32`: ten thousand idle files each hold a splitter.
    max: u32,
    /// How many bytes at the front of `buf` are known to hold no `\n`.
    scanned: u32,
    /// The size of the next read (at most [`MAX_READ`]).
    read_size: u32,
    /// The budget all unfinished lines share, and how much of it this splitter holds.
    budget: Budget,
    accounted: usize,
    /// The last read filled all the room it was given.
    filled: bool,
}

impl Splitter {
    /// A splitter that cuts lines longer than `max_line_bytes` (at least 1) into pieces, with a
    /// budget for its unfinished line of its own.
    pub fn new(max_line_bytes: usize) -> Self {
        Self::with_budget(max_line_bytes, Budget::new(usize::MAX))
    }

    /// A splitter whose unfinished line counts against `budget`, shared with other splitters.
    pub fn with_budget(max_line_bytes: usize, budget: Budget) -> Self {
        assert!((1..u32::MAX as usize / 2).contains(&max_line_bytes), "line limit out of range");
        Splitter {
            buf: BytesMut::new(),
            max: max_line_bytes as u32,
            scanned: 0,
            read_size: MIN_READ as u32,
            budget,
            accounted: 0,
            filled: false,
        }
    }

    /// The buffer to read more input into, with room reserved for one read.
    ///
    /// Append to it (`BufMut`), then call [`Splitter::take_batch`].
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.make_room(self.next_read());
        &mut self.buf
    }

    /// The size of the next read: the smallest while the shared budget for unfinished lines
    /// is nearly spent, so that many inputs holding long lines do not each take a large buffer.
    fn next_read(&self) -> usize {
        if self.budget.held() + self.read_size as usize > self.budget.limit() {
            MIN_READ
        } else {
            self.read_size as usize
        }
    }

    /// Makes room for one read. While a long line builds up, the buffer grows no further than a
    /// full piece and one read: every batch cut from it holds its allocation while queued, so
    /// the allocation, not only the line, is what must stay bounded.
    fn make_room(&mut self, need: usize) {
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        if cap - len >= need {
            return;
        }
        // Doubling keeps the copies few; while the shared budget is nearly spent, a quarter more
        // at a time keeps the slack small.
        let pressed = self.next_read() < self.read_size as usize;
        if len < MAX_READ && !pressed {
            self.buf.reserve(need);
            return;
        }
        let grown = if pressed { cap + cap / 4 } else { 2 * cap };
        let cap = (len + need).max(grown.min(self.max as usize + 1 + need));
        let mut fresh = BytesMut::with_capacity(cap);
        fresh.extend_from_slice(&self.buf);
        self.buf = fresh;
    }

    /// Doubles the size of the next read, up to [`MAX_READ`].
    fn grow_reads(&mut self) {
        self.read_size = (self.read_size * 2).min(MAX_READ as u32);
    }

    /// Gives back the room taken by [`Splitter::read_buf`] when the read found nothing and
    /// nothing is pending: an input waiting for bytes holds no buffer.
    pub fn shed(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }

    /// Reports how many bytes the last read into [`Splitter::read_buf`] delivered, so that the
    /// next read grows when reads keep filling the room given.
    pub fn note_read(&mut self, n: usize) {
        if n >= self.read_size as usize {
            self.grow_reads();
        }
    }

    /// Reads once from `fd` (at `offset`, or at its file position when `None`) into the buffer;
    /// returns the number of bytes read, 0 at end of input. `expect`, when known, is how many
    /// bytes there are to read (a file's size past the offset): no more room than that is
    /// taken, so that ten thousand small files do not each hold a full read buffer.
    pub fn read_from(
        &mut self,
        fd: BorrowedFd<'_>,
        offset: Option<u64>,
        expect: Option<u64>,
    ) -> io::Result<usize> {
        let want = match expect {
            // At least a little: a file whose size says nothing (in /proc) is still read.
            Some(n) => self.next_read().min((n as usize).max(SMALL_READ)),
            None => self.next_read(),
        };
        self.make_room(want);
        let spare = self.buf.spare_capacity_mut();
        let room = want.min(spare.len());
        let spare = &mut spare[..room];
        let n = loop {
            let res = match offset {
                Some(at) => rustix::io::pread(fd, &mut *spare, at),
                None => rustix::io::read(fd, &mut *spare),
            };
            match res {
                Ok((filled, _)) => break filled.len(),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        // SAFETY: the read initialized exactly the first `n` bytes of the spare capacity.
        unsafe { self.buf.set_len(self.buf.len() + n) };
        if n == 0 && self.buf.is_empty() {
            // Nothing came: an idle input holds no buffer.
            self.buf = BytesMut::new();
        }
        self.filled = n == room;
        if self.filled {
            self.grow_reads();
        }
        Ok(n)
    }

    /// Whether the last [`Splitter::read_from`] filled the room it had: a read of a regular
    /// file that did not has reached the end of the file as it is now.
    pub fn filled(&self) -> bool {
        self.filled
    }

    /// The last `n` bytes held (just read, before [`Splitter::take_batch`] takes them).
    pub fn last_bytes(&self, n: usize) -> &[u8] {
        &self.buf[self.buf.len().saturating_sub(n)..]
    }

    /// Appends bytes (for inputs that arrive as slices, such as datagrams).
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that are not yet part of a returned line.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Cuts every complete line (and every full-size piece of an overlong line) off the front.
    pub fn take_batch(&mut self) -> Option<Batch> {
        let data = &self.buf[..];
        let max = self.max as usize;
        let pos = self.scanned as usize;
        let mut lines = Vec::new();
        let mut start = 0;
        if let Some(first) = memchr::memchr(b'\n', &data[pos..]) {
            // Room for lines of a hundred bytes or so: most batches never grow their list.
            lines.reserve((data.len() - pos - first) / 96 + 2);
            each_newline(&data[pos + first..], |i| {
                let nl = pos + first + i;
                let end = if nl > start && data[nl - 1] == b'\r' { nl - 1 } else { nl };
                push_pieces(&mut lines, start, end, max);
                start = nl + 1;
            });
        }
        if lines.capacity() > 2 * lines.len() + 16 {
            // Long lines: the room guessed for short ones goes back (the list travels with the
            // batch).
            lines.shrink_to_fit();
        }
        // The partial rest: a full-size piece can go only once it is certain the line goes on
        // beyond it (one more byte that is not a `\r`, which could still be part of `\r\n`).
        let len = data.len();
        while len - start > max + 1 || (len - start == max + 1 && data[start + max] != b'\r') {
            lines.push([start as u32, (start + max) as u32]);
            start += max;
        }
        // Over the shared budget, a long unfinished line goes on as a piece. Its last byte stays
        // (two if it is a `\r`, which may be half of `\r\n`), so that the `\n` to come ends a
        // line rather than making an empty one.
        let keep = if data.last() == Some(&b'\r') { 2 } else { 1 };
        let rest = len - start;
        let cut = rest > keep && self.budget.must_cut(self.accounted, rest);
        if cut {
            lines.push([start as u32, (len - keep) as u32]);
            start = len - keep;
        }
        self.scanned = (len - start) as u32;
        self.budget.account(self.accounted, len - start);
        self.accounted = len - start;
        if lines.is_empty() {
            return None;
        }
        let data = self.buf.split_to(start).freeze();
        if self.buf.is_empty() {
            // Nothing pending: hold no memory while the input is idle (the rest of the
            // allocation is the batch's, and goes with it).
            self.buf = BytesMut::new();
        } else if cut || self.buf.len() * 8 < self.buf.capacity() {
            // A short rest must not keep a large allocation alive (it is shared with the batch,
            // and would stay while the input is idle): it moves to one of its own.
            self.buf = BytesMut::from(&self.buf[..]);
        }
        Some(Batch { data, lines, starts: Vec::new(), cut, gap: false })
    }

    /// The bytes of memory this splitter holds (its buffer's capacity).
    pub fn held(&self) -> usize {
        self.buf.capacity()
    }

    /// Takes the partial last line, if any, as a line of its own (as if its `\n` had arrived).
    pub fn finish(&mut self) -> Option<Batch> {
        if self.buf.is_empty() {
            return None;
        }
        self.buf.extend_from_slice(b"\n");
        self.take_batch()
    }
}

/// Calls `found` with the index of every `\n` in `data`, in order.
///
/// Sixty-four bytes at a time become a mask of where their newlines are, and each newline is one
/// bit taken off it: a line of a hundred bytes costs two masks, where a search per line would pay
/// a search's setup for every line.
#[inline]
fn each_newline(data: &[u8], mut found: impl FnMut(usize)) {
    let mut blocks = data.chunks_exact(64);
    let mut base = 0;
    for block in &mut blocks {
        let mut mask = newline_mask(block);
        while mask != 0 {
            found(base + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
        base += 64;
    }
    for i in memchr::memchr_iter(b'\n', blocks.remainder()) {
        found(base + i);
    }
}

/// Bit `i` set where `block[i]` (of 64 bytes) is a `\n`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn newline_mask(block: &[u8]) -> u64 {
    use std::arch::x86_64::_mm_set1_epi8;
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8};
    assert_eq!(block.len(), 64);
    let p = block.as_ptr().cast::<__m128i>();
    // SAFETY: SSE2 is part of every x86_64; the four unaligned loads of 16 bytes read exactly
    // the 64 bytes of `block`.
    unsafe {
        let nl = _mm_set1_epi8(b'\n' as i8);
        let part = |k: usize| {
            let eq = _mm_cmpeq_epi8(_mm_loadu_si128(p.add(k)), nl);
            u64::from(_mm_movemask_epi8(eq) as u16)
        };
        part(0) | part(1) << 16 | part(2) << 32 | part(3) << 48
    }
}

/// Bit `i` set where `block[i]` (of 64 bytes) is a `\n`.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn newline_mask(block: &[u8]) -> u64 {
    let mut mask = 0;
    for (i, &b) in block.iter().enumerate() {
        mask |= u64::from(b == b'\n') << i;
    }
    mask
}

/// Pushes the content `[start, end)` as one line, or as pieces of `max` bytes if it is longer.
fn push_pieces(lines: &mut Vec<[u32; 2]>, mut start: usize, end: usize, max: usize) {
    loop {
        let piece_end = end.min(start + max);
        lines.push([start as u32, piece_end as u32]);
        start = piece_end;
        if start >= end {
            return;
        }
    }
}

impl Drop for Splitter {
    fn drop(&mut self) {
        self.budget.account(self.accounted, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines as the contract defines them, computed the obvious way.
    fn reference(input: &[u8], max: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut segments: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        if segments.last().is_some_and(|s| s.is_empty()) {
            segments.pop();
        }
        for mut seg in segments {
            if let Some(s) = seg.strip_suffix(b"\r") {
                seg = s;
            }
            if seg.is_empty() {
                out.push(Vec::new());
            }
            out.extend(seg.chunks(max).map(<[u8]>::to_vec));
        }
        out
    }

    fn split_chunked(input: &[u8], cuts: &[usize], max: usize) -> Vec<Vec<u8>> {
        let mut splitter = Splitter::new(max);
        let mut out = Vec::new();
        let mut rest = input;
        for &cut in cuts {
            let (chunk, tail) = rest.split_at(cut.min(rest.len()));
            splitter.push(chunk);
            rest = tail;
            if let Some(batch) = splitter.take_batch() {
                out.extend(batch.iter().map(<[u8]>::to_vec));
            }
            assert!(splitter.pending() <= max + 1 + chunk.len());
        }
        splitter.push(rest);
        for batch in [splitter.take_batch(), splitter.finish()].into_iter().flatten() {
            out.extend(batch.iter().map(<[u8]>::to_vec));
        }
        out
    }

    #[test]
    fn splits_lines_and_drops_crlf() {
        let got = split_chunked(b"a\r\nb\n\nc\rd\nlast", &[], 100);
        assert_eq!(
            got,
            vec![b"a".to_vec(), b"b".to_vec(), vec![], b"c\rd".to_vec(), b"last".to_vec()]
        );
    }

    #[test]
    fn holds_partial_line_until_newline() {
        let mut s = Splitter::new(100);
        s.push(b"abc");
        assert!(s.take_batch().is_none());
        s.push(b"def\nxy");
        let batch = s.take_batch().unwrap();
        assert_eq!(batch.iter().collect::<Vec<_>>(), vec![b"abcdef"]);
        assert_eq!(s.pending(), 2);
    }

    #[test]
    fn an_idle_splitter_holds_no_memory() {
        let mut s = Splitter::new(1 << 20);
        s.read_buf().extend_from_slice(b"a whole line\n");
        assert!(s.held() > 0);
        assert_eq!(s.take_batch().unwrap().len(), 1);
        assert_eq!(s.held(), 0, "nothing pending, nothing held");
        s.read_buf().extend_from_slice(b"part");
        assert!(s.take_batch().is_none());
        assert!(s.held() >= 4, "a partial line is kept");
    }

    #[test]
    fn long_line_is_cut_into_pieces_as_it_arrives() {
        let mut s = Splitter::new(4);
        s.push(b"0123456789");
        let batch = s.take_batch().unwrap();
        assert_eq!(batch.iter().collect::<Vec<_>>(), vec![b"0123", b"4567"]);
        s.push(b"\n");
        assert_eq!(s.take_batch().unwrap().iter().collect::<Vec<_>>(), vec![b"89"]);
    }

    #[test]
    fn line_of_exactly_max_with_crlf_split_across_reads() {
        // The `\r` at the limit must wait: it belongs to the ending if `\n` follows.
        assert_eq!(split_chunked(b"abcd\r\n", &[5], 4), vec![b"abcd".to_vec()]);
        assert_eq!(split_chunked(b"abcd\rx\n", &[5], 4), vec![b"abcd".to_vec(), b"\rx".to_vec()]);
    }

    #[test]
    fn invalid_utf8_nul_and_esc_pass_through() {
        let input = b"\xff\xfe\x00\x1b[31m\n";
        assert_eq!(split_chunked(input, &[2, 1], 64), vec![b"\xff\xfe\x00\x1b[31m".to_vec()]);
    }

    #[test]
    fn every_newline_is_found_at_every_alignment() {
        // Newlines at the edges of the 64-byte blocks, runs of them, and bytes that differ
        // from `\n` by one bit.
        let mut data: Vec<u8> = (0..1000u32)
            .map(|i| [b'\n', b'\x0b', b'\x8a', b'x'][(i * i % 7 % 4) as usize])
            .collect();
        data[63] = b'\n';
        data[64] = b'\n';
        data[127] = b'\n';
        for from in 0..130 {
            for to in [from, from + 1, from + 63, from + 64, from + 65, 1000] {
                let part = &data[from..to.min(1000)];
                let mut got = Vec::new();
                each_newline(part, |i| got.push(i));
                let want: Vec<usize> = (0..part.len()).filter(|&i| part[i] == b'\n').collect();
                assert_eq!(got, want, "bytes {from}..{to}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_lines(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..300),
            cuts in proptest::collection::vec(0usize..40, 0..20),
            max in 1usize..12,
        ) {
            prop_assert_eq!(split_chunked(&input, &cuts, max), reference(&input, max));
        }
    }
}
