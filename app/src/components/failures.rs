//! Failures only the browser sees, told to the server so they show in its log: a panic (which
//! stops the app, and with it hydration) and a page still not live 10 s after it loaded.

/// Where the browser posts what went wrong.
pub const REPORT_PATH: &str = "/client-errors";

/// The longest report sent; the rest is cut.
pub const MAX_REPORT: usize = 2000;

/// Sends `what` (and the page it happened on) to the server without waiting for an answer.
/// `sendBeacon` survives the page going away, and needs no working app.
#[cfg(feature = "hydrate")]
pub fn report(what: &str) {
    let Some(window) = web_sys::window() else { return };
    let page = window.location().pathname().unwrap_or_default();
    let text: String = format!("{page}\n{what}").chars().take(MAX_REPORT).collect();
    let _ = window.navigator().send_beacon_with_opt_str(REPORT_PATH, Some(&text));
}

/// Reports the page if it is not live `after` the app started (a lost wake-up, a resource that
/// never resolves).
#[cfg(feature = "hydrate")]
pub fn watch_hydration(hydrated: leptos::prelude::ReadSignal<bool>, after: std::time::Duration) {
    use leptos::prelude::{GetUntracked, set_timeout};
    set_timeout(
        move || {
            if !hydrated.get_untracked() {
                report(&format!("the page was not live {} s after the app started", after.as_secs()));
            }
        },
        after,
    );
}
