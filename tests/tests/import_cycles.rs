//! No two files of a crate import each other, directly or round a loop
//! (issue 26): in the core `decide` owns the observer `explain` reads, and
//! the renderers share `render/kit.rs`, which `render/mod.rs` re-exports;
//! the std side's crates are held to the same.
//!
//! A file's imports are the `crate::…` and `super::…` paths in its code
//! (comments and string literals dropped, the test module at its end left
//! out: test fixtures may reach anywhere), and a parent's use of a child it
//! declares (`mod x;` then `x::…`). Each path counts as an import of the
//! file that defines the longest module prefix of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The core's source files by module path (`render::kit` for
/// `render/kit.rs`; the crate root is the empty path), test fixtures left
/// out.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the source folder is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    files
        .into_iter()
        .filter(|path| !path.starts_with(src.join("tests")))
        .map(|path| {
            let relative = path.strip_prefix(src).expect("below src");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            (parts, path)
        })
        .collect()
}

/// The code of a file: comments and string contents blanked, the trailing
/// `#[cfg(test)] mod tests` (or `pub(crate) mod tests`: a test module
/// whose assertions other tests share) cut off.
fn code(text: &str) -> String {
    let test_module = [
        "#[cfg(test)]\nmod tests",
        "#[cfg(test)]\npub(crate) mod tests",
    ]
    .iter()
    .filter_map(|m| text.find(m))
    .min();
    let text = match test_module {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every `prefix` path in `code`, as its segments (`crate::{a, b::c}` gives
/// `a` and `b::c`).
fn paths(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let item = item.split(" as ").next().unwrap_or("").trim();
                if !item.is_empty() {
                    found.push(item.split("::").map(|s| s.trim().to_owned()).collect());
                }
            }
            continue;
        }
        let end = rest
            .find(|c: char| !is_ident(c) && c != ':')
            .unwrap_or(rest.len());
        found.push(
            rest[..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    found
}

/// The file defining the longest module prefix of `path`.
fn owner<'m>(
    modules: &'m BTreeMap<Vec<String>, PathBuf>,
    path: &[String],
) -> Option<&'m Vec<String>> {
    (1..=path.len())
        .rev()
        .find_map(|n| modules.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// Each module's imports of other modules of the crate.
fn imports(src: &Path) -> BTreeMap<Vec<String>, Vec<Vec<String>>> {
    let modules = modules(src);
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let code = code(&std::fs::read_to_string(file).expect("a source file"));
        let mut targets: Vec<Vec<String>> = Vec::new();
        for path in paths(&code, "crate::") {
            targets.extend(owner(&modules, &path).cloned());
        }
        let parent = &module[..module.len().saturating_sub(1)];
        for path in paths(&code, "super::") {
            let full: Vec<String> = parent.iter().chain(&path).cloned().collect();
            targets.extend(owner(&modules, &full).cloned());
        }
        for line in code.lines() {
            let line = line.trim_start();
            let line = line.strip_prefix("pub ").unwrap_or(line);
            if let Some(child) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
                if code.contains(&format!("{child}::")) {
                    let full: Vec<String> =
                        module.iter().cloned().chain([child.to_owned()]).collect();
                    targets.extend(modules.get_key_value(&full).map(|(k, _)| k.clone()));
                }
            }
        }
        targets.retain(|t| t != module);
        targets.sort();
        targets.dedup();
        graph.insert(module.clone(), targets);
    }
    graph
}

/// A loop of imports, if there is one: the modules round it, the first
/// repeated at the end.
fn find_loop(graph: &BTreeMap<Vec<String>, Vec<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        graph: &BTreeMap<Vec<String>, Vec<Vec<String>>>,
        at: &Vec<String>,
        marks: &mut BTreeMap<Vec<String>, Mark>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        marks.insert(at.clone(), Mark::Open);
        stack.push(at.clone());
        for next in graph.get(at).into_iter().flatten() {
            match marks.get(next) {
                Some(Mark::Open) => {
                    let from = stack.iter().position(|m| m == next).unwrap_or(0);
                    let mut round = stack[from..].to_vec();
                    round.push(next.clone());
                    return Some(round);
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(round) = visit(graph, next, marks, stack) {
                        return Some(round);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(at.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for module in graph.keys() {
        if !marks.contains_key(module) {
            if let Some(round) = visit(graph, module, &mut marks, &mut Vec::new()) {
                return Some(round);
            }
        }
    }
    None
}

fn core_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src")
}

#[test]
fn the_core_has_no_loop_of_imports() {
    let graph = imports(&core_src());
    // The reader sees the files it must: a broken reader passes vacuously.
    let decide = vec!["decide".to_owned()];
    let explain = vec!["explain".to_owned()];
    assert!(graph[&explain].contains(&decide), "{graph:?}");
    assert!(graph.len() > 20, "{} modules", graph.len());
    if let Some(round) = find_loop(&graph) {
        let names: Vec<String> = round.iter().map(|m| m.join("::")).collect();
        panic!("a loop of imports: {}", names.join(" -> "));
    }
}

/// The std side too: the stand-in registry sits above the stand-ins, and
/// the gateway's worker and gate share a time module below both.
#[test]
fn no_crate_of_the_workspace_has_a_loop_of_imports() {
    for (crate_src, known) in [
        ("std-adapters/std/src", "ingest"),
        ("std-adapters/deliver/src", "kit"),
        ("std-adapters/standin/src", "cli"),
        ("std-adapters/gateway/src", "worker"),
        ("std-adapters/cli/src", "serve"),
    ] {
        let graph = imports(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(crate_src),
        );
        assert!(
            graph.contains_key(&vec![known.to_owned()]),
            "{crate_src}: {graph:?}"
        );
        if let Some(round) = find_loop(&graph) {
            let names: Vec<String> = round.iter().map(|m| m.join("::")).collect();
            panic!("{crate_src}: a loop of imports: {}", names.join(" -> "));
        }
    }
}

#[test]
fn a_loop_is_found_and_named() {
    let m = |s: &str| vec![s.to_owned()];
    let graph = BTreeMap::from([
        (m("decide"), vec![m("explain"), m("model")]),
        (m("explain"), vec![m("decide")]),
        (m("model"), vec![]),
    ]);
    assert_eq!(
        find_loop(&graph),
        Some(vec![m("decide"), m("explain"), m("decide")])
    );
    let mut acyclic = graph;
    acyclic.insert(m("explain"), vec![m("model")]);
    assert_eq!(find_loop(&acyclic), None);
}

#[test]
fn imports_are_read_from_code_not_comments_or_strings() {
    let code = code(
        "use crate::{decide::Reason, model as m};\n\
         // crate::render is only mentioned\n\
         const S: &str = \"crate::wire\";\n\
         fn f() { super::json::is_json_object(\"\"); }\n\
         #[cfg(test)]\nmod tests { use crate::testkit; }\n",
    );
    let crate_paths = paths(&code, "crate::");
    assert_eq!(
        crate_paths,
        vec![
            vec!["decide".to_owned(), "Reason".to_owned()],
            vec!["model".to_owned()]
        ]
    );
    assert_eq!(
        paths(&code, "super::"),
        vec![vec!["json".to_owned(), "is_json_object".to_owned()]]
    );
}
