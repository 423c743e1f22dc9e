//! `POST /client-errors`: a browser's report of a failure only it saw (a panic, a page that
//! never came alive), written to the log at `warn` so it is seen. Plain text, at most
//! [`MAX_REPORT`] characters kept, control characters flattened (no forged log lines), ten
//! reports a minute per address.

use app::components::failures::MAX_REPORT;
use app::server::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use std::net::SocketAddr;

pub async fn report(State(state): State<AppState>, ConnectInfo(client): ConnectInfo<SocketAddr>, body: Bytes) -> StatusCode {
    if state.client_reports.check(&client.ip().to_string()).is_err() {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    let text = flatten(&String::from_utf8_lossy(&body));
    let (page, what) = text.split_once(" | ").unwrap_or(("?", &text));
    tracing::warn!(ip = %client.ip(), page, report = what, "a browser reported a failure");
    StatusCode::NO_CONTENT
}

/// One line of at most [`MAX_REPORT`] characters: line breaks become ` | `, other control
/// characters a space.
fn flatten(text: &str) -> String {
    text.chars()
        .take(MAX_REPORT)
        .map(|c| if c.is_control() { if c == '\n' { '\u{1}' } else { ' ' } } else { c })
        .collect::<String>()
        .replace('\u{1}', " | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_one_bounded_line() {
        assert_eq!(flatten("/chat\npanic: x\r\n\u{1b}[31mfake log line"), "/chat | panic: x  |  [31mfake log line");
        assert_eq!(flatten(&"x".repeat(5000)).len(), MAX_REPORT);
    }
}
