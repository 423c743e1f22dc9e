//! `huddle-wasm-split <input.wasm> <pkg dir> <main out.wasm> <output name>`
//!
//! Splits a wasm built with `-Clink-args=--emit-relocs` at its `#[lazy]` split points. Writes the
//! lazily loaded chunks and their loader into the pkg dir, the main module (for wasm-bindgen) to
//! `main out`, and `__wasm_split_manifest.json`, which Leptos' server reads to preload the chunks
//! a server-rendered route needs. `--nest=<parent>:<child>,...` names routes nested in another
//! (split points by name prefix), whose first load follows their parent's (see
//! [`name_by_content_and_pack`]).
//!
//! `huddle-wasm-split --externref-export <main.wasm>`
//!
//! After binaryen: points wasm-bindgen's export of its externref table back at that table (see
//! [`externref_export`]).
//!
//! `huddle-wasm-split --short-imports <main.wasm> <main.js>`
//!
//! After wasm-bindgen: gives its JS shims short names in both files (see [`short_imports`]).

use sha2::{Digest, Sha256};
use std::{collections::HashMap, path::Path, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, wasm, js] if flag == "--short-imports" => short_imports(Path::new(wasm), Path::new(js)).map(|n| format!("{n} imports renamed")),
        [flag, wasm] if flag == "--externref-export" => externref_export(Path::new(wasm)).map(|fixed| {
            if fixed { "the externref table's export fixed".to_string() } else { "the externref table's export was right".to_string() }
        }),
        [input, pkg_dir, main_out, name, nests @ ..] => match nests.iter().map(|n| parse_nest(n)).collect::<Option<Vec<_>>>() {
            Some(nested) => run(Path::new(input), Path::new(pkg_dir), Path::new(main_out), name, &nested).map(|n| format!("{n} lazily loaded modules")),
            None => {
                eprintln!("a nested route is given as --nest=<parent>:<child>,<child>");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: huddle-wasm-split <input.wasm> <pkg dir> <main out.wasm> <output name> [--nest=<parent>:<child>,<child>]...");
            eprintln!("       huddle-wasm-split --short-imports <main.wasm> <main.js>");
            eprintln!("       huddle-wasm-split --externref-export <main.wasm>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(done) => {
            eprintln!("wasm split: {done}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("wasm split failed: {error:?}");
            ExitCode::FAILURE
        }
    }
}

/// wasm-bindgen's JS reads its table of JS values through the export `__wbindgen_externrefs`.
/// Debian's binaryen (108) writes that export as the function table's, even when it reads and
/// writes the module with no pass at all (2026-11-29), and the page fails to start
/// (`WebAssembly.Table.set(): Argument 1 is invalid for table`). This sets the export to the
/// module's one externref table; true when it had to. An error when the module does not have
/// exactly one such table and one such export.
fn externref_export(path: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    const EXPORT_NAME: &str = "__wbindgen_externrefs";
    let wasm = std::fs::read(path)?;
    let (mut imported_tables, mut externref_tables) = (0usize, Vec::new());
    let mut defined = 0usize;
    map_sections(&wasm, |id, body| {
        match id {
            2 => imported_tables = count_table_imports(body)?,
            4 => {
                let (count, mut at) = leb128(body, 0)?;
                for _ in 0..count {
                    let kind = *body.get(at)?;
                    if kind == 0x6f {
                        externref_tables.push(defined);
                    }
                    let flags = *body.get(at + 1)?;
                    let (_, after_min) = leb128_u64(body, at + 2)?;
                    at = if flags & 1 == 1 { leb128_u64(body, after_min)?.1 } else { after_min };
                    defined += 1;
                }
            }
            _ => {}
        }
        Some(None)
    })
    .ok_or("not a wasm module")?;
    let [table] = externref_tables.as_slice() else {
        return Err(format!("{} externref tables defined, expected one", externref_tables.len()).into());
    };
    let table = imported_tables + table;
    let (mut found, mut fixed) = (0, false);
    let out = map_sections(&wasm, |id, body| {
        if id != 7 {
            return Some(Some(body.to_vec()));
        }
        let (count, mut at) = leb128(body, 0)?;
        let mut out = Vec::new();
        push_leb128(&mut out, count);
        for _ in 0..count {
            let (len, start) = leb128(body, at)?;
            let name = body.get(start..start.checked_add(len)?)?;
            let kind = *body.get(start + len)?;
            let (index, end) = leb128(body, start + len + 1)?;
            out.extend_from_slice(&body[at..start + len + 1]);
            if name == EXPORT_NAME.as_bytes() && kind == 1 {
                found += 1;
                fixed = index != table;
                push_leb128(&mut out, table);
            } else {
                push_leb128(&mut out, index);
            }
            at = end;
        }
        (at == body.len()).then_some(Some(out))
    })
    .ok_or("the export section is malformed")?;
    if found != 1 {
        return Err(format!("{found} table exports named {EXPORT_NAME}, expected one").into());
    }
    if fixed {
        std::fs::write(path, out)?;
    }
    Ok(fixed)
}

/// How many tables an import section imports.
fn count_table_imports(section: &[u8]) -> Option<usize> {
    let (count, mut at) = leb128(section, 0)?;
    let mut tables = 0;
    for _ in 0..count {
        let (len, start) = leb128(section, at)?;
        let (len, start) = leb128(section, start.checked_add(len)?)?;
        let desc = start.checked_add(len)?;
        if *section.get(desc)? == 1 {
            tables += 1;
        }
        at = import_desc_end(section, desc)?;
    }
    Some(tables)
}

/// Renames wasm-bindgen's JS shims (`__wbg_addEventListener_3f1a2b9c0d4e5f60`, one per imported
/// browser function, about 300) to `_0`, `_1`, ... in the main module's import section and in
/// its JS. The long names were 7 KB of every first load after compression (3 KB of JS, 4 KB of
/// wasm, 2026-11-29): their hash suffixes do not compress. Only names of that exact form are
/// touched, each a whole import name in the wasm and a whole word in the JS.
fn short_imports(wasm_path: &Path, js_path: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let wasm = std::fs::read(wasm_path)?;
    let mut js = std::fs::read_to_string(js_path)?;
    let mut renamed: HashMap<String, String> = HashMap::new();
    let wasm = rewrite_import_names(&wasm, |name| {
        if !is_shim_name(name) {
            return None;
        }
        let next = format!("_{}", base36(renamed.len()));
        Some(renamed.entry(name.to_string()).or_insert(next).clone())
    })
    .ok_or("the main module's sections are not well formed")?;
    for (from, to) in &renamed {
        let count = js.matches(from.as_str()).count();
        if count == 0 {
            return Err(format!("{from} is imported by the wasm but not in the JS").into());
        }
        if js.contains(&format!("{to}:")) && !js.contains(&format!("{from}:")) {
            return Err(format!("{to} is already a name in the JS").into());
        }
        js = js.replace(from.as_str(), to);
    }
    std::fs::write(wasm_path, wasm)?;
    std::fs::write(js_path, js)?;
    Ok(renamed.len())
}

/// `__wbg_<name>_<16 hex digits>`.
fn is_shim_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("__wbg_") else { return false };
    match rest.rsplit_once('_') {
        Some((stem, hash)) => !stem.is_empty() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        None => false,
    }
}

