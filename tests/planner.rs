//! The planner over every combination of manifest options: the invariants of
//! the README's step graph hold as properties of the graph.

use std::collections::BTreeSet;
use std::path::Path;

use replicate::manifest::Manifest;
use replicate::manifest::SourceFile;
use replicate::plan::{self, Plan, StepId};

struct Options {
    database: &'static str,
    media: bool,
    invalidate_source: bool,
    invalidate_target: bool,
    format: &'static str,
    compression: &'static str,
    terminate: bool,
    owners: bool,
    strategy: &'static str,
}

fn manifest_text(o: &Options) -> String {
    let mut text = String::from(
        "version = 1\n[source]\ndatabase = \"postgresql://netbox:${SRC}@prod/netbox\"\nmedia = \"/opt/netbox/media\"\n",
    );
    if o.invalidate_source {
        text.push_str("invalidate = [\"python3\", \"manage.py\", \"clearcache\"]\n");
    }
    text.push_str("[target]\ndatabase = \"postgresql://netbox@staging/netbox\"\nmedia = \"/srv/netbox/media\"\n");
    if o.invalidate_target {
        text.push_str("invalidate = [\"python3\", \"manage.py\", \"reindex\", \"--lazy\"]\n");
    }
    text.push_str(&format!("terminate_connections = {}\n", o.terminate));
    text.push_str(&format!("strategy = \"{}\"\n", o.strategy));
    text.push_str(&format!(
        "[include]\ndatabase = \"{}\"\nmedia = {}\nowners = {}\n",
        o.database, o.media, o.owners
    ));
    text.push_str(&format!(
        "[artifacts]\nformat = \"{}\"\ncompression = \"{}\"\n",
        o.format, o.compression
    ));
    text
}

fn plan_for(o: &Options) -> Option<(Manifest, Plan)> {
    let text = manifest_text(o);
    let env = |name: &str| (name == "SRC").then(|| "pw".to_owned());
    match Manifest::parse(
        SourceFile::new("replicate.toml", text),
        Path::new("/etc/replicate/replicate.toml"),
        &env,
    ) {
        Ok(m) => {
            let p = plan::plan(&m, None, None).expect("the planner builds a DAG");
            Some((m, p))
        }
        Err(d) => {
            assert!(
                o.database == "none" && !o.media,
                "unexpected manifest error: {d}"
            );
            assert_eq!(d.code_name(), "manifest::nothing-to-do");
            None
        }
    }
}

