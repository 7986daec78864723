//! Unix stream socket listeners (`unix:PATH`); connections are handled by
//! [`super::listener`].
//!
//! The socket file is created owner-only (0600, before anyone can connect) and removed when the
//! source is detached or the program ends. A stale socket file (nobody listening) is replaced;
//! a live socket or any other file at the path is an error.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::bail;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use tokio::net::UnixListener;

use super::listener::{accept_loop, BACKLOG};
use super::{cleanup, SourceOptions, SourceStream};

/// Creates the socket and starts accepting.
pub fn open(path: &Path, opts: &SourceOptions) -> anyhow::Result<SourceStream> {
    let listener = bind(path)?;
    let opts = opts.clone();
    let guard = Remove(path.to_path_buf());
    Ok(SourceStream::spawn(move |emit| async move {
        let _guard = guard;
        accept_loop(listener, emit, opts).await;
    }))
}

fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => bail!("a running program is listening on this socket"),
                // Left by a program that is gone: take its place.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)?
                }
                Err(e) => bail!("cannot check the socket already there: {e}"),
            }
        }
        Ok(_) => bail!("exists and is not a socket"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
    let fd = rustix::net::socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None)?;
    rustix::net::bind(&fd, &SocketAddrUnix::new(path)?)?;
    // Nobody can connect before `listen`: make it owner-only first.
    let owner_only = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    cleanup::add_socket(path.to_path_buf());
    owner_only?;
    rustix::net::listen(&fd, BACKLOG as i32)?;
    let std_listener = std::os::unix::net::UnixListener::from(fd);
    Ok(UnixListener::from_std(std_listener)?)
}

/// Removes the socket file when the source goes.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        cleanup::remove_socket(&self.0);
    }
}