fn base36(mut n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

/// `wasm` with each import's field name replaced by `rename(name)` where that is `Some`. `None`
/// if the module is not a well-formed sequence of sections with a well-formed import section.
fn rewrite_import_names(wasm: &[u8], mut rename: impl FnMut(&str) -> Option<String>) -> Option<Vec<u8>> {
    map_sections(wasm, |id, body| if id == 2 { rewrite_imports(body, &mut rename).map(Some) } else { Some(Some(body.to_vec())) })
}

/// Rebuilds `wasm` section by section: `f(id, body)` gives the section's new body, `Some(None)`
/// to drop it, or `None` to refuse the module. `None` too if the module is not a well-formed
/// sequence of sections.
fn map_sections(wasm: &[u8], mut f: impl FnMut(u8, &[u8]) -> Option<Option<Vec<u8>>>) -> Option<Vec<u8>> {
    const HEADER: usize = 8; // magic and version
    let mut out = wasm.get(..HEADER)?.to_vec();
    let mut at = HEADER;
    while at < wasm.len() {
        let id = wasm[at];
        let (size, content) = leb128(wasm, at + 1)?;
        let end = content.checked_add(size)?;
        if let Some(body) = f(id, wasm.get(content..end)?)? {
            out.push(id);
            push_leb128(&mut out, body.len());
            out.extend(body);
        }
        at = end;
    }
    Some(out)
}

/// The import section's body with names renamed.
fn rewrite_imports(section: &[u8], rename: &mut impl FnMut(&str) -> Option<String>) -> Option<Vec<u8>> {
    let (count, mut at) = leb128(section, 0)?;
    let mut out = Vec::new();
    push_leb128(&mut out, count);
    for _ in 0..count {
        // module name, then field name: each a length and UTF-8 bytes
        let (len, start) = leb128(section, at)?;
        let module_end = start.checked_add(len)?;
        out.extend_from_slice(section.get(at..module_end)?);
        let (len, start) = leb128(section, module_end)?;
        let name_end = start.checked_add(len)?;
        let name = std::str::from_utf8(section.get(start..name_end)?).ok()?;
        let name = rename(name).unwrap_or_else(|| name.to_string());
        push_leb128(&mut out, name.len());
        out.extend_from_slice(name.as_bytes());
        // the import's description, copied as it is
        let desc_end = import_desc_end(section, name_end)?;
        out.extend_from_slice(section.get(name_end..desc_end)?);
        at = desc_end;
    }
    (at == section.len()).then_some(out)
}

/// Where the import description at `at` ends: function (type index), table (element type and
/// limits), memory (limits), global (value type and mutability) or tag (attribute and type).
fn import_desc_end(section: &[u8], at: usize) -> Option<usize> {
    let kind = *section.get(at)?;
    let limits_end = |at: usize| -> Option<usize> {
        let flags = *section.get(at)?;
        let (_, after_min) = leb128_u64(section, at + 1)?;
        if flags & 1 == 1 { leb128_u64(section, after_min).map(|(_, end)| end) } else { Some(after_min) }
    };
    match kind {
        0 => leb128(section, at + 1).map(|(_, end)| end),
        1 => limits_end(at + 2),
        2 => limits_end(at + 1),
        3 => Some(at + 3),
        4 => leb128(section, at + 2).map(|(_, end)| end),
        _ => None,
    }
}

fn push_leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// An unsigned LEB128 number of up to 64 bits at `at` (memory limits may be 64-bit).
fn leb128_u64(bytes: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let byte = *bytes.get(at)?;
        at += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte < 0x80 {
            return Some((value, at));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// `--nest=<parent>:<child>,<child>`: split points (name prefixes) of routes nested in another.
fn parse_nest(arg: &str) -> Option<(String, Vec<String>)> {
    let (parent, children) = arg.strip_prefix("--nest=")?.split_once(':')?;
    let children: Vec<String> = children.split(',').filter(|c| !c.is_empty()).map(String::from).collect();
    (!parent.is_empty() && !children.is_empty()).then(|| (parent.to_string(), children))
}

fn run(input: &Path, pkg_dir: &Path, main_out: &Path, name: &str, nested: &[(String, Vec<String>)]) -> Result<usize, Box<dyn std::error::Error>> {
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
    // The constants each page alone uses go to its module. A data segment that no longer fits
    // once laid out per module stays whole in the main module (the library warns and goes on):
    // 70 KB more of it on every page. `frontend` leaves the segment slack for this; should that
    // run out, the build stops here rather than ship the bigger module.
    let (input_data, main_data) = (section_len(&wasm, DATA_SECTION), section_len(&std::fs::read(main_out)?, DATA_SECTION));
    if let (Some(input_data), Some(main_data)) = (input_data, main_data)
        && main_data * 10 >= input_data * 9
    {
        return Err(format!(
            "the main module kept {main_data} of the {input_data} bytes of data: a data segment did not fit once split \
             (raise SPLIT_DATA_SLACK in frontend/src/lib.rs)"
        )
        .into());
    }
    // The chunks keep the input's custom sections; the function names alone were half of each.
    for module in &split.split_modules {
        let bytes = std::fs::read(module)?;
        std::fs::write(module, without_custom_sections(&bytes).ok_or_else(|| format!("{} is not a wasm module", module.display()))?)?;
    }
    let loader_path = pkg_dir.join(LOADER);
    let loader = std::fs::read_to_string(&loader_path)?;
    let (loader, manifest) = name_by_content_and_pack(pkg_dir, &loader, &split.prefetch_map, nested)?;
    std::fs::write(&loader_path, loader)?;
    std::fs::write(pkg_dir.join("__wasm_split_manifest.json"), serde_json::to_string_pretty(&manifest)?)?;
    Ok(split.split_modules.len())
}

/// The loader's file name (Leptos links it by this name).
const LOADER: &str = "__wasm_split.______________________.js";
const LOADER_LINK: &str = "./__wasm_split.______________________.js";

/// `stem.<first 8 hex digits of the SHA-256 of bytes>`. 32 bits: the chance that a changed
/// module keeps its name (and browsers keep the old one) is one in four billion per change, and
/// the loader names all 200-odd modules, so each digit more costs every first load 100 bytes.
fn content_name(stem: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
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
/// Nested routes (`nested`: parent, children) load after their parent on a first visit: a child
/// gets a second pack, `pack_<child>_in_<parent>`, of only the modules its parent's pack did not
/// hold, used when the parent's pack was the page's; the manifest names that one for the child.
///
/// Returns the loader and the manifest to write.
fn name_by_content_and_pack(
    pkg_dir: &Path,
    loader: &str,
    modules: &HashMap<String, Vec<String>>,
    nested: &[(String, Vec<String>)],
) -> Result<(String, HashMap<String, Vec<String>>), Box<dyn std::error::Error>> {
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
    let mut splits: Vec<_> = modules.keys().collect();
    splits.sort();
    let members_of = |split: &str| -> Vec<&String> { modules[split].iter().map(|m| &renamed[m.as_str()]).collect() };
    let mut packs: HashMap<&str, String> = HashMap::new();
    for split in &splits {
        let members = members_of(split);
        match write_pack(pkg_dir, &format!("pack_{}", split.trim_start_matches('_')), &members)? {
            Some(name) => {
                packs.insert(split.as_str(), name.clone());
                manifest.insert((*split).clone(), vec![name]);
            }
            None => {
                manifest.insert((*split).clone(), members.into_iter().cloned().collect());
            }
        }
    }
    // A route inside another (the chat shell around a room) loads after its parent: its pack,
    // when the parent's was the page's, holds only what the parent's did not.
    let mut after: HashMap<&str, (&str, Option<String>)> = HashMap::new();
    for (parent, children) in nested {
        let parent_split = find_split(&splits, parent)?;
        let loaded: std::collections::HashSet<&String> = members_of(parent_split).into_iter().collect();
        for child in children {
            let child_split = find_split(&splits, child)?;
            let rest: Vec<&String> = members_of(child_split).into_iter().filter(|m| !loaded.contains(m)).collect();
            let stem = format!("pack_{}_in_{}", child_split.trim_start_matches('_'), parent.trim_start_matches('_'));
            let pack = write_pack(pkg_dir, &stem, &rest)?;
            // The server preloads a nested route's modules with its parent's: the rest only.
            manifest.insert(child_split.to_string(), pack.clone().map_or_else(|| rest.into_iter().cloned().collect(), |p| vec![p]));
            after.insert(child_split, (parent_split, pack));
        }
    }
    for split in &splits {
        let own = packs.get(split.as_str());
        let nested = after.get(split.as_str());
        if own.is_none() && nested.is_none() {
            continue;
        }
        let quoted = |name: Option<&String>| name.map_or_else(|| "null".to_string(), |n| format!("\"./{n}.wasm\""));
        let choice = match nested {
            Some((parent, pack)) => format!(
                "first === null ? {} : first === {} ? {} : null",
                quoted(own),
                quoted(packs.get(parent)),
                quoted(pack.as_ref())
            ),
            None => format!("first === null ? {} : null", quoted(own)),
        };
        // The split's loader, wrapped so that it asks for its pack first.
        let export = format!("export const __wasm_split_load_{split} = ");
        let inner = format!("__unpacked_{split}");
        if !loader.contains(&export) {
            return Err(format!("the loader has no `{export}`").into());
        }
        loader = loader.replace(&export, &format!("const {inner} = "));
        wrappers.push_str(&format!(
            "export const __wasm_split_load_{split} = (callback, data) => {{ usePack({choice}); return {inner}(callback, data); }};\n"
        ));
    }
    // Every module is fetched through `fetchModule`, which takes it from the pack when it can.
    let fetches = loader.matches("fetch(new URL(").count();
    let loader = loader.replace("fetch(new URL(", "fetchModule(").replace(", import.meta.url))", ")");
    if loader.matches("fetchModule(").count() != fetches || loader.contains("import.meta.url") {
        return Err("the loader's fetches are not in the expected form".into());
    }
    // The splitter's comments (which pages use each chunk) are a sixth of the loader.
    let loader: String = loader.lines().filter(|line| !(line.starts_with("/*") && line.ends_with("*/"))).map(|line| format!("{line}\n")).collect();
    let loader = compact_loaders(&loader)?;
    // After the import of the main module (the first line), before the loaders.
    let (imports, rest) = loader.split_once('\n').ok_or("the loader is empty")?;
    Ok((format!("{imports}\n{PACK_LOADER}{rest}{wrappers}"), manifest))
}

/// The loader's five-line block per module, written out 326 times, as data instead.
///
/// Each chunk's block (`const __chunk_7 = makeLoad(() => { fetch and instantiate
/// "./chunk_7.<hash>.wasm" }, []);`) becomes a hash in one list, and each split point's list of
/// the chunks it needs (`[__chunk_24, __chunk_25, ...]`) a string of number ranges
/// (`"24-25,..."`). Same loads, in the same order, memoised the same way: every first load
/// 5,766 -> 4,669 B brotli (2026-11-29). A block of any other shape is an error, not skipped.
fn compact_loaders(loader: &str) -> Result<String, Box<dyn std::error::Error>> {
    const INSTANTIATE: &str = "    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));";
    let lines: Vec<&str> = loader.lines().collect();
    let mut hashes: Vec<String> = Vec::new();
    let mut out = String::new();
    let mut helpers_at = None;
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at];
        let chunk = line.strip_prefix("const __chunk_").and_then(|l| l.strip_suffix(" = makeLoad(() => {"));
        let split = line.strip_prefix("const __unpacked_").and_then(|l| l.strip_suffix(" = wrapAsyncCb(makeLoad(() => {"));
        if chunk.is_none() && split.is_none() {
            out.push_str(line);
            out.push('\n');
            at += 1;
            continue;
        }
        let block = lines.get(at + 1..at + 5).ok_or("a loader block ends early")?;
        let file = block[0].strip_prefix("    const src = fetchModule(\"./").and_then(|l| l.strip_suffix(".wasm\");"));
        let (Some(file), INSTANTIATE, "}") = (file, block[1], block[2]) else {
            return Err(format!("a loader block of an unknown shape: {:?}", &lines[at..at + 5]).into());
        };
        helpers_at.get_or_insert(out.len());
        if let Some(number) = chunk {
            let index: usize = number.parse()?;
            let hash = file.strip_prefix(&format!("chunk_{index}.")).ok_or_else(|| format!("chunk {index} is fetched from {file}"))?;
            if block[3] != ", []);" || hash.contains(' ') {
                return Err(format!("chunk {index} has dependencies or an odd name").into());
            }
            if hashes.len() <= index {
                hashes.resize(index + 1, String::new());
            }
            hashes[index] = hash.to_string();
        } else if let Some(name) = split {
            let list = block[3].strip_prefix(", [").and_then(|l| l.strip_suffix("]));")).ok_or("a split point's dependencies are not a list")?;
            let numbers = list
                .split(", ")
                .filter(|d| !d.is_empty())
                .map(|d| d.strip_prefix("__chunk_").and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| format!("{d} is not a chunk")))
                .collect::<Result<Vec<_>, _>>()?;
            out.push_str(&format!("const __unpacked_{name} = wrapAsyncCb(load(\"{file}\", \"{}\"));\n", number_ranges(&numbers)));
        }
        at += 5;
    }
    let helpers = format!(
        r#"const chunkHashes = "{}".split(" ");
const chunkLoads = [];
const instantiate = (name) => {{ const src = fetchModule(`./${{name}}.wasm`); return async (imports) => WebAssembly.instantiateStreaming(src, imports); }};
const chunk = (i) => chunkLoads[i] ??= makeLoad(() => instantiate(`chunk_${{i}}.${{chunkHashes[i]}}`), []);
const load = (name, ranges) => makeLoad(() => instantiate(name), ranges === "" ? [] : ranges.split(",").flatMap((range) => {{
    const [from, to = from] = range.split("-").map(Number);
    return Array.from({{ length: to - from + 1 }}, (_, k) => chunk(from + k));
}}));
"#,
        hashes.join(" ")
    );
    let at = helpers_at.ok_or("the loader loads nothing")?;
    if out.contains("__chunk_") {
        return Err("the loader names a chunk outside the blocks it was read from".into());
    }
    out.insert_str(at, &helpers);
    Ok(out)
}

/// `[1, 2, 3, 5, 7, 8]` as `"1-3,5,7-8"`.
fn number_ranges(numbers: &[usize]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &n in numbers {
        match ranges.last_mut() {
            Some((_, to)) if n == *to + 1 => *to = n,
            _ => ranges.push((n, n)),
        }
    }
    ranges.iter().map(|&(from, to)| if from == to { from.to_string() } else { format!("{from}-{to}") }).collect::<Vec<_>>().join(",")
}

/// Writes `members` one after the other behind their index as `<stem>.<hash>.wasm`; its name,
/// or `None` (nothing written) for fewer than two modules.
fn write_pack(pkg_dir: &Path, stem: &str, members: &[&String]) -> Result<Option<String>, Box<dyn std::error::Error>> {
    if members.len() < 2 {
        return Ok(None);
    }
    let mut index = Vec::new();
    let mut body = Vec::new();
    for member in members {
        let module = std::fs::read(pkg_dir.join(format!("{member}.wasm")))?;
        index.push((format!("./{member}.wasm"), module.len()));
        body.extend(module);
    }
    let index = serde_json::to_vec(&index)?;
    let mut pack = u32::try_from(index.len())?.to_le_bytes().to_vec();
    pack.extend(index);
    pack.extend(body);
    let name = content_name(stem, &pack);
    std::fs::write(pkg_dir.join(format!("{name}.wasm")), pack)?;
    Ok(Some(name))
}

/// The split point whose name starts with `prefix` (after its leading underscores).
fn find_split<'a>(splits: &[&'a String], prefix: &str) -> Result<&'a str, Box<dyn std::error::Error>> {
    splits
        .iter()
        .find(|s| s.trim_start_matches('_').starts_with(prefix))
        .map(|s| s.as_str())
        .ok_or_else(|| format!("no split point named {prefix}…").into())
}

