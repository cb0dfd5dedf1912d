//! The step graph as Graphviz DOT or Mermaid, written in a fixed order so
//! the output can be compared and snapshot-tested.

use std::fmt::Write;

use super::graph::Plan;
use super::step::StepId;

/// `digraph replicate { ... }`: every step, then every edge, sorted, the
/// "follows" edges last, dashed.
pub fn dot(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph replicate {{");
    let _ = writeln!(out, "    rankdir=LR;");
    let _ = writeln!(out, "    node [shape=box, fontname=\"Helvetica\"];");
    let mut steps: Vec<_> = plan.steps().collect();
    steps.sort_by_key(|s| s.id);
    for step in &steps {
        match &step.destroys {
            Some(what) => {
                let _ = writeln!(
                    out,
                    "    \"{}\" [color=red, fontcolor=red, label=\"{}\\n({})\"];",
                    step.id,
                    step.id,
                    dot_escape(what)
                );
            }
            None => {
                let _ = writeln!(out, "    \"{}\";", step.id);
            }
        }
    }
    for (before, after) in plan.edges() {
        let _ = writeln!(out, "    \"{before}\" -> \"{after}\";");
    }
    for (followed, follower) in plan.follows() {
        let _ = writeln!(
            out,
            "    \"{followed}\" -> \"{follower}\" [style=dashed, label=\"follows\"];"
        );
    }
    let _ = writeln!(out, "}}");
    out
}

/// A Mermaid flowchart, as GitHub renders it in a ```mermaid block; the
/// "follows" edges dotted.
pub fn mermaid(plan: &Plan) -> String {
    let node = |id: StepId| id.as_str().replace('-', "_");
    let mut out = String::new();
    let _ = writeln!(out, "flowchart LR");
    let mut steps: Vec<_> = plan.steps().collect();
    steps.sort_by_key(|s| s.id);
    for step in &steps {
        match &step.destroys {
            Some(what) => {
                let _ = writeln!(
                    out,
                    "    {}[\"{}<br/>({})\"]:::destructive",
                    node(step.id),
                    step.id,
                    mermaid_escape(what)
                );
            }
            None => {
                let _ = writeln!(out, "    {}[\"{}\"]", node(step.id), step.id);
            }
        }
    }
    for (before, after) in plan.edges() {
        let _ = writeln!(out, "    {} --> {}", node(before), node(after));
    }
    for (followed, follower) in plan.follows() {
        let _ = writeln!(
            out,
            "    {} -.->|follows| {}",
            node(followed),
            node(follower)
        );
    }
    let _ = writeln!(
        out,
        "    classDef destructive fill:#fde2e2,stroke:#c0392b,color:#7f1d1d"
    );
    out
}

/// Text inside a DOT double-quoted string.
fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Text inside a Mermaid quoted label.
fn mermaid_escape(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
