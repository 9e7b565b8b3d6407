//! A TCP relay between an app and Postgres that can go silent: while silenced it keeps every
//! connection open and takes in what is sent, but passes nothing on, either way. That is what
//! a network dropping packets looks like to a client, minus the kernel's retransmissions, and
//! unlike a stopped Postgres, nothing is ever refused or reset. It can also be cut, which is
//! what a stopped Postgres looks like: every connection closed, new ones closed at once.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    Silent,
    Cut,
}

pub struct Relay {
    pub port: u16,
    mode: watch::Sender<Mode>,
    accepting: JoinHandle<()>,
}

impl Relay {
    /// Relays 127.0.0.1:<port> to `upstream` (host:port) until dropped; dropping it closes
    /// every relayed connection.
    pub async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mode, watching) = watch::channel(Mode::Open);
        let accepting = tokio::spawn(async move {
            // Dropped with this task, which aborts every connection's pumps.
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                if *watching.borrow() == Mode::Cut {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                connections.spawn(pump(client_read, server_write, watching.clone()));
                connections.spawn(pump(server_read, client_write, watching.clone()));
            }
        });
        Relay {
            port,
            mode,
            accepting,
        }
    }

    pub fn go_silent(&self) {
        self.mode.send_replace(Mode::Silent);
    }

    /// Passes everything on again, after [`Self::go_silent`] or [`Self::cut`].
    pub fn speak_again(&self) {
        self.mode.send_replace(Mode::Open);
    }

    /// Closes every relayed connection, and each new one as it comes, until
    /// [`Self::speak_again`].
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            },
            // Both pumps of a connection end, which drops its sockets.
            _ = mode.wait_for(|m| *m == Mode::Cut) => return,
        };
        match mode.wait_for(|m| *m != Mode::Silent).await {
            Ok(m) if *m == Mode::Open => {}
            _ => return,
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
