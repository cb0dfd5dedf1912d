//! A real NetBox on both sides (`support::netbox_live`), a package install
//! as the source and a classic checkout as the target: `replicate init`
//! pointed at the two installs, then `apply` of the manifest it wrote, with
//! no edit, in the directory, stream and custom formats; the target NetBox
//! serving the whole time. What the two NetBoxes serve is compared over
//! their REST API and pages.

use std::fs;
use std::path::Path;

use crate::support::Replicate;
use crate::support::media_tree::tree;
use crate::support::netbox::init_args;
use crate::support::netbox_live::{NetBox, ROLE, ROLE_PASSWORD, Redis, migrated_database};
use crate::support::pg::{Cluster, Pair};
use crate::support::root;

const SECRET: &str = "WEBHOOK-SECRET-7731";
const SOURCE_BANNER: &str = "SOURCE-BANNER-4471";
const TARGET_BANNER: &str = "TARGET-OLD-BANNER-9902";
/// The password `[sanitize] logins` gives alice on a sanitized copy.
const DEV_PASSWORD: &str = "dev-login-5521";

fn add_role(cluster: &Cluster) {
    cluster.sql(
        "postgres",
        &format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE_PASSWORD}'"),
    );
}

/// What `path` of the REST API returns, with the server's own address
/// taken out of the links.
fn api(netbox: &NetBox, path: &str, auth: &str) -> String {
    let (status, body) = netbox.get(path, Some(auth));
    assert_eq!(status, 200, "GET {path}: {body}");
    body.replace(&format!("http://127.0.0.1:{}", netbox.http_port), "")
        .replace("http://127.0.0.1", "")
}

fn replicate(dir: &Path, args: &[&str]) -> crate::support::Run {
    Replicate::new().current_dir(dir).args(args).run()
}

