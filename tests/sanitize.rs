//! `[sanitize]` against real servers: the `netbox` preset on NetBox's 4.2
//! demo and on an older layout, rules of one's own in every format, and
//! the rules `plan` refuses, pointing at them.

use std::fs;
use std::path::Path;

use crate::support::netbox::load_release;
use crate::support::pg::{Cluster, Pair, netbox_demo_sql};
use crate::support::scenario::{Scenario, assert_replica_holds, assert_replica_matches};
use crate::support::{Replicate, Run};

/// Values planted in the source that must reach neither the artifacts nor
/// the target.
const SECRETS: [&str; 7] = [
    "PRODHASH",
    "PRODTOKEN",
    "PRODWEBHOOKSECRET",
    "PRODHEADER",
    "PRODURLTOKEN",
    "PRODGITPASS",
    "@prod.example.com",
];

/// Plants a secret of every kind the preset covers in the demo database.
fn plant_secrets(cluster: &Cluster) {
    cluster.sql(
        "netbox",
        "UPDATE users_user SET password = 'pbkdf2_sha256$870000$salt$PRODHASH' || id, \
                email = 'ops' || id || '@prod.example.com';\
         INSERT INTO users_token (id, created, expires, key, write_enabled, description, user_id, allowed_ips, last_used) \
           SELECT 9000 + id, now(), NULL, 'PRODTOKEN' || lpad(id::text, 31, '0'), true, '', id, NULL, NULL FROM users_user;\
         INSERT INTO extras_webhook (id, name, payload_url, http_method, http_content_type, additional_headers, body_template, secret, ssl_verification, ca_file_path, created, last_updated, custom_field_data, description) \
           VALUES (9001, 'prod hook', 'https://hooks.example.net/x?token=PRODURLTOKEN', 'POST', 'application/json', 'Authorization: Bearer PRODHEADER', '', 'PRODWEBHOOKSECRET', true, NULL, now(), now(), '{}', '');\
         INSERT INTO extras_eventrule (id, created, last_updated, custom_field_data, name, description, enabled, conditions, action_type, action_object_id, action_data, comments, action_object_type_id, event_types) \
           VALUES (9001, now(), now(), '{}', 'notify', '', true, NULL, 'webhook', 9001, NULL, '', \
                   (SELECT id FROM django_content_type WHERE app_label = 'extras' AND model = 'webhook'), '{object_created}');\
         INSERT INTO core_datasource (id, created, last_updated, custom_field_data, description, comments, name, type, source_url, status, enabled, ignore_rules, parameters, last_synced) \
           VALUES (9001, now(), now(), '{}', '', '', 'configs', 'git', 'https://deploy:PRODGITPASS@git.example.net/netbox.git', 'new', true, '', \
                   '{\"username\": \"deploy\", \"password\": \"PRODGITPASS2\", \"branch\": \"main\"}', NULL);\
         INSERT INTO core_job (id, object_id, name, created, scheduled, \"interval\", started, completed, status, data, job_id, object_type_id, user_id, error) \
           VALUES (9001, NULL, 'nightly', now(), now() + interval '1 day', 1440, NULL, NULL, 'scheduled', NULL, gen_random_uuid(), NULL, NULL, ''), \
                  (9002, NULL, 'done', now(), NULL, NULL, now(), now(), 'completed', NULL, gen_random_uuid(), NULL, NULL, '');",
    );
}

/// Every file below `dir`, each searched for every secret.
#[track_caller]
fn assert_no_secret_in(dir: &Path) {
    let mut files = 0;
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        files += 1;
        let bytes = fs::read(entry.path()).unwrap();
        for secret in SECRETS {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} is in {}",
                entry.path().display()
            );
        }
    }
    assert!(files > 3, "only {files} files in {}", dir.display());
}