fn every_combination() -> Vec<Options> {
    let mut all = Vec::new();
    for database in ["full", "schema", "none"] {
        for media in [true, false] {
            for invalidate_source in [true, false] {
                for invalidate_target in [true, false] {
                    for format in ["directory", "custom", "plain", "stream"] {
                        for compression in ["none", "gzip", "zstd"] {
                            for terminate in [true, false] {
                                for owners in [true, false] {
                                    for strategy in ["swap", "replace"] {
                                        all.push(Options {
                                            database,
                                            media,
                                            invalidate_source,
                                            invalidate_target,
                                            format,
                                            compression,
                                            terminate,
                                            owners,
                                            strategy,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    all
}

fn unordered(plan: &Plan, a: StepId, b: StepId) -> bool {
    !plan.ancestors(a).contains(&b) && !plan.ancestors(b).contains(&a)
}

#[test]
fn invariants_hold_for_every_combination() {
    let mut planned = 0;
    for o in every_combination() {
        let Some((manifest, plan)) = plan_for(&o) else {
            continue;
        };
        planned += 1;
        let ids: BTreeSet<StepId> = plan.steps().map(|s| s.id).collect();
        let has_db = o.database != "none";
        let swap = o.strategy == "swap";

        // Steps exist exactly when the manifest asks for them.
        let mut expected = BTreeSet::from([StepId::Verify]);
        if has_db {
            expected.extend([StepId::Dump, StepId::Create, StepId::Restore, StepId::Check]);
            if !swap {
                expected.insert(StepId::Drop);
            }
        }
        if swap {
            expected.insert(StepId::Swap);
        }
        if o.media {
            expected.extend([StepId::Archive, StepId::Extract]);
        }
        if o.invalidate_source {
            expected.insert(StepId::InvalidateSource);
        }
        if o.invalidate_target {
            expected.insert(StepId::InvalidateTarget);
        }
        assert_eq!(ids, expected, "{}", manifest_text(&o));

        // Invariant 1: nothing destructive before every artifact exists and
        // verify has passed.
        let producers: BTreeSet<StepId> = plan
            .steps()
            .filter(|s| !s.produces.is_empty())
            .map(|s| s.id)
            .collect();
        for step in plan.steps().filter(|s| s.is_destructive()) {
            let before = plan.ancestors(step.id);
            assert!(
                before.contains(&StepId::Verify),
                "{} before verify",
                step.id
            );
            assert!(
                producers.is_subset(&before),
                "{} may start before {:?}",
                step.id,
                producers.difference(&before).collect::<Vec<_>>()
            );
        }
        // Under swap, the swap also waits for the proof of the new
        // database and for every new folder.
        if swap {
            let before = plan.ancestors(StepId::Swap);
            for id in [StepId::Check, StepId::Extract] {
                if ids.contains(&id) {
                    assert!(before.contains(&id), "swap before {id}");
                }
            }
        }
        // `check` follows `restore`.
        if has_db {
            assert!(plan.ancestors(StepId::Check).contains(&StepId::Restore));
        }
        // Every step that touches the target waits for verify; but under
        // swap, the stream format builds the new database (not the live
        // one) while the dump writes, and only `check` and `swap` wait.
        let streams = swap && o.format == "stream";
        if streams && has_db && o.database == "full" {
            assert!(!plan.ancestors(StepId::Restore).contains(&StepId::Dump));
        }
        for id in StepId::ALL.iter().copied().filter(|id| id.touches_target()) {
            let follows_dump = streams && matches!(id, StepId::Create | StepId::Restore);
            if ids.contains(&id) && !follows_dump {
                assert!(plan.ancestors(id).contains(&StepId::Verify), "{id}");
            }
        }
        // verify checks everything that is produced, after it is produced.
        let verify = plan.step(StepId::Verify).unwrap();
        let produced: Vec<_> = plan.steps().flat_map(|s| s.produces.clone()).collect();
        assert_eq!(verify.consumes, produced);
        assert!(producers.is_subset(&plan.ancestors(StepId::Verify)));
        // Only swap destroys anything under swap; drop and extract under
        // replace.
        let destructive: BTreeSet<StepId> = plan
            .steps()
            .filter(|s| s.is_destructive())
            .map(|s| s.id)
            .collect();
        let may_destroy = if swap {
            BTreeSet::from([StepId::Swap])
        } else {
            BTreeSet::from([StepId::Drop, StepId::Extract])
        };
        assert_eq!(
            destructive,
            ids.intersection(&may_destroy).copied().collect()
        );

        // Invariant 2: independent branches are not ordered.
        if has_db && o.media {
            assert!(unordered(&plan, StepId::Dump, StepId::Archive));
            for id in [StepId::Drop, StepId::Create, StepId::Restore, StepId::Check] {
                if ids.contains(&id) {
                    assert!(unordered(&plan, id, StepId::Extract), "{id} vs extract");
                }
            }
        }

        // The run order respects every edge.
        let order: Vec<StepId> = plan.steps().map(|s| s.id).collect();
        for (before, after) in plan.edges() {
            let a = order.iter().position(|&x| x == before).unwrap();
            let b = order.iter().position(|&x| x == after).unwrap();
            assert!(a < b, "{before} -> {after} out of order");
        }
        // invalidate-target runs last; invalidate-source before any dump.
        if o.invalidate_target {
            assert_eq!(order.last(), Some(&StepId::InvalidateTarget));
            let all_but: BTreeSet<StepId> = ids
                .iter()
                .copied()
                .filter(|&i| i != StepId::InvalidateTarget && i != StepId::InvalidateSource)
                .filter(|&i| i != StepId::Archive && i != StepId::Dump)
                .collect();
            assert!(all_but.is_subset(&plan.ancestors(StepId::InvalidateTarget)));
        }
        if o.invalidate_source && has_db {
            assert!(
                plan.ancestors(StepId::Dump)
                    .contains(&StepId::InvalidateSource)
            );
        }

        // No secret in any step.
        let json = serde_json::to_string(&plan.steps().collect::<Vec<_>>()).unwrap();
        assert!(!json.contains("pw@"), "password in a step: {json}");
        assert!(!json.contains(":pw"), "password in a step: {json}");
        let _ = manifest;
    }
    assert!(planned > 1200, "only {planned} combinations planned");
}

fn full(strategy: &'static str) -> Plan {
    plan_for(&Options {
        database: "full",
        media: true,
        invalidate_source: true,
        invalidate_target: true,
        format: "directory",
        compression: "none",
        terminate: false,
        owners: false,
        strategy,
    })
    .unwrap()
    .1
}

#[test]
fn the_swap_graph_has_exactly_the_design_edges() {
    use StepId::*;
    let mut expected = vec![
        (InvalidateSource, Dump),
        (Dump, Verify),
        (Archive, Verify),
        (Verify, Create),
        (Create, Restore),
        (Restore, Check),
        (Check, Swap),
        (Verify, Extract),
        (Extract, Swap),
        (Swap, InvalidateTarget),
    ];
    expected.sort();
    assert_eq!(full("swap").edges(), expected);
}

#[test]
fn the_replace_graph_has_exactly_the_design_edges() {
    use StepId::*;
    let mut expected = vec![
        (InvalidateSource, Dump),
        (Dump, Verify),
        (Archive, Verify),
        (Verify, Drop),
        (Drop, Create),
        (Create, Restore),
        (Restore, Check),
        (Check, InvalidateTarget),
        (Verify, Extract),
        (Extract, InvalidateTarget),
    ];
    expected.sort();
    assert_eq!(full("replace").edges(), expected);
}

#[test]
fn media_only_invalidates_the_source_before_verify() {
    let (_, plan) = plan_for(&Options {
        database: "none",
        media: true,
        invalidate_source: true,
        invalidate_target: false,
        format: "directory",
        compression: "none",
        terminate: false,
        owners: false,
        strategy: "swap",
    })
    .unwrap();
    assert!(
        plan.dependencies(StepId::Verify)
            .contains(&StepId::InvalidateSource)
    );
    // No database step, so no database command at all.
    for step in plan.steps() {
        let json = serde_json::to_string(step).unwrap();
        assert!(!json.contains("postgresql://"), "{json}");
    }
}
