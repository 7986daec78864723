//! Stream listeners (TCP and Unix sockets): every accepted connection's lines, under the
//! listener's label.
//!
//! The listener task owns its connections (a `JoinSet`), so dropping the source's stream aborts
//! the listener and closes every connection. Each connection has its own line splitter, so lines
//! from different connections never mix inside a line; a connection's last line without `\n` is
//! sent when it closes. A connection reads only once it holds a place in the source's channel
//! for what it reads: while the output is behind, connections stop reading, flow control holds
//! their senders back, and the lines read but not yet sent are a few batches whatever the
//! number of connections.
//!
//! Framing is detected per connection: a connection that starts like RFC 6587 octet counting
//! (`123 <34>1 …`, as `logger --octet-count` and rsyslog send syslog) is unframed into one line per
//! message; anything else is newline-framed.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;

use super::allow::allowed;
use super::{fds, Emitter, SourceEvent, SourceOptions, SourceStatus};
use crate::line::{LineLimits, Peer, Splitter};

/// Pending connections the kernel may queue (it caps this at `net.core.somaxconn`): enough for
/// a thousand clients connecting at once.
pub const BACKLOG: u32 = 4096;

/// How long to wait before accepting again when the process is out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// An accepted connection: bytes to read, and a way to wait for them without a buffer.
pub trait Conn: AsyncRead + Unpin + Send + 'static {
    /// Waits until there is something to read (or the peer closed), once a read found nothing.
    /// Cancel-safe.
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send;
}

impl Conn for tokio::net::TcpStream {
    async fn readable(&self) -> io::Result<()> {
        tokio::net::TcpStream::readable(self).await
    }
}

impl Conn for tokio::net::UnixStream {
    async fn readable(&self) -> io::Result<()> {
        tokio::net::UnixStream::readable(self).await
    }
}

/// A listening socket.
pub trait Listener: Send + 'static {
    /// A connection as accepted, before any handshake.
    type Raw: Send + 'static;
    /// A connection ready to read lines from.
    type Conn: Conn;

    /// Waits for the next connection; names its peer, with its IP address for network sockets.
    fn accept(
        &self,
    ) -> impl Future<Output = io::Result<(Self::Raw, Option<Peer>, Option<IpAddr>)>> + Send;

    /// Makes an accepted connection ready (TLS: the handshake), in the connection's own task.
    fn handshake(
        &self,
        raw: Self::Raw,
    ) -> impl Future<Output = io::Result<Self::Conn>> + Send + 'static;
}

impl Listener for tokio::net::TcpListener {
    type Raw = tokio::net::TcpStream;
    type Conn = tokio::net::TcpStream;

    async fn accept(&self) -> io::Result<(Self::Raw, Option<Peer>, Option<IpAddr>)> {
        let (conn, peer) = tokio::net::TcpListener::accept(self).await?;
        Ok((conn, Some(Arc::from(peer.to_string())), Some(peer.ip())))
    }

    fn handshake(&self, raw: Self::Raw) -> impl Future<Output = io::Result<Self::Conn>> + 'static {
        std::future::ready(Ok(raw))
    }
}

impl Listener for tokio::net::UnixListener {
    type Raw = tokio::net::UnixStream;
    type Conn = tokio::net::UnixStream;

    fn handshake(&self, raw: Self::Raw) -> impl Future<Output = io::Result<Self::Conn>> + 'static {
        std::future::ready(Ok(raw))
    }

    async fn accept(&self) -> io::Result<(Self::Raw, Option<Peer>, Option<IpAddr>)> {
        let (conn, _) = tokio::net::UnixListener::accept(self).await?;
        // Unix clients have no address: name them by process.
        let peer = conn.peer_cred().ok().and_then(|c| c.pid()).map(|pid| format!("pid {pid}"));
        Ok((conn, peer.map(Arc::from), None))
    }
}

/// Counts a refusal; says so for the 1st, 10th, 100th… (a flood of refusals is not a flood of
/// notes). `Err` when the source was detached.
pub async fn refuse(
    emit: &Emitter,
    what: &str,
    from: Option<&str>,
    why: &str,
) -> Result<(), super::Detached> {
    let n = emit.status.refused.fetch_add(1, Ordering::Relaxed) + 1;
    let mut m = n;
    while m.is_multiple_of(10) {
        m /= 10;
    }
    if m == 1 {
        let from = from.map(|p| format!(" from {p}")).unwrap_or_default();
        let so_far = if n > 1 { format!(" ({n} refused so far)") } else { String::new() };
        emit.note(format!("refused {what}{from}: {why}{so_far}")).await?;
    }
    Ok(())
}

