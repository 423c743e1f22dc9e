//! `huddle-wasm-split <input.wasm> <pkg dir> <main out.wasm> <output name>`
//!
//! Splits a wasm built with `-Clink-args=--emit-relocs` at its `#[lazy]` split points. Writes the
//! lazily loaded chunks and their loader into the pkg dir, the main module (for wasm-bindgen) to
//! `main out`, and `__wasm_split_manifest.json`, which Leptos' server reads to preload the chunks
//! a server-rendered route needs.

use std::{path::Path, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg_dir, main_out, name] = args.as_slice() else {
        eprintln!("usage: huddle-wasm-split <input.wasm> <pkg dir> <main out.wasm> <output name>");
        return ExitCode::from(2);
    };
    match run(Path::new(input), Path::new(pkg_dir), Path::new(main_out), name) {
        Ok(chunks) => {
            eprintln!("wasm split: {chunks} lazily loaded modules");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("wasm split failed: {error:?}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &Path, pkg_dir: &Path, main_out: &Path, name: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let wasm = std::fs::read(input)?;
    let main_module = format!("./{name}.js");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&wasm);
        options.output_dir = pkg_dir;
        options.main_out_path = main_out;
        options.main_module = &main_module;
        // The name Leptos' `HydrationScripts` preloads when file hashing is off.
        options.link_name = "./__wasm_split.______________________.js";
        options
    })
    .map_err(|error| format!("{error:?}"))?;
    // The chunks keep the input's custom sections; the function names alone were half of each.
    for module in &split.split_modules {
        let bytes = std::fs::read(module)?;
        std::fs::write(module, without_custom_sections(&bytes).ok_or_else(|| format!("{} is not a wasm module", module.display()))?)?;
    }
    let manifest = serde_json::to_string_pretty(&split.prefetch_map)?;
    std::fs::write(pkg_dir.join("__wasm_split_manifest.json"), manifest)?;
    Ok(split.split_modules.len())
}

/// `wasm` without its custom sections (names, producers, target features): none is needed to run
/// it. `None` if it is not a well-formed sequence of sections.
fn without_custom_sections(wasm: &[u8]) -> Option<Vec<u8>> {
    const HEADER: usize = 8; // magic and version
    let mut out = wasm.get(..HEADER)?.to_vec();
    let mut at = HEADER;
    while at < wasm.len() {
        let id = wasm[at];
        let (size, content) = leb128(wasm, at + 1)?;
        let end = content.checked_add(size)?;
        if end > wasm.len() {
            return None;
        }
        if id != 0 {
            out.extend_from_slice(&wasm[at..end]);
        }
        at = end;
    }
    Some(out)
}

/// An unsigned LEB128 number at `at`, and the index just past it.
fn leb128(bytes: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let (mut value, mut shift) = (0usize, 0);
    loop {
        let byte = *bytes.get(at)?;
        at += 1;
        value |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte < 0x80 {
            return Some((value, at));
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
}