fn manifest(dir: &Path, pair: &Pair, format: &str, extra: &str) {
    fs::write(
        dir.join("replicate.toml"),
        format!(
            "version = 1\n[source]\ndatabase = \"{}\"\n[target]\ndatabase = \"{}\"\n\
             [include]\nexclude_table_data = [\"core_objectchange\"]\n\
             [artifacts]\nformat = \"{format}\"\n{extra}",
            pair.source.url("netbox"),
            pair.target.url("netbox"),
        ),
    )
    .unwrap();
}

fn replicate(dir: &Path, args: &[&str]) -> Run {
    Replicate::new().current_dir(dir).args(args).run()
}

#[test]
fn the_netbox_preset_leaves_every_secret_on_the_demo_source() {
    let pair = Pair::start();
    for cluster in [&pair.source, &pair.target] {
        cluster.sql("postgres", "CREATE ROLE netbox LOGIN");
    }
    pair.source.create_database("netbox");
    pair.source.sql_file("netbox", netbox_demo_sql());
    plant_secrets(&pair.source);
    let dir = tempfile::tempdir().unwrap();
    manifest(
        dir.path(),
        &pair,
        "directory",
        "[sanitize]\npreset = \"netbox\"\n",
    );

    let out = replicate(dir.path(), &["plan"]).success().stdout_flat();
    assert!(
        out.contains("sanitize public.users_token (preset netbox): leaves out 6 of 6 rows"),
        "{out}"
    );
    assert!(
        out.contains("sanitize public.users_user (preset netbox): sets password, email on 6 rows"),
        "{out}"
    );
    assert!(out.contains("preset netbox rules skipped"), "{out}");
    replicate(dir.path(), &["apply", "--auto-approve"]).success();

    let t = |sql: &str| pair.target.sql("netbox", sql);
    assert_eq!(t("SELECT count(*) FROM users_token"), "0");
    assert_eq!(t("SELECT count(*) FROM django_session"), "0");
    assert_eq!(
        t("SELECT count(*) FROM users_user WHERE password NOT LIKE '!%'"),
        "0"
    );
    assert_eq!(t("SELECT count(*) FROM users_user"), "6");
    assert_eq!(
        t(
            "SELECT count(*) FROM users_user WHERE email NOT LIKE '%@example.invalid' AND email <> ''"
        ),
        "0"
    );
    assert_eq!(
        t("SELECT secret || additional_headers || '|' || payload_url FROM extras_webhook"),
        "|http://127.0.0.1:9/netbox-sanitized/9001"
    );
    assert_eq!(
        t("SELECT count(*) FROM extras_eventrule WHERE enabled"),
        "0"
    );
    assert_eq!(
        t("SELECT source_url || ' ' || parameters::text || ' ' || enabled FROM core_datasource"),
        "https://git.example.net/netbox.git {\"branch\": \"main\"} false"
    );
    assert_eq!(t("SELECT string_agg(name, ',') FROM core_job"), "done");
    assert_eq!(t("SELECT count(*) FROM extras_cachedvalue"), "0");
    // Everything else is the source's, constraints and all.
    assert_replica_holds(
        &pair.source,
        &pair.target,
        "netbox",
        &[
            ("users_token", 0),
            ("django_session", 0),
            ("extras_cachedvalue", 0),
            ("django_admin_log", 0),
            ("core_job", 1),
        ],
    );
    for secret in SECRETS {
        let found = t(&format!(
            "SELECT count(*) FROM (SELECT row_to_json(x)::text AS j FROM users_user x UNION ALL \
             SELECT row_to_json(x)::text FROM extras_webhook x UNION ALL \
             SELECT row_to_json(x)::text FROM core_datasource x) r WHERE j LIKE '%{secret}%'"
        ));
        assert_eq!(found, "0", "{secret} reached the target");
    }
    assert_no_secret_in(&dir.path().join(".replicate"));

    // The state and the plan say the dump is sanitized, and by what.
    let state: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join(".replicate/state.json")).unwrap(),
    )
    .unwrap();
    let sanitized = state["steps"]["dump"]["sanitized"].as_array().unwrap();
    assert!(
        sanitized
            .iter()
            .any(|s| s == "public.users_user (preset netbox)"),
        "{sanitized:?}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &replicate(dir.path(), &["plan", "--json"])
            .success()
            .stdout(),
    )
    .unwrap();
    let dump = &json["steps"][0]["action"];
    assert_eq!(dump["type"], "sanitized-dump", "{dump}");
    assert!(dump["tables"].as_array().unwrap().len() >= 8, "{dump}");
}

