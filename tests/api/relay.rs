//! A TCP relay between an app and Postgres that can go silent: while silenced it keeps every
//! connection open and takes in what is sent, but passes nothing on, either way. That is what
//! a network dropping packets looks like to a client, minus the kernel's retransmissions, and
//! unlike a stopped Postgres, nothing is ever refused or reset.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub struct Relay {
    pub port: u16,
    silent: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl Relay {
    /// Relays 127.0.0.1:<port> to `upstream` (host:port) until dropped; dropping it closes
    /// every relayed connection.
    pub async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (silent, watching) = watch::channel(false);
        let accepting = tokio::spawn(async move {
            // Dropped with this task, which aborts every connection's pumps.
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
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
            silent,
            accepting,
        }
    }

    pub fn go_silent(&self) {
        self.silent.send_replace(true);
    }

    pub fn speak_again(&self) {
        self.silent.send_replace(false);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut silent: watch::Receiver<bool>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if silent.wait_for(|silent| !*silent).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