/// The loader's part that reads packs (see [`name_by_content_and_pack`]).
const PACK_LOADER: &str = r#"// Added by huddle-wasm-split: a page's first visit takes its modules from packs.
let first = null;
const packs = [];
function usePack(name) {
    if (name === null) return;
    first ??= name;
    packs.push(fetch(new URL(name, import.meta.url)).then(async (response) => {
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
    }).catch(() => new Map()));
}
function fetchModule(name) {
    const own = () => fetch(new URL(name, import.meta.url));
    if (packs.length === 0) return own();
    // A pack that did not arrive is no reason to fail the page: each module is fetched alone.
    return Promise.all(packs).then((all) => {
        for (const modules of all) {
            const bytes = modules.get(name);
            if (bytes !== undefined) {
                modules.delete(name);
                return new Response(bytes, { headers: { "content-type": "application/wasm" } });
            }
        }
        return own();
    });
}
"#;

/// `wasm` without its custom sections (names, producers, target features): none is needed to run
/// it. `None` if it is not a well-formed sequence of sections.
fn without_custom_sections(wasm: &[u8]) -> Option<Vec<u8>> {
    map_sections(wasm, |id, body| Some((id != 0).then(|| body.to_vec())))
}

const DATA_SECTION: u8 = 11;

/// The size of section `id`'s body, if `wasm` has one.
fn section_len(wasm: &[u8], id: u8) -> Option<usize> {
    let mut len = None;
    map_sections(wasm, |section, body| {
        if section == id {
            len = Some(body.len());
        }
        Some(None)
    })?;
    len
}