#[test]
fn the_netbox_preset_adapts_to_an_older_layout_in_every_format() {
    for format in ["plain", "custom", "directory", "stream"] {
        let pair = Pair::start();
        load_release(&pair.source, "netbox", "v3.7.8");
        let dir = tempfile::tempdir().unwrap();
        manifest(
            dir.path(),
            &pair,
            format,
            "[sanitize]\npreset = \"netbox\"\n",
        );
        let out = replicate(dir.path(), &["plan"]).success().stdout_flat();
        assert!(
            out.contains("sanitize public.auth_user (preset netbox): sets password on 25 rows"),
            "{out}"
        );
        replicate(dir.path(), &["apply", "--auto-approve"]).success();
        let t = |sql: &str| pair.target.sql("netbox", sql);
        assert_eq!(t("SELECT count(*) FROM users_token"), "0", "{format}");
        assert_eq!(t("SELECT count(*) FROM django_session"), "0", "{format}");
        assert_eq!(
            t("SELECT count(*) FROM auth_user WHERE password NOT LIKE '!%'"),
            "0"
        );
        assert_eq!(t("SELECT count(*) FROM auth_user"), "25");
        assert_replica_matches(
            &pair.source,
            &pair.target,
            "netbox",
            &["users_token", "django_session", "extras_cachedvalue"],
        );
        // No production password hash or token in any artifact.
        let hash = pair
            .source
            .sql("netbox", "SELECT password FROM auth_user WHERE id = 3");
        let token = pair
            .source
            .sql("netbox", "SELECT key FROM users_token WHERE id = 5");
        for entry in walkdir::WalkDir::new(dir.path().join(".replicate")) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let bytes = fs::read(entry.path()).unwrap();
                for secret in [&hash, &token] {
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "{format}: {secret} is in {}",
                        entry.path().display()
                    );
                }
            }
        }
    }
}

const OWN_RULES: &str = "[[sanitize.rules]]\n\
    table = \"users_user\"\n\
    set = { username = \"'person-' || id\", password = \"'!'\" }\n\
    [[sanitize.rules]]\n\
    table = \"public.extras_taggeditem\"\n\
    keep = \"tag_id % 2 = 0\"\n";

#[test]
fn rules_of_ones_own_set_and_keep_in_every_format() {
    for format in ["plain", "custom", "directory", "stream"] {
        let s = Scenario::new(format, OWN_RULES);
        let out = s.replicate().args(["plan"]).run().success().stdout_flat();
        assert!(
            out.contains("sanitize public.extras_taggeditem (rule 2): leaves out"),
            "{out}"
        );
        s.apply(&[]).success();
        let t = |sql: &str| s.pair.target.sql("netbox", sql);
        let source = |sql: &str| s.pair.source.sql("netbox", sql);
        assert_eq!(
            t(
                "SELECT count(*) FROM users_user WHERE username <> 'person-' || id OR password <> '!'"
            ),
            "0",
            "{format}"
        );
        assert_eq!(
            t("SELECT count(*) FROM extras_taggeditem"),
            source("SELECT count(*) FROM extras_taggeditem WHERE tag_id % 2 = 0"),
            "{format}"
        );
        assert_eq!(
            t("SELECT count(*) FROM extras_taggeditem WHERE tag_id % 2 = 1"),
            "0"
        );
        // `check` counted the sanitized rows (it passed), and verify
        // --target compares the same way later.
        s.replicate()
            .args(["verify", "--target"])
            .run()
            .success()
            .stdout_has("equals the dump");
        assert_eq!(
            t("SELECT count(*) FROM users_token"),
            source("SELECT count(*) FROM users_token")
        );
    }
}

