//! [`FaultProxy`]: a TCP proxy on 127.0.0.1 between orch and PostgreSQL that a test can break.
//!
//! - [`FaultProxy::cut`]: existing connections are closed and new ones are closed as soon as
//!   accepted, until [`FaultProxy::heal`] (the database is unreachable);
//! - [`FaultProxy::stall`]: bytes are held, in both directions, on every connection, new ones
//!   included, until healed (a partition where packets vanish and nothing says so);
//! - [`FaultProxy::reset`]: every existing connection is dropped with a TCP RST, new ones work;
//! - [`FaultProxy::lose_answer_to`]: once, the next message holding some bytes (`COMMIT`) is
//!   passed on and every connection closed before the answer comes back (a commit that landed
//!   with its answer lost); new ones work;
//! - [`FaultProxy::heal`]: back to forwarding.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with bytes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    Stall,
    Cut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    mode: Mode,
    /// Bumped to end every connection made before: by a cut (closed) or a reset (RST).
    epoch: u64,
    /// Whether connections of older epochs end with an RST rather than a close.
    rst: bool,
}

/// A running proxy; it stops (and drops every connection) when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    state: watch::Sender<State>,
    trap: Arc<Trap>,
    task: JoinHandle<()>,
}

/// The one-shot fault of [`FaultProxy::lose_answer_to`].
#[derive(Debug, Default)]
struct Trap {
    /// The bytes that spring it, while armed.
    armed: Mutex<Option<Vec<u8>>>,
    /// How many times it sprang.
    sprung: AtomicUsize,
}

impl Trap {
    /// Whether `bytes` spring the trap (which disarms it).
    fn springs(&self, bytes: &[u8]) -> bool {
        let mut armed = self.armed.lock().unwrap_or_else(|e| e.into_inner());
        let hit = armed
            .as_ref()
            .is_some_and(|needle| bytes.windows(needle.len()).any(|w| w == needle.as_slice()));
        if hit {
            *armed = None;
            self.sprung.fetch_add(1, Ordering::AcqRel);
        }
        hit
    }
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (state, _) = watch::channel(State {
            mode: Mode::Forward,
            epoch: 0,
            rst: false,
        });
        let trap = Arc::new(Trap::default());
        let task = tokio::spawn(accept_loop(listener, upstream, state.clone(), trap.clone()));
        Ok(Self {
            addr,
            state,
            trap,
            task,
        })
    }

    /// The proxy's address: give it to orch instead of the database's.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_through(&self, url: &str) -> String {
        match url::Url::parse(url) {
            Ok(mut parsed) => {
                let _ = parsed.set_host(Some("127.0.0.1"));
                let _ = parsed.set_port(Some(self.addr.port()));
                parsed.to_string()
            }
            Err(_) => url.to_owned(),
        }
    }

    /// The mode now.
    pub fn mode(&self) -> Mode {
        self.state.borrow().mode
    }

    /// Closes every connection and refuses new ones until [`FaultProxy::heal`].
    pub fn cut(&self) {
        self.state.send_modify(|s| {
            s.mode = Mode::Cut;
            s.epoch += 1;
            s.rst = false;
        });
    }

    /// Holds every byte, on every connection, until [`FaultProxy::heal`].
    pub fn stall(&self) {
        self.state.send_modify(|s| s.mode = Mode::Stall);
    }

    /// Drops every existing connection with a TCP RST; new connections are forwarded.
    pub fn reset(&self) {
        self.state.send_modify(|s| {
            s.epoch += 1;
            s.rst = true;
        });
    }

    /// Once: the next message from a client that holds `needle` (`b"COMMIT"`) is passed on to
    /// the server, then every connection is closed at once, before the server's answer can
    /// come back, as if the network died at that instant: the client cannot tell whether it
    /// was done. New connections are forwarded. [`FaultProxy::answers_lost`] counts the times.
    pub fn lose_answer_to(&self, needle: &[u8]) {
        *self.trap.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some(needle.to_vec());
    }

    /// How many times [`FaultProxy::lose_answer_to`] has closed the connections.
    pub fn answers_lost(&self) -> usize {
        self.trap.sprung.load(Ordering::Acquire)
    }

    /// Forwards again (held bytes flow on).
    pub fn heal(&self) {
        self.state.send_modify(|s| s.mode = Mode::Forward);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        // Ends every connection task too: they watch the state, whose sender goes now.
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    state: watch::Sender<State>,
    trap: Arc<Trap>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let now = *state.borrow();
        if now.mode == Mode::Cut {
            // Refused: closed before a byte is read.
            drop(client);
            continue;
        }
        let trigger = Trigger {
            trap: trap.clone(),
            state: state.clone(),
        };
        tokio::spawn(connection(
            client,
            upstream,
            state.subscribe(),
            now.epoch,
            trigger,
        ));
    }
}

/// Why a connection ended.
enum End {
    /// One side closed, or an IO error.
    Closed,
    /// A cut or reset ended it; `rst` says how.
    Ended { rst: bool },
}

/// What a client's bytes may set off: the trap, and the state it ends connections through.
struct Trigger {
    trap: Arc<Trap>,
    state: watch::Sender<State>,
}

