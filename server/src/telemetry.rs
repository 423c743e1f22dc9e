//! Logging: `RUST_LOG` filters (default `info`), one line per request, and every line of a
//! request carries its id (the `request` span). `HUDDLE_LOG_FORMAT=json` writes one JSON
//! object per line, for a log collector; the default is text for a person.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// `HUDDLE_LOG_FORMAT`: `text` (or unset) or `json`.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(format!("HUDDLE_LOG_FORMAT: expected text or json, got {other:?}")),
        }
    }
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"))
}

/// The subscriber for `format`, writing to `writer`.
pub fn subscriber<W>(format: LogFormat, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter()).with_target(false).with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        // The event's fields at the top level; the request's id under `span`.
        LogFormat::Json => Box::new(builder.json().flatten_event(true).with_current_span(true).with_span_list(false).finish()),
    }
}

/// Installs the global subscriber once (and the bridge for crates that log through `log`);
/// later calls do nothing.
pub fn init(format: LogFormat) {
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber(format, std::io::stdout).try_init();
}

/// For tests: text lines, captured per test by the test harness (shown on failure).
pub fn init_for_tests() {
    let _ = tracing_subscriber::fmt().with_env_filter(filter()).with_test_writer().try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_the_request_id_on_every_line_of_the_request() {
        let lines = Lines::default();
        let writer = lines.clone();
        tracing::subscriber::with_default(subscriber(LogFormat::Json, move || writer.clone()), || {
            let span = tracing::info_span!("request", request_id = "5e1f");
            let _in = span.enter();
            tracing::warn!(error = "a \"quoted\" cause\nover two lines", "sending mail failed");
            tracing::info!(status = 200, path = "/chat", "request");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("each line is one JSON object")).collect();
        assert_eq!(parsed.len(), 2, "{text}");
        assert_eq!(parsed[0]["level"], "WARN");
        assert_eq!(parsed[0]["error"], "a \"quoted\" cause\nover two lines");
        assert_eq!(parsed[1]["message"], "request");
        assert_eq!(parsed[1]["status"], 200);
        assert!(parsed.iter().all(|l| l["span"]["request_id"] == "5e1f"), "{text}");
    }

    #[test]
    fn the_format_is_text_or_json_and_nothing_else() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some(" json ")), Ok(LogFormat::Json));
        assert!(LogFormat::parse(Some("xml")).unwrap_err().contains("expected text or json"));
    }
}