/// Accepts connections until the stream is dropped (which aborts this task).
pub async fn accept_loop<L: Listener>(listener: L, emit: Emitter, opts: SourceOptions) {
    let mut conns = JoinSet::new();
    let max_connections = opts.max_connections;
    // Waiting for descriptors to accept with (see `fds`).
    let mut starved: Option<fds::Starved> = None;
    loop {
        tokio::select! {
            res = listener.accept() => match res {
                Ok((conn, peer, ip)) => {
                    starved = None;
                    let refusal = if ip.is_some_and(|ip| !allowed(&opts.allow, ip)) {
                        Some("not in --allow".to_string())
                    } else if conns.len() >= max_connections {
                        Some(format!("{max_connections} open (--max-connections)"))
                    } else {
                        None
                    };
                    if let Some(why) = refusal {
                        drop(conn);
                        if refuse(&emit, "a connection", peer.as_deref(), &why).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    let (ready, emit, limits) = (listener.handshake(conn), emit.clone(), opts.lines.clone());
                    conns.spawn(async move {
                        match ready.await {
                            Ok(conn) => connection(conn, peer, emit, limits).await,
                            // Never shown: one note (for the 1st, 10th, 100th…), and closed.
                            Err(e) => {
                                let why = format!("TLS handshake failed: {e}");
                                let _ = refuse(&emit, "a connection", peer.as_deref(), &why).await;
                            }
                        }
                    });
                }
                Err(e) if is_out_of_resources(&e) => {
                    if starved.is_none() {
                        starved = Some(fds::Starved::start());
                        let msg = format!("cannot accept connections: {e}; waiting for some to close");
                        if emit.note(msg).await.is_err() {
                            return;
                        }
                    }
                    // Connections stay queued in the backlog; try again once fds may be free.
                    // (Any of mux-tail's own closes ends the pause early.)
                    let _ = tokio::time::timeout(ACCEPT_BACKOFF, fds::freed()).await;
                }
                // A connection that failed before it was accepted concerns only that client.
                Err(_) => {}
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Out of descriptors (see `fds`), or of kernel memory for sockets.
fn is_out_of_resources(e: &io::Error) -> bool {
    fds::exhausted(e) || matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::ENOMEM))
}

/// Counts a connection as open for as long as it lives.
struct Open(Arc<SourceStatus>);

impl Open {
    fn new(status: &Arc<SourceStatus>) -> Open {
        status.connections.fetch_add(1, Ordering::Relaxed);
        Open(status.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
        fds::released();
    }
}

/// Reads one connection's lines until it closes. While it is idle it holds no buffer: it waits
/// for the socket to be readable, and a read that finds nothing gives its buffer back. It reads
/// only with a place for the lines in its source's channel: however many connections there
/// are, at most the channel's few read batches wait between them.
async fn connection(mut conn: impl Conn, peer: Option<Peer>, emit: Emitter, limits: LineLimits) {
    let _open = Open::new(&emit.status);
    let mut lines = limits.splitter();
    let mut framing = Framing::Detect(Vec::new());
    // Bytes may be there already (a TLS session decrypts some with its handshake): read first.
    let mut wait = false;
    loop {
        if wait && conn.readable().await.is_err() {
            break;
        }
        let Ok(place) = emit.reserve().await else { return };
        let read = if let Framing::Lines = framing {
            // Newline framing reads straight into the splitter.
            let read = read_now(&mut conn, lines.read_buf()).await;
            if let Some(Ok(n)) = read {
                lines.note_read(n);
            }
            read
        } else {
            let mut buf = Vec::with_capacity(16 * 1024);
            let read = read_now(&mut conn, &mut buf).await;
            if let Some(Ok(n)) = read {
                framing.feed(&buf[..n], &mut lines);
            }
            read
        };
        match read {
            None => {
                lines.shed();
                wait = true;
                continue;
            }
            Some(Ok(0) | Err(_)) => break,
            Some(Ok(_)) => wait = false,
        }
        if let Some(batch) = lines.take_batch() {
            if place.lines(batch, peer.as_ref()).is_err() {
                return;
            }
        }
    }
    framing.end(&mut lines);
    for batch in [lines.take_batch(), lines.finish()].into_iter().flatten() {
        let _ = emit.lines(batch, peer.as_ref()).await;
    }
    let _ = emit.send(SourceEvent::InputEnded(peer)).await;
}

/// Reads what the connection has now into `buf`, without waiting: `None` when it has nothing
/// (it then waits to be readable).
async fn read_now(conn: &mut impl Conn, buf: &mut impl BufMut) -> Option<io::Result<usize>> {
    let mut read = std::pin::pin!(conn.read_buf(buf));
    std::future::poll_fn(|cx| match Future::poll(read.as_mut(), cx) {
        Poll::Ready(done) => Poll::Ready(Some(done)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// How a connection's bytes become lines.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    /// Not known yet: the first bytes, held until they tell.
    Detect(Vec<u8>),
    /// Lines end at `\n`.
    Lines,
    /// RFC 6587 octet counting: `LEN SP MSG`, one line per message.
    Octets(Frame),
}

#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// Reading the length's digits.
    Header(u64),
    /// Inside a message: bytes left, and whether the last byte was `\n`.
    Body(u64, bool),
}

/// The longest length field accepted (10 digits: far beyond any real message).
const MAX_LEN_DIGITS: usize = 10;

impl Framing {
    /// Feeds bytes (in any framing but `Lines`) into the splitter.
    fn feed(&mut self, mut bytes: &[u8], lines: &mut Splitter) {
        if let Framing::Detect(probe) = self {
            probe.extend_from_slice(bytes);
            match detect(probe) {
                None => return, // not enough bytes yet
                Some(octets) => {
                    let probe = std::mem::take(probe);
                    if !octets {
                        *self = Framing::Lines;
                        lines.push(&probe);
                        return;
                    }
                    *self = Framing::Octets(Frame::Header(0));
                    return self.feed(&probe, lines);
                }
            }
        }
        let Framing::Octets(frame) = self else {
            lines.push(bytes);
            return;
        };
        while !bytes.is_empty() {
            match frame {
                Frame::Header(len) => {
                    let b = bytes[0];
                    if b.is_ascii_digit() && *len < 10u64.pow(MAX_LEN_DIGITS as u32) {
                        *len = *len * 10 + u64::from(b - b'0');
                        bytes = &bytes[1..];
                    } else if b == b' ' && *len > 0 {
                        *frame = Frame::Body(*len, false);
                        bytes = &bytes[1..];
                    } else if b == b'\n' && *len == 0 {
                        // A stray newline between frames.
                        bytes = &bytes[1..];
                    } else {
                        // Not a frame after all: the rest is newline-framed.
                        *self = Framing::Lines;
                        lines.push(bytes);
                        return;
                    }
                }
                Frame::Body(left, last_nl) => {
                    let take = (*left).min(bytes.len() as u64) as usize;
                    lines.push(&bytes[..take]);
                    *last_nl = bytes[take - 1] == b'\n';
                    *left -= take as u64;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        // The message is one line (a trailing newline in it counts as its end).
                        if !*last_nl {
                            lines.push(b"\n");
                        }
                        *frame = Frame::Header(0);
                    }
                }
            }
        }
    }

    /// The connection closed: bytes still held become (the start of) a line.
    fn end(&mut self, lines: &mut Splitter) {
        if let Framing::Detect(probe) = self {
            lines.push(probe);
        }
    }
}

/// Whether `probe` starts like an octet-counted frame (`[1-9][0-9]* <`): `Some(true)` yes,
/// `Some(false)` no, `None` when it is too short to tell.
fn detect(probe: &[u8]) -> Option<bool> {
    if probe.is_empty() {
        return None;
    }
    let digits = probe.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || probe[0] == b'0' || digits > MAX_LEN_DIGITS {
        return Some(false);
    }
    match (probe.get(digits), probe.get(digits + 1)) {
        (None, _) | (Some(b' '), None) => None,
        (Some(b' '), Some(b'<')) => Some(true),
        _ => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unframe(chunks: &[&[u8]]) -> (Vec<String>, bool) {
        let mut framing = Framing::Detect(Vec::new());
        let mut lines = Splitter::new(1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            if framing == Framing::Lines {
                lines.push(chunk);
            } else {
                framing.feed(chunk, &mut lines);
            }
            out.extend(lines.take_batch());
        }
        let octets = matches!(framing, Framing::Octets(_));
        framing.end(&mut lines);
        out.extend(lines.finish());
        let text = out
            .iter()
            .flat_map(|b| {
                b.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>()
            })
            .collect();
        (text, octets)
    }

    #[test]
    fn octet_counted_frames_become_lines_however_they_are_cut() {
        let msg = b"11 <34>1 hello12 <34>1 world\n10 <13>1 a\nb";
        for cut in 0..msg.len() {
            let (a, b) = msg.split_at(cut);
            let (lines, octets) = unframe(&[a, b]);
            assert!(octets, "cut at {cut}");
            assert_eq!(lines, ["<34>1 hello", "<34>1 world", "<13>1 a", "b"], "cut at {cut}");
        }
    }

    #[test]
    fn newline_framing_stays_the_default() {
        assert_eq!(unframe(&[b"12 apples\n"]), (vec!["12 apples".to_string()], false));
        assert_eq!(unframe(&[b"<34>1 plain\n"]), (vec!["<34>1 plain".to_string()], false));
        assert_eq!(unframe(&[b"1", b"2"]), (vec!["12".to_string()], false));
        assert_eq!(unframe(&[b"012 <x\n"]), (vec!["012 <x".to_string()], false));
    }

    #[test]
    fn a_broken_frame_falls_back_to_lines() {
        let (lines, _) = unframe(&[b"5 <1>ab", b"x not a header\nnext\n"]);
        assert_eq!(lines, ["<1>ab", "x not a header", "next"]);
    }
}