async fn connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut state: watch::Receiver<State>,
    epoch: u64,
    trigger: Trigger,
) {
    // A stalled proxy does not even connect on (the client waits, as on a partition).
    if !wait_forwarding(&mut state, epoch).await {
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let end = {
        let (mut cr, mut cw) = client.split();
        let (mut sr, mut sw) = server.split();
        let mut up_state = state.clone();
        let up = pump(&mut cr, &mut sw, &mut up_state, epoch, Some(&trigger));
        let down = pump(&mut sr, &mut cw, &mut state, epoch, None);
        tokio::select! {
            end = up => end,
            end = down => end,
        }
    };
    if let End::Ended { rst: true } = end {
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

/// Copies bytes one way, holding them while stalled; ends at a close, an error, a cut or reset.
/// Bytes that spring the `trigger`'s trap are passed on, then every connection is closed (in
/// the same poll: the answer cannot pass first).
async fn pump<R, W>(
    r: &mut R,
    w: &mut W,
    state: &mut watch::Receiver<State>,
    epoch: u64,
    trigger: Option<&Trigger>,
) -> End
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = r.read(&mut buf) => match read {
                Ok(0) | Err(_) => return End::Closed,
                Ok(n) => n,
            },
            ended = ended(state, epoch) => return ended,
        };
        if !wait_forwarding(state, epoch).await {
            return End::Ended {
                rst: state.borrow().rst,
            };
        }
        if w.write_all(&buf[..n]).await.is_err() {
            return End::Closed;
        }
        if let Some(trigger) = trigger
            && trigger.trap.springs(&buf[..n])
        {
            trigger.state.send_modify(|s| {
                s.epoch += 1;
                s.rst = false;
            });
            return End::Ended { rst: false };
        }
    }
}

/// Resolves when a cut or reset ends connections of `epoch` (or the proxy is gone).
async fn ended(state: &mut watch::Receiver<State>, epoch: u64) -> End {
    match state.wait_for(|s| s.epoch != epoch).await {
        Ok(s) => End::Ended { rst: s.rst },
        Err(_) => End::Ended { rst: true },
    }
}

/// Waits while stalled; false if the connection's epoch ended meanwhile.
async fn wait_forwarding(state: &mut watch::Receiver<State>, epoch: u64) -> bool {
    match state
        .wait_for(|s| s.epoch != epoch || s.mode != Mode::Stall)
        .await
    {
        Ok(s) => s.epoch == epoch,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// An echo server on loopback.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn roundtrip(s: &mut TcpStream, within: Duration) -> io::Result<Vec<u8>> {
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        match tokio::time::timeout(within, s.read_exact(&mut buf)).await {
            Ok(read) => read.map(|_| buf.to_vec()),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no answer")),
        }
    }

    const QUICK: Duration = Duration::from_secs(5);
    const HELD: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn forwards_then_cut_closes_and_refuses_then_heal_forwards() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut s, QUICK).await.unwrap(), b"ping");
        proxy.cut();
        assert!(
            roundtrip(&mut s, QUICK).await.is_err(),
            "a cut kept a connection"
        );
        let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(
            roundtrip(&mut fresh, QUICK).await.is_err(),
            "a cut let one in"
        );
        proxy.heal();
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut again, QUICK).await.unwrap(), b"ping");
    }

    #[tokio::test]
    async fn stall_holds_bytes_until_heal() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut s, QUICK).await.unwrap(), b"ping");
        proxy.stall();
        s.write_all(b"held").await.unwrap();
        let mut buf = [0u8; 4];
        assert!(
            tokio::time::timeout(HELD, s.read_exact(&mut buf))
                .await
                .is_err(),
            "bytes passed a stall"
        );
        proxy.heal();
        tokio::time::timeout(QUICK, s.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"held");
    }

    #[tokio::test]
    async fn reset_drops_existing_connections_with_rst_and_accepts_new_ones() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut s, QUICK).await.unwrap(), b"ping");
        proxy.reset();
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(QUICK, s.read(&mut buf)).await.unwrap();
        assert!(
            matches!(&read, Err(e) if e.kind() == io::ErrorKind::ConnectionReset),
            "{read:?}"
        );
        let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut fresh, QUICK).await.unwrap(), b"ping");
    }

    #[tokio::test]
    async fn lose_answer_to_passes_the_message_on_then_closes_before_the_answer_once() {
        // A server that records what it receives and answers each read.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = listener.local_addr().unwrap();
        let (got_tx, mut got) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let got = got_tx.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        let _ = got.send(buf[..n].to_vec());
                        let _ = s.write_all(b"done").await;
                    }
                });
            }
        });
        let proxy = FaultProxy::start(upstream).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        proxy.lose_answer_to(b"COMMIT");
        s.write_all(b"COMMIT").await.unwrap();
        let mut buf = [0u8; 4];
        let answer = tokio::time::timeout(QUICK, s.read(&mut buf)).await.unwrap();
        assert!(matches!(answer, Ok(0) | Err(_)), "{answer:?}");
        assert_eq!(got.recv().await.unwrap(), b"COMMIT", "the server got it");
        assert_eq!(proxy.answers_lost(), 1);
        // Once only: a new connection's COMMIT is answered.
        let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
        fresh.write_all(b"COMMIT").await.unwrap();
        tokio::time::timeout(QUICK, fresh.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"done");
        assert_eq!(proxy.answers_lost(), 1);
    }
}