/// Plans `rule` and returns the error.
fn refused(rule: &str) -> String {
    let s = Scenario::new("directory", rule);
    let run = s.replicate().args(["plan"]).run().code(1);
    s.assert_target_untouched();
    run.stderr_flat()
}

#[test]
fn plan_refuses_a_rule_that_cannot_work_pointing_at_it() {
    let stderr = refused("[[sanitize.rules]]\ntable = \"users_user\"\nset = { nosuch = \"1\" }\n");
    assert!(stderr.contains("has no column `nosuch`"), "{stderr}");
    assert!(stderr.contains("replicate.toml:"), "{stderr}");
    assert!(stderr.contains("no such column"), "{stderr}");

    let stderr = refused(
        "[[sanitize.rules]]\ntable = \"users_user\"\nset = { is_superuser = \"'yes' || id\" }\n",
    );
    assert!(
        stderr.contains("is of type text, which the column (boolean) does not accept"),
        "{stderr}"
    );
    assert!(stderr.contains("wrong type"), "{stderr}");

    let stderr = refused("[[sanitize.rules]]\ntable = \"users_user\"\nkeep = \"id <= 20\"\n");
    assert!(stderr.contains("users_token_user_id_fkey"), "{stderr}");
    assert!(stderr.contains("still reference"), "{stderr}");

    let stderr =
        refused("[[sanitize.rules]]\ntable = \"users_user\"\nset = { username = \"'same'\" }\n");
    assert!(stderr.contains("users_user_username_key"), "{stderr}");

    let stderr = refused("[[sanitize.rules]]\ntable = \"no_such_table\"\nkeep = \"false\"\n");
    assert!(
        stderr.contains("the source has no table `no_such_table`"),
        "{stderr}"
    );

    let stderr = refused("[[sanitize.rules]]\ntable = \"users_user\"\nkeep = \"id\"\n");
    assert!(
        stderr.contains("is of type integer, not boolean"),
        "{stderr}"
    );
}

#[test]
fn plan_refuses_a_login_for_a_user_the_source_lacks_or_keeps_inactive() {
    let s = Scenario::new(
        "directory",
        "[sanitize]\nlogins = { user2 = \"${DEV_LOGIN}\" }\n",
    );
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace("[target]\n", "[target]\nmanage = [\"true\"]\n"));
    let plan = |logins: &str| {
        let text = fs::read_to_string(s.manifest()).unwrap();
        let at = text.find("logins = ").unwrap();
        let end = at + text[at..].find('\n').unwrap();
        s.write_manifest(&format!("{}logins = {logins}{}", &text[..at], &text[end..]));
        s.replicate()
            .env("DEV_LOGIN", "dev-pass-1")
            .args(["plan", "--verbose"])
            .run()
    };
    let out = plan("{ user2 = \"${DEV_LOGIN}\" }").success().stdout_flat();
    assert!(out.contains("set the logins' passwords"), "{out}");
    assert!(
        out.contains("REPLICATE_LOGINS=***") && !out.contains("dev-pass-1"),
        "{out}"
    );

    let stderr = plan("{ nobody = \"${DEV_LOGIN}\" }").code(1).stderr_flat();
    assert!(
        stderr.contains("the source has no user `nobody`"),
        "{stderr}"
    );
    assert!(stderr.contains("no such user on the source"), "{stderr}");

    s.pair.source.sql("netbox", "ALTER TABLE users_user ADD COLUMN is_active boolean NOT NULL DEFAULT true; UPDATE users_user SET is_active = false WHERE username = 'user3'");
    let stderr = plan("{ user3 = \"${DEV_LOGIN}\" }").code(1).stderr_flat();
    assert!(
        stderr.contains("the user `user3` is not active on the source"),
        "{stderr}"
    );
    s.assert_target_untouched();
}
