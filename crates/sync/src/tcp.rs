//! The one TCP [`Connector`] of native callers (the CLI, the tests, the benchmarks), behind the
//! `tcp` feature (tokio; the app connects through its relay WebSocket instead). With deadlines,
//! so that a server that never answers, goes silent in the middle of a message, or stops
//! reading what is sent cannot hang `postino` (a cron job that never ends holds the account's
//! lock, DESIGN.md invariant 8).
//!
//! - Connect: the name lookup and the TCP handshake together get [`Timeouts::connect`].
//! - Idle: a read or a write that has made no progress for [`Timeouts::idle`] fails with an
//!   `io::ErrorKind::TimedOut` error that says so. The clock runs only while the engine waits on
//!   the socket, not while it writes a message to disk between two reads, and restarts with every
//!   byte that moves: a slow server that keeps sending is not cut off, however long the message.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::{ConnectError, Connector, SyncError};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// Deadlines of one connection. See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub idle: Duration,
}

impl Timeouts {
    /// The longest deadline accepted, one day: longer is no deadline at all.
    pub const MAX: Duration = Duration::from_secs(86_400);
}

impl Default for Timeouts {
    /// 30 s to connect; 120 s of silence, more than servers take to answer a slow RETR or to
    /// delay a failed login.
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            idle: Duration::from_secs(120),
        }
    }
}

/// Connects to `host:port` over TCP with [`Timeouts`].
pub struct Tcp {
    pub host: String,
    pub port: u16,
    pub timeouts: Timeouts,
}

impl Tcp {
    /// `host:port` with the default [`Timeouts`].
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Tcp {
            host: host.into(),
            port,
            timeouts: Timeouts::default(),
        }
    }

    /// A server on this machine, as the tests and benchmarks run one.
    pub fn loopback(port: u16) -> Self {
        Tcp::new("127.0.0.1", port)
    }
}

impl Connector for Tcp {
    type Stream = Compat<IdleDeadline<TcpStream>>;

    async fn connect(&mut self) -> Result<Self::Stream, SyncError> {
        let address = (self.host.as_str(), self.port);
        match tokio::time::timeout(self.timeouts.connect, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(IdleDeadline::new(stream, self.timeouts.idle).compat())
            }
            Ok(Err(source)) => Err(SyncError::Connect(ConnectError::Tcp {
                host: self.host.clone(),
                port: self.port,
                source,
            })),
            Err(_) => Err(SyncError::Connect(ConnectError::TimedOut {
                host: self.host.clone(),
                port: self.port,
                seconds: self.timeouts.connect.as_secs(),
            })),
        }
    }
}

/// A byte stream whose reads and writes fail once they have waited `idle` without progress.
pub struct IdleDeadline<S> {
    inner: S,
    idle: Duration,
    read: Deadline,
    write: Deadline,
}

impl<S> IdleDeadline<S> {
    pub fn new(inner: S, idle: Duration) -> Self {
        let idle = idle.min(Timeouts::MAX);
        IdleDeadline {
            inner,
            idle,
            read: Deadline::new(idle),
            write: Deadline::new(idle),
        }
    }

    fn timed_out(&self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the server {what} for {} s", self.idle.as_secs()),
        )
    }
}

/// The clock of one direction: started by the first wait, stopped by progress.
struct Deadline {
    timer: Pin<Box<Sleep>>,
    running: bool,
}

impl Deadline {
    fn new(idle: Duration) -> Self {
        Deadline {
            timer: Box::pin(tokio::time::sleep(idle)),
            running: false,
        }
    }

    /// The operation made progress (or failed): the next wait starts a new clock.
    fn stop(&mut self) {
        self.running = false;
    }

    /// The operation is waiting: start the clock if it is not running, and say whether it has
    /// run out (if not, `cx` is woken when it does).
    fn expired(&mut self, idle: Duration, cx: &mut Context<'_>) -> bool {
        if !self.running {
            self.timer.as_mut().reset(Instant::now() + idle);
            self.running = true;
        }
        self.timer.as_mut().poll(cx).is_ready()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read.stop();
                Poll::Ready(r)
            }
            Poll::Pending if this.read.expired(this.idle, cx) => {
                this.read.stop();
                Poll::Ready(Err(this.timed_out("sent nothing")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.write.stop();
                Poll::Ready(r)
            }
            Poll::Pending if this.write.expired(this.idle, cx) => {
                this.write.stop();
                Poll::Ready(Err(this.timed_out("took nothing of what was sent")))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    //! Real time, with margins a slow machine cannot eat: what must not time out waits a tenth
    //! of the deadline; what must, is only bounded above loosely.
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_silent_peer_fails_the_read_after_the_idle_time() {
        block_on(async {
            let (client, _server) = tokio::io::duplex(64);
            let mut s = IdleDeadline::new(client, Duration::from_secs(1));
            let started = Instant::now();
            let err = s.read(&mut [0; 8]).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            assert_eq!(err.to_string(), "the server sent nothing for 1 s");
            assert!(started.elapsed() >= Duration::from_secs(1));
            assert!(started.elapsed() < Duration::from_secs(30));
        });
    }

    #[test]
    fn each_byte_restarts_the_clock_and_time_between_reads_does_not_count() {
        block_on(async {
            let (client, mut server) = tokio::io::duplex(64);
            let idle = Duration::from_secs(3);
            let mut s = IdleDeadline::new(client, idle);
            let step = Duration::from_millis(300);
            let peer = async move {
                server.write_all(b"a").await.unwrap();
                // Answers a tenth of the idle time after the engine came back and asked.
                tokio::time::sleep(idle + idle / 3 + step).await;
                // Then trickles, for longer than the idle time in all.
                for _ in 0..12 {
                    server.write_all(b"b").await.unwrap();
                    tokio::time::sleep(step).await;
                }
                server
            };
            let engine = async {
                let mut got = vec![0; 1];
                s.read_exact(&mut got).await.unwrap();
                // Busy elsewhere (a disk write) for longer than the idle time.
                tokio::time::sleep(idle + idle / 3).await;
                let mut rest = vec![0; 12];
                s.read_exact(&mut rest).await.unwrap();
                got.extend(rest);
                got
            };
            let (got, _server) = tokio::join!(engine, peer);
            assert_eq!(got, b"abbbbbbbbbbbb");
        });
    }

    #[test]
    fn a_peer_that_reads_nothing_fails_the_write() {
        block_on(async {
            let (client, _server) = tokio::io::duplex(4);
            let mut s = IdleDeadline::new(client, Duration::from_secs(1));
            let err = s.write_all(b"more than four bytes").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            assert_eq!(
                err.to_string(),
                "the server took nothing of what was sent for 1 s"
            );
        });
    }
}
