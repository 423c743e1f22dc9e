//! Outgoing mail: a bounded set of mails in flight, each sent with retries in its own task, so
//! the request that caused a mail never waits for it and never learns whether it went out.
//!
//! Over SMTP with `lettre` (`HUDDLE_SMTP_URL`: `smtps://` for TLS, `smtp://…?tls=required`
//! for STARTTLS, plain `smtp://` for a relay on the same host), or, in development without
//! SMTP, written as `.eml` files into a folder with the link they carry in the log.

pub use lettre::message::Mailbox;
use lettre::message::MultiPart;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// `Huddle <huddle@example.org>` or a bare address, as a sender (`HUDDLE_MAIL_FROM`).
pub fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.parse::<Mailbox>().map_err(|e| format!("expected a sender like Huddle <huddle@example.org> ({e})"))
}

/// One mail to one person. `text` and `html` say the same; `html` is already escaped.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The link the mail carries, logged when mail is written to files (development).
    pub link: Option<String>,
}

impl Mail {
    /// A mail to `name` whose plain-text and HTML bodies say the same: a greeting, the
    /// paragraphs `before`, a link (`label`, `url`), the paragraphs `after`. Every piece is
    /// text: it is escaped for the HTML body here, so no template can forget it.
    pub fn compose(name: &str, address: &str, subject: &str, before: &[&str], action: Option<(&str, &str)>, after: &[&str]) -> Self {
        let mut text = format!("Hello {name},\n");
        let mut html = format!("<p>Hello {},</p>", escape_html(name));
        for p in before {
            text.push_str(&format!("\n{p}\n"));
            html.push_str(&format!("<p>{}</p>", escape_html(p)));
        }
        if let Some((label, url)) = action {
            text.push_str(&format!("\n{url}\n"));
            html.push_str(&format!("<p><a href=\"{}\">{}</a></p>", escape_html(url), escape_html(label)));
        }
        for p in after {
            text.push_str(&format!("\n{p}\n"));
            html.push_str(&format!("<p>{}</p>", escape_html(p)));
        }
        Mail {
            to_name: name.to_string(),
            to_address: address.to_string(),
            subject: subject.to_string(),
            text,
            html,
            link: action.map(|(_, url)| url.to_string()),
        }
    }
}

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development: each mail becomes a file in this folder (made when the server starts).
    Folder(PathBuf),
}

impl Transport {
    /// An SMTP transport from a URL such as `smtps://user:password@smtp.example.org`.
    /// The error names what is wrong without repeating the URL (it may hold a password).
    pub fn smtp(url: &str) -> Result<Self, String> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
            let reason = e.to_string();
            format!("not a usable SMTP URL ({reason}); expected e.g. smtps://user:password@smtp.example.org or smtp://host:587?tls=required")
        })?;
        Ok(Transport::Smtp(builder.timeout(Some(Duration::from_secs(20))).build()))
    }
}

/// How often a mail that could not be sent is tried again, and after what pauses.
#[derive(Debug, Clone)]
pub struct Retry {
    pub pauses: Vec<Duration>,
}

impl Default for Retry {
    /// Six tries over about half an hour: long enough to ride out a relay's restart, short
    /// enough that a reset link (valid 30 minutes) is still worth receiving.
    fn default() -> Self {
        let pauses = [2, 10, 60, 300, 1200].map(Duration::from_secs).to_vec();
        Self { pauses }
    }
}

/// Sends mail in the background. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    from: Mailbox,
    retry: Retry,
    /// One permit per mail waiting or being sent: past the limit a mail is dropped and logged.
    slots: Arc<Semaphore>,
    written: AtomicU64,
}

/// Mails waiting or in flight at once; more are dropped (and logged) rather than kept.
pub const MAX_PENDING: usize = 1_000;

impl Mailer {
    pub fn new(transport: Transport, from: Mailbox, retry: Retry) -> Self {
        let inner = Inner { transport, from, retry, slots: Arc::new(Semaphore::new(MAX_PENDING)), written: AtomicU64::new(0) };
        Self { inner: Arc::new(inner) }
    }

    /// Queues `mail`; returns at once. Failures are logged with their cause, never reported
    /// to the caller: whoever asked for the mail must not learn whether it went out.
    pub fn send(&self, mail: Mail) {
        let Ok(slot) = self.inner.slots.clone().try_acquire_owned() else {
            tracing::error!(subject = mail.subject, "mail dropped: {MAX_PENDING} mails already waiting to be sent");
            return;
        };
        let inner = self.inner.clone();
        tokio::spawn(async move {
            inner.deliver(mail).await;
            drop(slot);
        });
    }
}

