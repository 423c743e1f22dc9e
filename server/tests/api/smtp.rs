//! A real SMTP server for the tests: aiosmtpd (PyPI, pinned, installed into `.tools/smtp` by
//! `ensure_aiosmtpd` in scripts/lib.sh), one process per test on its own port, keeping every
//! mail it receives in a Maildir the test reads. Stopped by its PID when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpCapture {
    pub addr: SocketAddr,
    dir: PathBuf,
    child: Child,
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl SmtpCapture {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// An SMTP server on `port` (for a test that first needs the port to be closed).
    pub fn start_on(port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!("huddle-smtp-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &addr.to_string(), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not start listening on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { addr, dir, child }
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
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
