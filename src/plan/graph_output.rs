//! The step graph as Graphviz DOT or Mermaid, written in a fixed order so
//! the output can be compared and snapshot-tested.

use super::graph::Plan;
use super::step::{Step, StepId};

/// How one graph language writes the parts of the graph.
struct Notation {
    head: &'static [&'static str],
    node: fn(&Step) -> String,
    edge: fn(StepId, StepId) -> String,
    follows: fn(StepId, StepId) -> String,
    tail: &'static [&'static str],
}

/// The graph in `notation`: its head, every step sorted, every edge, the
/// "follows" edges last, its tail; a line each.
fn write(plan: &Plan, notation: &Notation) -> String {
    let mut steps: Vec<&Step> = plan.steps().collect();
    steps.sort_by_key(|s| s.id);
    let lines = notation.head.iter().map(|l| (*l).to_owned());
    let lines = lines
        .chain(steps.into_iter().map(notation.node))
        .chain(plan.edges().into_iter().map(|(a, b)| (notation.edge)(a, b)))
        .chain(
            plan.follows()
                .into_iter()
                .map(|(a, b)| (notation.follows)(a, b)),
        )
        .chain(notation.tail.iter().map(|l| (*l).to_owned()));
    lines.map(|l| l + "\n").collect()
}

/// `digraph replicate { ... }`: every step, then every edge, sorted, the
/// "follows" edges last, dashed.
pub fn dot(plan: &Plan) -> String {
    write(
        plan,
        &Notation {
            head: &[
                "digraph replicate {",
                "    rankdir=LR;",
                "    node [shape=box, fontname=\"Helvetica\"];",
            ],
            node: |step| match &step.destroys {
                Some(what) => format!(
                    "    \"{}\" [color=red, fontcolor=red, label=\"{}\\n({})\"];",
                    step.id,
                    step.id,
                    dot_escape(what)
                ),
                None => format!("    \"{}\";", step.id),
            },
            edge: |before, after| format!("    \"{before}\" -> \"{after}\";"),
            follows: |followed, follower| {
                format!("    \"{followed}\" -> \"{follower}\" [style=dashed, label=\"follows\"];")
            },
            tail: &["}"],
        },
    )
}

/// A Mermaid flowchart, as GitHub renders it in a ```mermaid block; the
/// "follows" edges dotted.
pub fn mermaid(plan: &Plan) -> String {
    write(
        plan,
        &Notation {
            head: &["flowchart LR"],
            node: |step| match &step.destroys {
                Some(what) => format!(
                    "    {}[\"{}<br/>({})\"]:::destructive",
                    mermaid_node(step.id),
                    step.id,
                    mermaid_escape(what)
                ),
                None => format!("    {}[\"{}\"]", mermaid_node(step.id), step.id),
            },
            edge: |before, after| {
                format!("    {} --> {}", mermaid_node(before), mermaid_node(after))
            },
            follows: |followed, follower| {
                format!(
                    "    {} -.->|follows| {}",
                    mermaid_node(followed),
                    mermaid_node(follower)
                )
            },
            tail: &["    classDef destructive fill:#fde2e2,stroke:#c0392b,color:#7f1d1d"],
        },
    )
}

/// A step's node name in Mermaid, which takes no `-`.
fn mermaid_node(id: StepId) -> String {
    id.as_str().replace('-', "_")
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