#[test]
fn init_then_apply_gives_a_target_netbox_serving_the_source_in_every_format() {
    let redis = Redis::start();
    let pair = Pair::start();
    add_role(&pair.source);
    add_role(&pair.target);
    let dir = tempfile::tempdir().unwrap();
    let (source_root, target_root) = (dir.path().join("prod"), dir.path().join("staging"));
    let mut source = NetBox::install(&source_root, pair.source.port, "netbox", &redis, 0);
    // The source a package install (4.7's way), the target a classic
    // checkout: `init` knows both.
    let mut target = NetBox::install_classic(&target_root, pair.target.port, "netbox", &redis, 4);
    migrated_database(&pair.source, "netbox", &source);
    migrated_database(&pair.target, "netbox", &target);

    // The source: objects made through NetBox, a custom script.
    let fill = fs::read_to_string(root().join("tests/fixtures/netbox-live/fill.py")).unwrap();
    let printed = source.shell(&fill);
    let auth = printed
        .lines()
        .find_map(|l| l.strip_prefix("AUTH="))
        .unwrap_or_else(|| panic!("no token printed: {printed}"))
        .to_owned();
    fs::write(
        source_root.join("scripts/hello.py"),
        "from extras.scripts import Script\n\n\nclass Hello(Script):\n    pass\n",
    )
    .unwrap();
    // The target: settings of its own, cached by its NetBox while it serves.
    target.shell(&format!(
        "from core.models import ConfigRevision\n\
         ConfigRevision.objects.create(data={{'BANNER_LOGIN': '{TARGET_BANNER}'}}).activate()"
    ));
    source.serve();
    target.serve();
    let (status, page) = target.get("/login/", None);
    assert_eq!(status, 200);
    assert!(page.contains(TARGET_BANNER), "{page}");

    // `replicate init ARGS` for the pair, the target's NetBox in `target_root`.
    let init = |args: &[&str], target_root: &Path| {
        let netbox = init_args(
            &pair.source.url("netbox"),
            &pair.target.url("netbox"),
            &source_root,
            target_root,
        );
        Replicate::new()
            .current_dir(dir.path())
            .args(["init"])
            .args(args)
            .args(netbox)
            .run()
    };
    for (i, format) in ["directory", "stream", "custom"].into_iter().enumerate() {
        let manifest = format!("replicate-{format}.toml");
        init(&["-m", &manifest, "--format", format], &target_root).success();
        let written = fs::read_to_string(dir.path().join(&manifest)).unwrap();
        assert!(
            written.contains(&format!("owner = \"{ROLE}\"")),
            "{written}"
        );
        // The checkout's own Python with its manage.py.
        assert!(
            written.contains("venv/bin/python3") && written.contains("netbox/manage.py"),
            "{written}"
        );
        if i == 0 {
            let plan = replicate(dir.path(), &["plan", "-m", &manifest]).success();
            let out = plan.stdout_flat();
            assert!(
                out.contains("the data holds 1 v2 API token: they work on the target only when its NetBox configuration has the source's API_TOKEN_PEPPERS"),
                "{out}"
            );
            assert!(
                out.contains("make the target's NetBox serve the copy: clear its cached configuration, then rebuild_config_context_cache"),
                "{out}"
            );
        }
        replicate(dir.path(), &["apply", "-m", &manifest, "--auto-approve"]).success();
        // Right after it, the live target equals the dump (what NetBox's
        // own actions rewrote is reported as rebuilt).
        replicate(dir.path(), &["verify", "-m", &manifest, "--target"]).success();

        // The first request after the swap answers, with the source's
        // settings: the cached configuration was cleared through NetBox.
        let (status, page) = target.get("/login/", None);
        assert_eq!(status, 200, "{format}: {page}");
        assert!(page.contains(SOURCE_BANNER), "{format}: {page}");
        assert!(!page.contains(TARGET_BANNER), "{format}");
        for path in [
            "/api/dcim/sites/?limit=100",
            "/api/dcim/devices/?limit=100",
            "/api/ipam/prefixes/?limit=100",
            "/api/ipam/ip-addresses/?limit=100",
            "/api/extras/webhooks/?limit=100",
        ] {
            let (want, have) = (api(&source, path, &auth), api(&target, path, &auth));
            assert!(want.contains("\"count\":"), "{path}: {want}");
            assert_eq!(want, have, "{format}: {path}");
        }
        // The role NetBox connects as owns every table: it can migrate.
        target.manage(&["migrate", "--check"]);
        assert_eq!(
            pair.target.sql(
                "netbox",
                &format!(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '{ROLE}'"
                )
            ),
            "0",
            "{format}"
        );
        for folder in ["media", "scripts"] {
            assert_eq!(
                tree(&source.folder(folder)),
                tree(&target.folder(folder)),
                "{format}: {folder}"
            );
        }
        if i == 0 {
            // Back to the previous copy: answered at once, with its settings.
            replicate(dir.path(), &["rollback", "-m", &manifest, "--auto-approve"]).success();
            let (status, page) = target.get("/login/", None);
            assert_eq!(status, 200, "after rollback: {page}");
            assert!(page.contains(TARGET_BANNER), "after rollback: {page}");
        }
    }

    // A row changed by hand afterwards is named.
    pair.target.sql(
        "netbox",
        "UPDATE dcim_site SET description = 'changed by hand' WHERE slug = 'site-1'",
    );
    replicate(
        dir.path(),
        &["verify", "-m", "replicate-custom.toml", "--target"],
    )
    .code(1)
    .stderr_has("dcim_site");

    // A sanitized copy: none of the source's tokens, password hashes,
    // sessions or webhook secrets on the target, and the login named in
    // the manifest lets its user in with the password from the environment.
    // This time `init` is given the target as a package install (its own
    // root, on the same database and cache): `manage` is its `netbox`
    // command.
    let package_root = dir.path().join("staging-package");
    let _package = NetBox::install(&package_root, pair.target.port, "netbox", &redis, 4);
    init(&["-m", "replicate-sanitized.toml"], &package_root).success();
    let written = fs::read_to_string(dir.path().join("replicate-sanitized.toml")).unwrap();
    assert!(
        written.contains("NETBOX_ROOT=") && written.contains("venv/bin/netbox"),
        "{written}"
    );
    fs::write(
        dir.path().join("replicate-sanitized.toml"),
        format!("{written}\n[sanitize]\npreset = \"netbox\"\nlogins = {{ alice = \"${{DEV_LOGIN}}\" }}\n"),
    )
    .unwrap();
    let sanitized = |args: &[&str]| {
        Replicate::new()
            .current_dir(dir.path())
            .env("DEV_LOGIN", DEV_PASSWORD)
            .args(args)
            .args(["-m", "replicate-sanitized.toml"])
            .run()
    };
    let plan = sanitized(&["plan", "--verbose"]).success();
    let out = plan.stdout_flat();
    assert!(out.contains("set the logins' passwords"), "{out}");
    assert!(out.contains("REPLICATE_LOGINS=***"), "{out}");
    assert!(!out.contains(DEV_PASSWORD), "{out}");
    let run = sanitized(&["apply", "--auto-approve"]).success();
    assert!(!run.stdout().contains(DEV_PASSWORD) && !run.stderr().contains(DEV_PASSWORD));
    sanitized(&["verify", "--target"]).success();
    let on = |cluster: &Cluster, sql: &str| cluster.sql("netbox", sql);
    assert_eq!(on(&pair.target, "SELECT count(*) FROM users_token"), "0");
    assert_eq!(on(&pair.target, "SELECT count(*) FROM django_session"), "0");
    assert_ne!(on(&pair.source, "SELECT count(*) FROM django_session"), "0");
    assert_eq!(
        on(
            &pair.target,
            &format!("SELECT count(*) FROM extras_webhook WHERE secret = '{SECRET}'")
        ),
        "0"
    );
    let hashes = "SELECT string_agg(password, ',' ORDER BY id) FROM users_user";
    let source_hashes = on(&pair.source, hashes);
    for hash in on(&pair.target, hashes).split(',') {
        assert!(!source_hashes.contains(hash), "a source hash on the target");
    }
    let login = |password: &str| {
        target.post_json(
            "/api/users/tokens/provision/",
            &format!("{{\"username\": \"alice\", \"password\": \"{password}\"}}"),
        )
    };
    let (status, body) = login(DEV_PASSWORD);
    assert_eq!(status, 201, "login with the manifest's password: {body}");
    let (status, _) = login("alice-pass-0");
    assert_ne!(status, 201, "the source's password still works");

    // `clean` leaves no copy of the webhook's secret, whatever ran before.
    let artifacts = dir.path().join(".replicate");
    assert!(!files_holding(&artifacts, SECRET).is_empty());
    sanitized(&["clean"]).success();
    assert_eq!(files_holding(&artifacts, SECRET), Vec::<String>::new());
    let left: Vec<String> = fs::read_dir(&artifacts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "lock")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    drop(target);
    drop(source);
    drop(redis);
}

/// The files under `folder` whose bytes hold `text`.
fn files_holding(folder: &Path, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(folder) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, text));
        } else if let Ok(bytes) = fs::read(&path)
            && bytes.windows(text.len()).any(|w| w == text.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    found
}
