//! TCP listeners: every accepted connection's lines, under the listener's label.
//!
//! The listener task owns its connections (a `JoinSet`), so dropping the source's stream aborts
//! the listener and closes every connection. Each connection has its own line splitter, so lines
//! from different connections never mix inside a line; a connection's last line without `\n` is
//! sent when it closes. A connection waiting to send (the output is behind) stops reading, and TCP
//! flow control then holds its sender.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;

use super::{Emitter, Peer, SourceOptions, SourceStream};
use crate::lines::Splitter;

/// Pending connections the kernel may queue (it caps this at `net.core.somaxconn`): enough for
/// a thousand clients connecting at once.
const BACKLOG: u32 = 4096;

/// How long to wait before accepting again when the process is out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Binds `addr` and starts accepting.
pub fn open(addr: SocketAddr, opts: &SourceOptions) -> anyhow::Result<SourceStream> {
    let listener = bind(addr)?;
    let local = listener.local_addr()?;
    let max_connections = opts.max_connections;
    let max_line_bytes = opts.max_line_bytes;
    Ok(SourceStream::spawn(move |emit| async move {
        if addr.port() == 0 {
            let _ = emit.note(format!("listening on {local}")).await;
        }
        accept_loop(listener, emit, max_connections, max_line_bytes).await;
    }))
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

async fn accept_loop(
    listener: TcpListener,
    emit: Emitter,
    max_connections: usize,
    max_line_bytes: usize,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            res = listener.accept() => match res {
                Ok((sock, peer)) => {
                    if conns.len() >= max_connections {
                        drop(sock);
                        let msg = format!(
                            "refused a connection from {peer}: {max_connections} open \
                             (--max-connections)"
                        );
                        if emit.note(msg).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    conns.spawn(connection(sock, peer, emit.clone(), max_line_bytes));
                }
                Err(e) if is_out_of_resources(&e) => {
                    // Connections stay queued in the backlog; try again once fds may be free.
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                // A connection that failed before it was accepted concerns only that client.
                Err(_) => {}
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

fn is_out_of_resources(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    let errno = e.raw_os_error().map(Errno::from_raw_os_error);
    matches!(errno, Some(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM))
}

/// Reads one connection's lines until it closes.
async fn connection(mut sock: TcpStream, peer: SocketAddr, emit: Emitter, max_line_bytes: usize) {
    /// Counts the connection as open for as long as it lives.
    struct Open(Arc<super::SourceStatus>);
    impl Drop for Open {
        fn drop(&mut self) {
            self.0.connections.fetch_sub(1, Ordering::Relaxed);
        }
    }
    emit.status.connections.fetch_add(1, Ordering::Relaxed);
    let _open = Open(emit.status.clone());
    let peer: Peer = Arc::from(peer.to_string());
    let mut lines = Splitter::new(max_line_bytes);
    loop {
        match sock.read_buf(lines.read_buf()).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                lines.note_read(n);
                if let Some(batch) = lines.take_batch() {
                    if emit.lines(batch, Some(&peer)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    if let Some(batch) = lines.finish() {
        let _ = emit.lines(batch, Some(&peer)).await;
    }
}
