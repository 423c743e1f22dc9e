//! A real SMTP server for the tests: aiosmtpd (PyPI, pinned, installed into `.tools/smtp` by
//! `ensure_aiosmtpd` in scripts/lib.sh), one process per test on a port it binds itself,
//! keeping every mail it receives in a Maildir the test reads. Stopped by its PID when dropped.

use crate::helpers::ChildServer;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct SmtpCapture {
    pub addr: SocketAddr,
    dir: PathBuf,
    server: ChildServer,
}

/// A mail as the SMTP server received it.
#[derive(Debug)]
pub struct Captured {
    pub raw: String,
}

impl Captured {
    /// The mail's text with quoted-printable soft line breaks joined and `=3D` decoded, enough
    /// to read a link or a sentence out of it.
    pub fn text(&self) -> String {
        self.raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.raw.lines().find(|l| l.to_ascii_lowercase().starts_with(&prefix)).map(|l| l[prefix.len()..].trim().to_string())
    }

    /// The first link in the mail that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let text = self.text();
        let start = text.find(prefix)?;
        let end = text[start..].find(|c: char| c.is_whitespace() || c == '"' || c == '<').map_or(text.len(), |i| start + i);
        Some(text[start..end].to_string())
    }
}

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".tools/smtp/bin/python");
    assert!(
        python.exists(),
        "aiosmtpd is not installed: run scripts/test.sh, or `source scripts/lib.sh; ensure_aiosmtpd` (looked for {})",
        python.display()
    );
    python
}

/// aiosmtpd on the port given (0: one the kernel picks), printing the port it listens on (see
/// [`ChildServer`]).
const AIOSMTPD: &str = "
import asyncio, socket, sys
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP

async def main():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', int(sys.argv[2])))
    sock.listen()
    handler = Mailbox(sys.argv[1])
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler), sock=sock)
    print(sock.getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
";

impl SmtpCapture {
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// An SMTP server on `port` (for a test that first needs the port to be closed), or on one
    /// of its own for 0.
    pub fn start_on(port: u16) -> Self {
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("huddle-smtp-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new(python());
        command.args(["-c", AIOSMTPD]).arg(dir.join("maildir")).arg(port.to_string());
        let server = ChildServer::start(command, "aiosmtpd");
        Self { addr: SocketAddr::from(([127, 0, 0, 1], server.port)), dir, server }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every mail received so far, oldest first.
    pub fn mails(&self) -> Vec<Captured> {
        let new = self.dir.join("maildir/new");
        let mut files: Vec<_> = std::fs::read_dir(&new).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
        // Maildir names start with the delivery time in seconds, then a sequence: sort by mtime.
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.into_iter().filter_map(|p| std::fs::read_to_string(p).ok()).map(|raw| Captured { raw }).collect()
    }

    /// Waits (at most 10 s) until `n` mails with this subject have arrived, and returns them.
    pub async fn with_subject(&self, subject: &str, n: usize) -> Vec<Captured> {
        let started = Instant::now();
        loop {
            let mails: Vec<Captured> = self.mails().into_iter().filter(|m| m.header("subject").as_deref() == Some(subject)).collect();
            if mails.len() >= n {
                return mails;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "expected {n} mails {subject:?}, got {}", mails.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (at most 10 s) until `n` mails have arrived, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Captured> {
        let started = Instant::now();
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "expected {n} mails, got {}", mails.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpCapture {
    fn drop(&mut self) {
        // Stopped before its Maildir goes.
        self.server.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
