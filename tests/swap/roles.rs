//! The target role: what it may do named at plan time, the copy given to
//! it, and its sessions ended by the swap but never autovacuum's.

use super::ROLE;
use crate::support::media_tree::tree;
use crate::support::scenario::Scenario;

#[test]
fn a_failing_create_leaves_the_target_database_and_folders_as_they_were() {
    let s = Scenario::new("directory", "");
    let (_, target) = s.add_media(0);
    s.as_owner_role(ROLE);
    let before = tree(&target);
    // The role loses CREATEDB while the dump waits on a lock: `plan` let it
    // through, `create` is refused.
    let blocked = s.apply_blocked_on("dcim_device");
    s.pair
        .target
        .sql("postgres", &format!("ALTER ROLE {ROLE} NOCREATEDB"));
    blocked
        .release()
        .finish()
        .code(1)
        .stderr_has("step `create` failed")
        .stderr_has("permission denied")
        .stderr_has("the database netbox and the media folder were not touched");
    s.assert_target_untouched();
    assert_eq!(tree(&target), before);
}

#[test]
fn two_applies_in_a_row_as_the_owner_role_end_sessions_but_never_autovacuum() {
    let s = Scenario::new("directory", "");
    s.as_owner_role(ROLE);
    s.edit_manifest(|text| {
        text.replace(
            "[include]",
            &format!("terminate_connections = true\nowner = \"{ROLE}\"\n[include]"),
        )
    });
    // Autovacuum wakes up at once on a freshly restored database.
    s.pair
        .target
        .sql("postgres", "ALTER SYSTEM SET autovacuum_naptime = '1s'");
    s.pair.target.sql("postgres", "SELECT pg_reload_conf()");
    s.apply(&[]).success();
    s.apply(&[]).success();
    s.assert_replica_matches();
    // The new database and its objects belong to the owner role.
    assert_eq!(
        s.pair.target.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'netbox'"
        ),
        ROLE
    );
    assert_eq!(
        s.pair.target.sql(
            "netbox",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'dcim_device'"
        ),
        ROLE
    );
}

#[test]
fn every_permission_problem_is_named_at_plan_time_before_anything_runs() {
    let s = Scenario::new("custom", "");
    s.as_owner_role(ROLE);
    let target = &s.pair.target;
    let refused = |what: &str| {
        s.apply(&[]).code(1).stderr_has(what);
        assert!(!s.artifacts().exists(), "{what}: a step ran");
        s.assert_target_untouched();
    };
    target.sql("postgres", &format!("ALTER ROLE {ROLE} NOCREATEDB"));
    refused("nb may not create databases: `create` (and the swap's renames) needs CREATEDB");
    target.sql("postgres", &format!("ALTER ROLE {ROLE} CREATEDB"));

    target.sql("postgres", "ALTER DATABASE netbox OWNER TO postgres");
    refused("nb does not own the target database netbox, so it may not rename it");
    target.sql(
        "postgres",
        &format!("ALTER DATABASE netbox OWNER TO {ROLE}"),
    );

    s.edit_manifest(|text| text.replace("[include]", "terminate_connections = true\n[include]"));
    target.sql("postgres", &format!("REVOKE pg_signal_backend FROM {ROLE}"));
    refused("nb may not end other sessions");
    target.sql("postgres", &format!("GRANT pg_signal_backend TO {ROLE}"));

    let text = std::fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[include]", "owner = \"nobody_here\"\n[include]"));
    refused("the owner role nobody_here does not exist on the target server");

    s.write_manifest(&text.replace("[include]", "owner = \"postgres\"\n[include]"));
    refused("nb may not give databases to postgres");

    // All fixed: it runs.
    s.write_manifest(&text);
    s.apply(&[]).success();
    s.assert_replica_matches();
}

/// Connecting as a superuser to replace a database that NetBox's own role
/// owns: without `owner`, the copy would belong to the superuser and NetBox
/// could no longer run `migrate`. `plan` refuses, naming the owner to set;
/// with it set, the role owns the copy and every table in it.
#[test]
fn a_copy_that_would_lock_the_owner_out_is_refused_until_owner_is_set() {
    let s = Scenario::new("custom", "");
    let target = &s.pair.target;
    target.sql("postgres", &format!("CREATE ROLE {ROLE} LOGIN"));
    target.sql(
        "postgres",
        &format!("ALTER DATABASE netbox OWNER TO {ROLE}"),
    );
    let refused = s.replicate().args(["plan"]).run().code(1);
    refused
        .stderr_has(&format!("the target database netbox belongs to {ROLE}"))
        .stderr_has(&format!("set `owner = \"{ROLE}\"` in [target]"));
    s.assert_target_untouched();

    s.edit_manifest(|text| text.replace("[target]\n", &format!("[target]\nowner = \"{ROLE}\"\n")));
    s.apply(&[]).success();
    s.assert_replica_matches();
    assert_eq!(
        target.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'netbox'"
        ),
        ROLE
    );
    assert_eq!(
        target.sql(
            "netbox",
            &format!("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '{ROLE}'")
        ),
        "0"
    );
}
