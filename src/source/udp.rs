//! UDP sockets (`udp:[HOST:]PORT`, syslog over UDP): each datagram's lines.
//!
//! A datagram without a final `\n` is one line; one holding several lines gives several. The
//! sender is each line's `{peer}`. UDP has no flow control: while output is behind, datagrams
//! wait in the socket's receive buffer (enlarged at start), and the kernel drops what does not
//! fit — as it does for every UDP receiver.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;

use super::allow::allowed;
use super::listener::refuse;
use super::{SourceOptions, SourceStream};
use crate::line::Peer;

/// The receive buffer asked for (the kernel caps it at `net.core.rmem_max`).
const RECV_BUFFER: usize = 4 << 20;
/// The largest datagram.
const DATAGRAM: usize = 64 * 1024;
/// The most senders remembered. A sender's lines share one `Peer` (its identity for
/// `--multiline`: one sender's datagrams join into events, two senders' never do); past this
/// many the memory is started afresh, which at worst cuts an event open at that moment.
const SENDERS: usize = 1024;

/// Binds `addr` and starts receiving.
pub fn open(addr: SocketAddr, opts: &SourceOptions) -> anyhow::Result<SourceStream> {
    let std_socket = std::net::UdpSocket::bind(addr)?;
    std_socket.set_nonblocking(true)?;
    let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&std_socket, RECV_BUFFER);
    let socket = UdpSocket::from_std(std_socket)?;
    let local = socket.local_addr()?;
    let limits = opts.lines.clone();
    let allow = opts.allow.clone();
    Ok(SourceStream::spawn(move |emit| async move {
        if addr.port() == 0 {
            let _ = emit.note(format!("listening on {local}")).await;
        }
        let mut buf = vec![0u8; DATAGRAM];
        let mut senders: HashMap<SocketAddr, Peer> = HashMap::new();
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else { continue };
            if !allowed(&allow, from.ip()) {
                let from = from.to_string();
                if refuse(&emit, "a datagram", Some(&from), "not in --allow").await.is_err() {
                    return;
                }
                continue;
            }
            if senders.len() >= SENDERS && !senders.contains_key(&from) {
                senders.clear();
            }
            let peer = senders.entry(from).or_insert_with(|| Arc::from(from.to_string())).clone();
            let mut lines = limits.splitter();
            lines.push(&buf[..n]);
            for batch in [lines.take_batch(), lines.finish()].into_iter().flatten() {
                if emit.lines(batch, Some(&peer)).await.is_err() {
                    return;
                }
            }
        }
    }))
}
