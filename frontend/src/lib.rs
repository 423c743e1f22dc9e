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

/// Room for the splitter to lay out the read-only data again.
///
/// `scripts/wasm-split` gives each module the constants only it uses, packed per module with
/// their alignment. Packed that way they may take a few bytes more than in the linker's layout,
/// and a segment that grows is left whole in the main module: 113 KB of data instead of 44 KB
/// (+23 KB brotli) when it was 5 bytes too long (2026-11-29). Nothing refers to these bytes, so
/// no module carries them, and the segment they lengthen has this much slack. `huddle-wasm-split`
/// fails the build if the data ends up in the main module anyway.
#[used]
static SPLIT_DATA_SLACK: [u8; 1024] = [0x5a; 1024];
