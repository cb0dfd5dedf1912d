//! The layers depend one way (README, "Architecture"): a module never
//! names one above it, nor a neighbour on its own floor.

use crate::support::root;

/// The layers from the top down; the modules on one floor may not use each
/// other.
const FLOORS: &[&[&str]] = &[
    &["cli"],
    &["exec", "init"],
    &["plan"],
    &["manifest"],
    &["postgres", "store", "media", "netbox", "remote"],
    &["io", "display"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&module))
}

/// Every `crate::NAME` a source text uses.
fn uses(text: &str) -> Vec<&str> {
    text.match_indices("crate::")
        .map(|(at, _)| {
            let rest = &text[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// What `text`, a file of the layer `module`, uses that it may not.
fn violations(module: &str, text: &str) -> Vec<String> {
    let own = floor_of(module).expect("a layer");
    let mut wrong = Vec::new();
    for used in uses(text) {
        let Some(theirs) = floor_of(used) else {
            wrong.push(format!("crate::{used} is no layer"));
            continue;
        };
        if used != module && theirs <= own {
            let how = if theirs == own { "beside" } else { "above" };
            wrong.push(format!("uses crate::{used}, which is {how} {module}"));
        }
    }
    wrong
}

#[test]
fn no_module_uses_one_above_it_or_beside_it() {
    let src = root().join("src");
    let mut wrong = Vec::new();
    let mut files = 0;
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(&src).unwrap();
        let Some(top) = relative.components().next() else {
            continue;
        };
        let top = top.as_os_str().to_string_lossy();
        let module = top.trim_end_matches(".rs");
        if floor_of(module).is_none() {
            assert!(
                ["lib", "main"].contains(&module),
                "{} belongs to no layer: add it to FLOORS and to the README",
                relative.display()
            );
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(path).unwrap();
        for problem in violations(module, &text) {
            wrong.push(format!("{}: {problem}", relative.display()));
        }
    }
    assert!(files > 50, "only {files} source files read");
    assert!(wrong.is_empty(), "layers broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_finds_uses_going_up_or_sideways() {
    let text = "use crate::cli::Error;\nuse crate::plan::Plan;\nlet x = crate::io::sys::is_root();\nuse crate::media::archive;";
    assert_eq!(uses(text), vec!["cli", "plan", "io", "media"]);
    assert_eq!(
        violations("plan", text),
        vec!["uses crate::cli, which is above plan"]
    );
    assert_eq!(
        violations("store", text),
        vec![
            "uses crate::cli, which is above store",
            "uses crate::plan, which is above store",
            "uses crate::media, which is beside store",
        ]
    );
    assert!(violations("cli", text).is_empty());
}
