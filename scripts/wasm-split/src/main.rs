//! `huddle-wasm-split <input.wasm> <pkg dir> <main out.wasm> <output name>`
//!
//! Splits a wasm built with `-Clink-args=--emit-relocs` at its `#[lazy]` split points. Writes the
//! lazily loaded chunks and their loader into the pkg dir, the main module (for wasm-bindgen) to
//! `main out`, and `__wasm_split_manifest.json`, which Leptos' server reads to preload the chunks
//! a server-rendered route needs.

use sha2::{Digest, Sha256};
use std::{collections::HashMap, path::Path, process::ExitCode};

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
        options.link_name = LOADER_LINK;
        options
    })
    .map_err(|error| format!("{error:?}"))?;
    // The chunks keep the input's custom sections; the function names alone were half of each.
    for module in &split.split_modules {
        let bytes = std::fs::read(module)?;
        std::fs::write(module, without_custom_sections(&bytes).ok_or_else(|| format!("{} is not a wasm module", module.display()))?)?;
    }
    let loader_path = pkg_dir.join(LOADER);
    let loader = std::fs::read_to_string(&loader_path)?;
    let (loader, manifest) = name_by_content_and_pack(pkg_dir, &loader, &split.prefetch_map)?;
    std::fs::write(&loader_path, loader)?;
    std::fs::write(pkg_dir.join("__wasm_split_manifest.json"), serde_json::to_string_pretty(&manifest)?)?;
    Ok(split.split_modules.len())
}

/// The loader's file name (Leptos links it by this name).
const LOADER: &str = "__wasm_split.______________________.js";
const LOADER_LINK: &str = "./__wasm_split.______________________.js";

/// `stem.<first 16 hex digits of the SHA-256 of bytes>`.
fn content_name(stem: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{stem}.{hex}")
}

/// Names every lazily loaded module after its content, and writes the packs.
///
/// Names: `x.wasm` becomes `x.<hash of its bytes>.wasm` (in the loader and the manifest too),
/// so browsers may keep every module for good (`immutable`) and a new build is new names. The
/// loader keeps its fixed name: the main module's JS imports it by that name, and it is the one
/// file of the bundle the browser revalidates.
///
/// Packs: the splitter gives each set of pages that share code a module of its own, so
/// `/expenses` needs 69 small modules. Fetched one by one, each is compressed alone and has its
/// own response headers: 108 KB brotli where the same bytes compressed together are 64 KB
/// (2026-11-29). For each split point with more than one module, `pack_<split>.<hash>.wasm`
/// holds its modules one after the other, behind an index (a little-endian u32 length, then
/// JSON `[[name, length], ...]`). The first split point a page loads (its route) is fetched as
/// its pack, and the modules are taken from it; later navigations fetch modules one by one as
/// before, since most of what they need is already loaded and a pack would fetch it again. The
/// manifest names the pack, so the server's preload link fetches the file the loader asks for.
///
/// Returns the loader and the manifest to write.
fn name_by_content_and_pack(pkg_dir: &Path, loader: &str, modules: &HashMap<String, Vec<String>>) -> Result<(String, HashMap<String, Vec<String>>), Box<dyn std::error::Error>> {
    let mut loader = loader.to_string();
    let mut renamed: HashMap<&str, String> = HashMap::new();
    for stem in modules.values().flatten() {
        if renamed.contains_key(stem.as_str()) {
            continue;
        }
        let path = pkg_dir.join(format!("{stem}.wasm"));
        let named = content_name(stem, &std::fs::read(&path)?);
        std::fs::rename(&path, pkg_dir.join(format!("{named}.wasm")))?;
        let (from, to) = (format!("\"./{stem}.wasm\""), format!("\"./{named}.wasm\""));
        if !loader.contains(&from) {
            return Err(format!("the loader never fetches {from}").into());
        }
        loader = loader.replace(&from, &to);
        renamed.insert(stem, named);
    }
    let mut manifest = HashMap::new();
    let mut wrappers = String::new();
    let mut splits: Vec<_> = modules.iter().collect();
    splits.sort();
    for (split, members) in splits {
        let members: Vec<&String> = members.iter().map(|m| &renamed[m.as_str()]).collect();
        if members.len() < 2 {
            manifest.insert(split.clone(), members.into_iter().cloned().collect());
            continue;
        }
        let mut index = Vec::new();
        let mut body = Vec::new();
        for member in &members {
            let module = std::fs::read(pkg_dir.join(format!("{member}.wasm")))?;
            index.push((format!("./{member}.wasm"), module.len()));
            body.extend(module);
        }
        let index = serde_json::to_vec(&index)?;
        let mut pack = u32::try_from(index.len())?.to_le_bytes().to_vec();
        pack.extend(index);
        pack.extend(body);
        let name = content_name(&format!("pack_{}", split.trim_start_matches('_')), &pack);
        std::fs::write(pkg_dir.join(format!("{name}.wasm")), pack)?;
        // The split's loader, wrapped so that it asks for its pack first.
        let export = format!("export const __wasm_split_load_{split} = ");
        let inner = format!("__unpacked_{split}");
        if !loader.contains(&export) {
            return Err(format!("the loader has no `{export}`").into());
        }
        loader = loader.replace(&export, &format!("const {inner} = "));
        wrappers.push_str(&format!(
            "export const __wasm_split_load_{split} = (callback, data) => {{ usePack(\"./{name}.wasm\"); return {inner}(callback, data); }};\n"
        ));
        manifest.insert(split.clone(), vec![name]);
    }
    // Every module is fetched through `fetchModule`, which takes it from the pack when it can.
    let fetches = loader.matches("fetch(new URL(").count();
    let loader = loader.replace("fetch(new URL(", "fetchModule(").replace(", import.meta.url))", ")");
    if loader.matches("fetchModule(").count() != fetches || loader.contains("import.meta.url") {
        return Err("the loader's fetches are not in the expected form".into());
    }
    // After the import of the main module (the first line), before the loaders.
    let (imports, rest) = loader.split_once('\n').ok_or("the loader is empty")?;
    Ok((format!("{imports}\n{PACK_LOADER}{rest}{wrappers}"), manifest))
}

/// The loader's part that reads packs (see [`name_by_content_and_pack`]).
const PACK_LOADER: &str = r#"// Added by huddle-wasm-split: the first page loaded takes its modules from one file.
let pack = null;
function usePack(name) {
    if (pack !== null) return;
    pack = fetch(new URL(name, import.meta.url)).then(async (response) => {
        if (!response.ok) throw new Error(`${name}: ${response.status}`);
        const bytes = await response.arrayBuffer();
        const length = new DataView(bytes).getUint32(0, true);
        const modules = new Map();
        let start = 4 + length;
        for (const [module, size] of JSON.parse(new TextDecoder().decode(new Uint8Array(bytes, 4, length)))) {
            modules.set(module, bytes.slice(start, start + size));
            start += size;
        }
        return modules;
    });
}
function fetchModule(name) {
    const own = () => fetch(new URL(name, import.meta.url));
    if (pack === null) return own();
    // A pack that did not arrive is no reason to fail the page: each module is fetched alone.
    return pack.then((modules) => {
        const bytes = modules.get(name);
        if (bytes === undefined) return own();
        modules.delete(name);
        return new Response(bytes, { headers: { "content-type": "application/wasm" } });
    }, own);
}
"#;

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
