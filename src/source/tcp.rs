//! TCP listeners (`tcp:[HOST:]PORT`); connections are handled by [`super::listener`].

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

use super::listener::{accept_loop, BACKLOG};
use super::{SourceOptions, SourceStream};

/// Binds `addr` and starts accepting.
pub fn open(addr: SocketAddr, opts: &SourceOptions) -> anyhow::Result<SourceStream> {
    let listener = bind(addr)?;
    let local = listener.local_addr()?;
    let opts = opts.clone();
    Ok(SourceStream::spawn(move |emit| async move {
        if addr.port() == 0 {
            let _ = emit.note(format!("listening on {local}")).await;
        }
        accept_loop(listener, emit, opts).await;
    }))
}

pub(super) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}