/// An unsigned LEB128 number of up to 32 bits at `at` (a section or name length), and the index
/// just past it.
fn leb128(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let (value, end) = leb128_u64(bytes, at)?;
    Some((usize::try_from(u32::try_from(value).ok()?).ok()?, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing a function, a memory with a maximum, and a global, named as
    /// wasm-bindgen names them.
    fn module() -> Vec<u8> {
        let mut imports = vec![3];
        for (module, name, desc) in [
            ("./huddle_bg.js", "__wbg_close_294d3f727cb7a844", vec![0u8, 5]),
            ("wbg", "memory", vec![2, 1, 17, 0x80, 0x02]),
            ("./huddle_bg.js", "__wbindgen_init_externref_table", vec![3, 0x7f, 0]),
        ] {
            imports.push(module.len() as u8);
            imports.extend(module.as_bytes());
            imports.push(name.len() as u8);
            imports.extend(name.as_bytes());
            imports.extend(desc);
        }
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend([1, 4, 1, 0x60, 0, 0]); // a type section
        wasm.push(2);
        push_leb128(&mut wasm, imports.len());
        wasm.extend(imports);
        wasm.extend([0, 3, 1, b'x', 9]); // a custom section after it
        wasm
    }

    #[test]
    fn renames_only_shim_imports_and_keeps_every_other_byte() {
        let mut seen = Vec::new();
        let out = rewrite_import_names(&module(), |name| {
            seen.push(name.to_string());
            is_shim_name(name).then(|| "_0".to_string())
        })
        .unwrap();
        assert_eq!(seen, ["__wbg_close_294d3f727cb7a844", "memory", "__wbindgen_init_externref_table"]);
        let expected = String::from_utf8_lossy(&module()).replace("__wbg_close_294d3f727cb7a844", "_0");
        assert_eq!(String::from_utf8_lossy(&out).len(), expected.len());
        // Renamed back, the module is byte for byte the original.
        let back = rewrite_import_names(&out, |name| (name == "_0").then(|| "__wbg_close_294d3f727cb7a844".to_string())).unwrap();
        assert_eq!(back, module());
    }

    #[test]
    fn numbers_become_ranges_in_their_order() {
        assert_eq!(number_ranges(&[1, 2, 3, 5, 7, 8]), "1-3,5,7-8");
        assert_eq!(number_ranges(&[4]), "4");
        assert_eq!(number_ranges(&[]), "");
        assert_eq!(number_ranges(&[3, 1, 2]), "3,1-2");
    }

    const BLOCKS: &str = "import { initSync } from \"./huddle.js\";
const __chunk_2 = makeLoad(() => {
    const src = fetchModule(\"./chunk_2.0a0b0c0d.wasm\");
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
const __chunk_3 = makeLoad(() => {
    const src = fetchModule(\"./chunk_3.01020304.wasm\");
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
const __unpacked_page = wrapAsyncCb(makeLoad(() => {
    const src = fetchModule(\"./split_page.aabbccdd.wasm\");
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_2, __chunk_3]));
export const x = 1;
";

    #[test]
    fn loader_blocks_become_data() {
        let compact = compact_loaders(BLOCKS).unwrap();
        assert!(compact.starts_with("import { initSync } from \"./huddle.js\";\nconst chunkHashes = \"  0a0b0c0d 01020304\".split"), "{compact}");
        assert!(compact.contains("const __unpacked_page = wrapAsyncCb(load(\"split_page.aabbccdd\", \"2-3\"));\nexport const x = 1;\n"), "{compact}");
        assert!(!compact.contains("__chunk_"));
    }

    #[test]
    fn a_loader_block_of_another_shape_is_refused() {
        assert!(compact_loaders(&BLOCKS.replace(", []);", ", [__chunk_9]);")).is_err());
        assert!(compact_loaders(&BLOCKS.replace("instantiateStreaming(src", "instantiate(src")).is_err());
        assert!(compact_loaders(&BLOCKS.replace("[__chunk_2, __chunk_3]", "[__chunk_2, other]")).is_err());
        assert!(compact_loaders("import x;\n").is_err());
    }

    /// A module with a function table and an externref table, exporting the externref table
    /// under wasm-bindgen's name as table `index`.
    fn with_tables(index: u8) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend([4, 8, 2, 0x70, 0, 1, 0x6f, 1, 2, 3]); // funcref min 1; externref min 2 max 3
        let name = b"__wbindgen_externrefs";
        let mut exports = vec![2, 1, b'f', 0, 0, name.len() as u8];
        exports.extend(name);
        exports.extend([1, index]);
        wasm.push(7);
        push_leb128(&mut wasm, exports.len());
        wasm.extend(exports);
        wasm
    }

    #[test]
    fn the_externref_export_is_pointed_at_the_externref_table() {
        let dir = std::env::temp_dir().join(format!("huddle-wasm-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("main.wasm");
        std::fs::write(&path, with_tables(0)).unwrap();
        assert!(externref_export(&path).unwrap(), "table 0 is the function table");
        assert_eq!(std::fs::read(&path).unwrap(), with_tables(1));
        assert!(!externref_export(&path).unwrap(), "already right: nothing written");
        std::fs::write(&path, module()).unwrap();
        assert!(externref_export(&path).is_err(), "no externref table");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_section_is_measured() {
        let mut wasm = module();
        assert_eq!(section_len(&wasm, DATA_SECTION), None);
        wasm.extend([DATA_SECTION, 3, 1, 1, 0]);
        assert_eq!(section_len(&wasm, DATA_SECTION), Some(3));
        assert_eq!(section_len(&wasm, 1), Some(4));
    }

    #[test]
    fn a_malformed_module_is_refused() {
        let mut wasm = module();
        wasm.truncate(wasm.len() - 20);
        assert!(rewrite_import_names(&wasm, |_| None).is_none());
    }

    #[test]
    fn shim_names_are_told_apart() {
        assert!(is_shim_name("__wbg_addEventListener_3f1a2b9c0d4e5f60"));
        assert!(!is_shim_name("__wbg_ptr"));
        assert!(!is_shim_name("__wbindgen_cast_0000000000000001"));
        assert!(!is_shim_name("__wbg__3F1A2B9C0D4E5F60"));
        assert_eq!(base36(0), "0");
        assert_eq!(base36(36 * 36 + 35), "10z");
    }
}
