//! TLS listeners (`tls:[HOST:]PORT`): TCP with TLS on top (syslog over TLS, RFC 5425, as
//! rsyslog, syslog-ng and Vector forward it), served with rustls. Everything after the
//! handshake is what [`super::listener`] does for `tcp:`: framing detection, `--allow`,
//! `--max-connections`, a splitter per connection. The handshake runs in the connection's own
//! task, so a slow or silent client holds up no one; one that fails it (plain TCP, another
//! protocol, an unknown client certificate) is closed, noted and never shown.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
pub use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::listener::{accept_loop, Conn, Listener};
use super::{SourceOptions, SourceStream};
use crate::line::Peer;

/// How long a client may take to finish its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The server's configuration from PEM files: its certificate chain and key, and with
/// `client_ca` the certificates client certificates must be signed by (mutual TLS). The error
/// is one line naming the file.
pub fn config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> anyhow::Result<Arc<ServerConfig>> {
    let named = |flag: &str, path: &Path| format!("{flag} {}", path.display());
    let certs = read_certs(cert).with_context(|| named("--tls-cert", cert))?;
    let key_path = key;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow!("{}", pem_error(e)))
        .with_context(|| named("--tls-key", key_path))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("{e}"))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in read_certs(ca).with_context(|| named("--tls-client-ca", ca))? {
                roots
                    .add(c)
                    .map_err(|e| anyhow!("{e}"))
                    .with_context(|| named("--tls-client-ca", ca))?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| anyhow!("{e}"))
                    .with_context(|| named("--tls-client-ca", ca))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(certs, key).map_err(key_error).with_context(|| {
        format!("{} with {}", named("--tls-cert", cert), named("--tls-key", key_path))
    })?;
    Ok(Arc::new(config))
}

/// A certificate and key that do not go together, said plainly.
fn key_error(e: rustls::Error) -> anyhow::Error {
    match e {
        rustls::Error::InconsistentKeys(_) => anyhow!("the key is not the certificate's"),
        e => anyhow!("{e}"),
    }
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| anyhow!("{}", pem_error(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{}", pem_error(e)))?;
    if certs.is_empty() {
        return Err(anyhow!("no certificate in it"));
    }
    Ok(certs)
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(e) => format!("cannot read: {e}"),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item of that kind in it".into(),
        e => format!("not PEM: {e:?}"),
    }
}

/// Binds `addr` and starts accepting TLS connections.
pub fn open(addr: SocketAddr, opts: &SourceOptions) -> anyhow::Result<SourceStream> {
    let config = opts.tls.clone().ok_or_else(|| anyhow!("needs --tls-cert and --tls-key"))?;
    let tcp = super::tcp::bind(addr)?;
    let local = tcp.local_addr()?;
    let listener = Tls { tcp, acceptor: TlsAcceptor::from(config) };
    let opts = opts.clone();
    Ok(SourceStream::spawn(move |emit| async move {
        if addr.port() == 0 {
            let _ = emit.note(format!("listening on {local}")).await;
        }
        accept_loop(listener, emit, opts).await;
    }))
}

struct Tls {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl Listener for Tls {
    type Raw = TcpStream;
    type Conn = TlsStream<TcpStream>;

    async fn accept(&self) -> io::Result<(Self::Raw, Option<Peer>, Option<IpAddr>)> {
        let (conn, peer) = self.tcp.accept().await?;
        Ok((conn, Some(Arc::from(peer.to_string())), Some(peer.ip())))
    }

    fn handshake(&self, raw: TcpStream) -> impl Future<Output = io::Result<Self::Conn>> + 'static {
        let accept = self.acceptor.accept(raw);
        async move {
            match tokio::time::timeout(HANDSHAKE, accept).await {
                // What a plain TCP client (or another protocol) looks like to TLS.
                Ok(Err(e)) if e.to_string().contains("InvalidContentType") => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the client does not speak TLS (plain TCP?)",
                )),
                Ok(done) => done,
                Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no handshake within 10s")),
            }
        }
    }
}

impl Conn for TlsStream<TcpStream> {
    /// Called only after a read found nothing: the session then holds no decrypted bytes
    /// (it reads the socket until it has some or the socket has none), so the socket is what
    /// to wait for.
    async fn readable(&self) -> io::Result<()> {
        self.get_ref().0.readable().await
    }
}
