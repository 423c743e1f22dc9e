//! The browser entry: hydrates the server-rendered page into the live app.
//!
//! Built with `-Cpanic=immediate-abort` (see `build_site`): a panic stops the app at once with a
//! `RuntimeError: unreachable`, which the page's error listener reports to the server
//! (`app::components::failures::ERROR_LISTENER`). No panic hook runs, so none is set.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Lazy routes (each page its own wasm module) hydrate once their module is loaded.
    app::hydrate();
}
