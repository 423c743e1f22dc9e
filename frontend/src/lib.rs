//! The browser entry: hydrates the server-rendered page into the live app.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic stops the app (and hydration with it): show it in the console as before, and tell
    // the server, so a page that never came alive is seen in the server's log.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        app::components::failures::report(&format!("panic: {info}"));
    }));
    // Lazy routes (each page its own wasm module) hydrate once their module is loaded.
    app::hydrate();
}