impl Inner {
    async fn deliver(&self, mail: Mail) {
        let message = match self.message(&mail) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, subject = mail.subject, "mail not sent: cannot build it");
                return;
            }
        };
        let mut pauses = self.retry.pauses.iter();
        loop {
            let result = match &self.transport {
                Transport::Smtp(smtp) => smtp.send(message.clone()).await.map(drop).map_err(|e| e.to_string()),
                Transport::Folder(dir) => self.write(dir, &message, &mail).await.map_err(|e| e.to_string()),
            };
            match (result, pauses.next()) {
                (Ok(()), _) => return,
                (Err(e), Some(pause)) => {
                    tracing::warn!(error = e, subject = mail.subject, retry_in_secs = pause.as_secs(), "mail not sent yet");
                    tokio::time::sleep(*pause).await;
                }
                (Err(e), None) => {
                    tracing::error!(error = e, subject = mail.subject, "mail not sent: gave up after every retry");
                    return;
                }
            }
        }
    }

    fn message(&self, mail: &Mail) -> Result<Message, String> {
        let address = mail.to_address.parse().map_err(|e: lettre::address::AddressError| e.to_string())?;
        let to = Mailbox::new(Some(mail.to_name.clone()), address);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| e.to_string())
    }

    async fn write(&self, dir: &std::path::Path, message: &Message, mail: &Mail) -> std::io::Result<()> {
        let n = self.written.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{}-{n}.eml", crate::server::now_ms()));
        tokio::fs::write(&path, message.formatted()).await?;
        tracing::info!(path = %path.display(), subject = mail.subject, link = mail.link.as_deref().unwrap_or(""), "mail written to a file (no HUDDLE_SMTP_URL)");
        Ok(())
    }
}

/// `s` safe to put in HTML text or a quoted attribute.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_composed_mail_says_the_same_in_both_bodies_and_escapes_the_html() {
        let m = Mail::compose("<b>Ada</b>", "a@example.org", "S", &["First & foremost."], Some(("Open it", "https://h.test/x?a=1&b=2")), &["Bye."]);
        assert_eq!(m.text, "Hello <b>Ada</b>,\n\nFirst & foremost.\n\nhttps://h.test/x?a=1&b=2\n\nBye.\n");
        assert_eq!(
            m.html,
            "<p>Hello &lt;b&gt;Ada&lt;/b&gt;,</p><p>First &amp; foremost.</p><p><a href=\"https://h.test/x?a=1&amp;b=2\">Open it</a></p><p>Bye.</p>"
        );
        assert_eq!(m.link.as_deref(), Some("https://h.test/x?a=1&b=2"));
    }

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(escape_html(r#"<b onclick="x">Ada & 'Bob'</b>"#), "&lt;b onclick=&quot;x&quot;&gt;Ada &amp; &#39;Bob&#39;&lt;/b&gt;");
    }

    #[test]
    fn a_bad_smtp_url_is_refused_without_echoing_it() {
        let e = Transport::smtp("imap://user:hunter2@example.org").err().expect("refused");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(Transport::smtp("smtps://user:pw@smtp.example.org").is_ok());
        assert!(Transport::smtp("smtp://127.0.0.1:2525").is_ok());
        assert!(Transport::smtp("smtp://smtp.example.org:587?tls=required").is_ok());
    }

    /// A mail a folder transport wrote has both bodies, the subject and the recipient.
    #[tokio::test]
    async fn development_mail_is_a_file_with_both_bodies() {
        let dir = std::env::temp_dir().join(format!("huddle-mail-{}-{}", std::process::id(), crate::server::now_ms()));
        std::fs::create_dir_all(&dir).unwrap();
        let mailer = Mailer::new(Transport::Folder(dir.clone()), "Huddle <huddle@localhost>".parse().unwrap(), Retry::default());
        mailer.send(Mail {
            to_name: "Ada".into(),
            to_address: "ada@example.org".into(),
            subject: "Reset your password".into(),
            text: "Open https://huddle.test/x".into(),
            html: "<p>Open <a href=\"https://huddle.test/x\">it</a></p>".into(),
            link: Some("https://huddle.test/x".into()),
        });
        let file = loop {
            if let Some(Ok(entry)) = std::fs::read_dir(&dir).ok().and_then(|mut d| d.next()) {
                break entry.path();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let eml = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(eml.contains("To: \"Ada\" <ada@example.org>") || eml.contains("To: Ada <ada@example.org>"), "{eml}");
        assert!(eml.contains("Subject: Reset your password"), "{eml}");
        assert!(eml.contains("text/plain") && eml.contains("text/html"), "{eml}");
    }
}
