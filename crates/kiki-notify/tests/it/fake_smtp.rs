//! A small SMTP server for tests (RFC 5321, no TLS, no AUTH): greets with
//! 220, answers EHLO/HELO, MAIL, RCPT, RSET and NOOP with 250, DATA with 354,
//! reads the message up to the `<CRLF>.<CRLF>` line (undoing dot-stuffing,
//! RFC 5321 §4.5.2), accepts it with 250 and says 221 to QUIT. It captures
//! every accepted message. It can also refuse recipients with 554, or accept
//! connections and never greet (to exercise the client's timeout).
//! The server only listens on 127.0.0.1 and stops when dropped.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// `554 5.7.1` to every RCPT TO.
    RejectRecipients,
    /// Accepts the connection and never writes a byte.
    Silent,
}

/// One accepted message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message text as sent after DATA, without the final `.` line.
    pub data: String,
}

#[derive(Debug, Default)]
struct State {
    connections: usize,
    messages: Vec<Captured>,
}

pub struct FakeSmtp {
    pub port: u16,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSmtp {
    pub async fn start(behaviour: Behaviour) -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake SMTP server");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let st = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                st.lock().connections += 1;
                let st = Arc::clone(&st);
                tokio::spawn(async move {
                    if behaviour == Behaviour::Silent {
                        // Hold the connection open without a greeting.
                        let _socket = socket;
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        return;
                    }
                    let _ = session(socket, behaviour, st).await;
                });
            }
        });
        FakeSmtp { port, state, task }
    }

    /// `smtp://127.0.0.1:<port>` (plain SMTP, no TLS).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Captured> {
        self.state.lock().messages.clone()
    }

    pub fn connections(&self) -> usize {
        self.state.lock().connections
    }
}

async fn session(
    socket: TcpStream,
    behaviour: Behaviour,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 fake.test ESMTP ready\r\n").await?;
    let mut current = Captured::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 fake.test\r\n",
            "MAIL" => {
                current = Captured {
                    mail_from: command.get(10..).unwrap_or("").to_owned(),
                    ..Captured::default()
                };
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" => {
                if behaviour == Behaviour::RejectRecipients {
                    b"554 5.7.1 Relay access denied\r\n"
                } else {
                    current
                        .rcpt_to
                        .push(command.get(8..).unwrap_or("").to_owned());
                    b"250 2.1.5 OK\r\n"
                }
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').filter(|_| line.starts_with(".."));
                    data.push_str(unstuffed.unwrap_or(&line));
                }
                current.data = data;
                state.lock().messages.push(std::mem::take(&mut current));
                b"250 2.0.0 queued\r\n"
            }
            "RSET" | "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}
