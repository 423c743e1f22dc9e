//! Failures only the browser sees, told to the server so they show in its log: an uncaught error
//! (a panic in the app is one: the bundle is built to abort at once, which the browser throws as
//! `RuntimeError: unreachable`; it stops the app, and with it hydration) and a page still not
//! live 10 s after it loaded.

/// Where the browser posts what went wrong.
pub const REPORT_PATH: &str = "/client-errors";

/// The longest report sent; the rest is cut.
pub const MAX_REPORT: usize = 2000;

/// The page's error listener, an inline script in every page's head (before the app's own
/// script, so it hears the app's first failure): the first five uncaught errors and rejected
/// promises of a page, each with its stack, go to [`REPORT_PATH`].
pub const ERROR_LISTENER: &str = r#"(() => {
  let left = 5;
  const send = (what) => { if (left-- > 0) navigator.sendBeacon("/client-errors", location.pathname + "\n" + what); };
  addEventListener("error", (e) => send((e.error && e.error.stack) || e.message));
  addEventListener("unhandledrejection", (e) => send((e.reason && e.reason.stack) || String(e.reason)));
})();"#;

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
