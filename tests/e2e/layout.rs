//! The code's layout: a module imports only what lies below it in the data flow, so there is no
//! cycle and rendering never learns what a source is. ARCHITECTURE.md draws the same order.

use std::path::Path;

/// The top-level modules, lowest first: each may import only modules before it.
const LAYERS: &[&str] = &[
    "messages", "line", "parse", "source", "filter", "render", "term", "output", "keys", "mux",
    "cli", "config", "app",
];

/// Pairs (A, B) where A never imports B although B lies below it: the flow forks after the line,
/// into sources on one side and filtering and rendering on the other.
const APART: &[(&str, &str)] =
    &[("parse", "source"), ("filter", "source"), ("render", "source"), ("output", "source")];

/// The `crate::` modules that `code` refers to (comments left out).
fn imports(code: &str) -> Vec<String> {
    let code: String =
        code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the names at the group's first level.
            let (mut depth, mut name, mut first) = (0, String::new(), true);
            for c in group.chars() {
                if depth == 0 && first && (c.is_alphanumeric() || c == '_') {
                    name.push(c);
                    continue;
                }
                if !name.is_empty() {
                    found.push(std::mem::take(&mut name));
                    first = false;
                }
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => first = true,
                    _ => {}
                }
            }
            found.extend((!name.is_empty()).then_some(name));
        } else {
            let name: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.push(name);
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_import_only_what_lies_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let rank = LAYERS.iter().position(|l| *l == module);
        let Some(rank) = rank else {
            wrong.push(format!("{module} is not in LAYERS (nor in ARCHITECTURE.md?)"));
            continue;
        };
        for import in imports(&std::fs::read_to_string(&file).unwrap()) {
            if import == module {
                continue;
            }
            match LAYERS.iter().position(|l| *l == import) {
                Some(i) if i < rank && !APART.contains(&(module.as_str(), import.as_str())) => {}
                _ => wrong.push(format!("{} imports crate::{import}", rel.display())),
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the flow:\n{}", wrong.join("\n"));
}

#[test]
fn the_import_reader_reads_groups() {
    let code =
        "use crate::{keys, output::{Out, Output}, render::safe};\n// crate::app\nx(crate::term::y)";
    assert_eq!(imports(code), ["keys", "output", "render", "term"]);
}
