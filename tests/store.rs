//! Artifacts in an object store, against a real S3-compatible server: one
//! machine publishes, another restores, sharing only the bucket.

use std::fs;

use crate::support::media_tree::tree;
use crate::support::s3::{S3, SECRET_KEY};
use crate::support::scenario::{Scenario, TableLock, wait_for_blocked_dump};

const BUCKET: &str = "artifacts";

/// The manifest's `[artifacts]` lines for the store and a cache.
fn store_lines(prefix: &str, cache: &str) -> String {
    format!("dir = \"s3://{BUCKET}/{prefix}\"\ncache = \"{cache}\"\n")
}

/// Points the scenario's manifest at another cache (another machine).
fn use_cache(s: &Scenario, from: &str, to: &str) {
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&text.replace(&format!("cache = \"{from}\""), &format!("cache = \"{to}\"")));
}

const PRODUCE: [&str; 4] = ["apply", "--auto-approve", "--steps", "dump,archive"];
const RESUME: [&str; 5] = [
    "apply",
    "--auto-approve",
    "--resume",
    "--steps",
    "dump,archive",
];
const CONSUME: [&str; 4] = [
    "apply",
    "--auto-approve",
    "--steps",
    "verify,create,restore,check,extract,swap",
];

/// The lock id a refused run names in its `force-unlock` hint.
fn lock_id(stderr: &str) -> String {
    stderr
        .split("force-unlock ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_hexdigit()).next())
        .unwrap_or_else(|| panic!("no lock id in: {stderr}"))
        .to_owned()
}

#[test]
fn one_machine_publishes_another_restores_sharing_only_the_bucket() {
    let s3 = S3::start(BUCKET);
    for format in ["directory", "custom", "plain", "stream"] {
        let s = Scenario::new(format, &store_lines(format, ".cache-producer"));
        let (source_media, target_media) = s.add_media(10);
        let plan = s3
            .replicate(s.dir.path())
            .args(["plan"])
            .run()
            .success()
            .stdout_has(&format!(
                "Artifacts s3://{BUCKET}/{format}, cached in .cache-producer"
            ))
            .stdout_has(&format!("writes s3://{BUCKET}/{format}/netbox_media.tar"));
        assert!(
            !plan.stdout().contains(SECRET_KEY),
            "the secret key was shown"
        );

        // The producer cannot reach the target, nor has its password.
        let manifest = fs::read_to_string(s.manifest()).unwrap();
        let nowhere = |var: &str| format!("postgresql://postgres:${{{var}}}@127.0.0.1:1/netbox");
        let (source_url, target_url) = (s.pair.source.url("netbox"), s.pair.target.url("netbox"));
        s.write_manifest(&manifest.replace(&target_url, &nowhere("STAGING_PASSWORD")));
        s3.replicate(s.dir.path()).args(PRODUCE).run().success();
        // Everything the consumer needs is in the bucket.
        let keys = s3.keys(BUCKET, format);
        for wanted in [
            "SHA256SUMS",
            "state.json",
            "source.json",
            "netbox_media.tar",
            "netbox_media.sha256",
        ] {
            assert!(
                keys.iter().any(|k| k == &format!("{format}/{wanted}")),
                "{format}: no {wanted} in {keys:?}"
            );
        }
        assert!(!keys.iter().any(|k| k.ends_with("lock")), "{keys:?}");

        // Another machine: an empty cache of its own, no way to the source
        // (nor its password, nor its media folder).
        s.write_manifest(
            &manifest
                .replace(&source_url, &nowhere("PRODUCTION_PASSWORD"))
                .replace(".cache-producer", ".cache-consumer"),
        );
        fs::remove_dir_all(s.dir.path().join(".cache-producer")).unwrap();
        let published = s.dir.path().join("published-media");
        fs::rename(&source_media, &published).unwrap();
        let run = s3.replicate(s.dir.path()).args(CONSUME).run().success();
        s.assert_replica_matches();
        assert_eq!(tree(&target_media), tree(&published), "{format}");
        for text in [run.stdout(), run.stderr()] {
            assert!(!text.contains(SECRET_KEY), "the secret key was shown");
        }
        // A second consumer run finds its cache current: nothing to fetch.
        let cached = s.dir.path().join(".cache-consumer");
        let before = fs::metadata(cached.join("netbox_media.tar"))
            .unwrap()
            .modified()
            .unwrap();
        s3.replicate(s.dir.path()).args(["verify"]).run().success();
        let after = fs::metadata(cached.join("netbox_media.tar"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(
            before, after,
            "{format}: a current cached file was downloaded again"
        );
    }
}

#[test]
fn a_changed_or_missing_object_is_named_and_the_target_left_alone() {
    let s3 = S3::start(BUCKET);
    let s = Scenario::new("custom", &store_lines("nightly", ".cache-a"));
    s.add_media(4);
    s3.replicate(s.dir.path()).args(PRODUCE).run().success();
    use_cache(&s, ".cache-a", ".cache-b");

    // The dump changed in the bucket after it was published.
    let status = s3.put(BUCKET, "nightly/netbox.dump", b"not a dump");
    assert!(status < 300, "{status}");
    s3.replicate(s.dir.path())
        .args(["verify"])
        .run()
        .code(1)
        .stdout_has(&format!(
            "s3://{BUCKET}/nightly/netbox.dump does not match SHA256SUMS"
        ));
    let run = s3.replicate(s.dir.path()).args(CONSUME).run().code(1);
    assert!(
        run.stderr_flat().contains("does not match SHA256SUMS"),
        "{}",
        run.stderr()
    );
    s.assert_target_untouched();

    // And deleted.
    let status = s3.delete(BUCKET, "nightly/netbox.dump");
    assert!(status < 300, "{status}");
    s3.replicate(s.dir.path())
        .args(["verify"])
        .run()
        .code(1)
        .stdout_has(&format!("s3://{BUCKET}/nightly/netbox.dump is missing"));
    s3.replicate(s.dir.path()).args(CONSUME).run().code(1);
    s.assert_target_untouched();
}

#[test]
fn the_lock_is_an_object_and_a_lost_producer_is_unlocked_by_hand() {
    let s3 = S3::start(BUCKET);
    let s = Scenario::new("directory", &store_lines("locked", ".cache"));
    s.add_media(16);
    // The producer waits on a locked table, holding the store's lock.
    let lock = TableLock::hold(&s.pair.source, "dcim_device");
    let producer = s3.replicate(s.dir.path()).args(PRODUCE).spawn();
    wait_for_blocked_dump(&s.pair.source);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !s3.keys(BUCKET, "locked").iter().any(|k| k == "locked/lock") {
        assert!(std::time::Instant::now() < deadline, "no lock object");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A second producer (another machine: its own cache) is refused.
    use_cache(&s, ".cache", ".cache-2");
    let second = s3.replicate(s.dir.path()).args(PRODUCE).run().code(1);
    let stderr = second.stderr_flat();
    assert!(stderr.contains("another run holds"), "{stderr}");
    assert!(
        stderr.contains(&format!("s3://{BUCKET}/locked/lock")),
        "{stderr}"
    );

    // The producer is killed: no dump object appears, and its lock stays.
    producer.signal(libc::SIGKILL);
    let _ = producer.finish();
    drop(lock);
    let keys = s3.keys(BUCKET, "locked");
    assert!(
        !keys.iter().any(|k| k.starts_with("locked/netbox.dir")),
        "an incomplete dump is in the bucket: {keys:?}"
    );
    let refused = s3
        .replicate(s.dir.path())
        .args(["apply", "--auto-approve", "--steps", "dump,archive"])
        .run()
        .code(1);
    let stderr = refused.stderr_flat();
    let id = lock_id(&stderr);
    s3.replicate(s.dir.path())
        .args(["force-unlock", "0000deadbeef"])
        .run()
        .code(1);
    s3.replicate(s.dir.path())
        .args(["force-unlock", &id])
        .run()
        .success()
        .stdout_has("Removed the lock");
    use_cache(&s, ".cache-2", ".cache");
    s3.replicate(s.dir.path()).args(RESUME).run().success();
    use_cache(&s, ".cache", ".cache-3");
    s3.replicate(s.dir.path()).args(CONSUME).run().success();
    s.assert_replica_matches();

    // No credential anywhere replicate wrote.
    for entry in walkdir::WalkDir::new(s.dir.path()) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let bytes = fs::read(entry.path()).unwrap();
            assert!(
                !bytes
                    .windows(SECRET_KEY.len())
                    .any(|w| w == SECRET_KEY.as_bytes()),
                "the secret key is in {}",
                entry.path().display()
            );
        }
    }
}

#[test]
fn a_producer_killed_mid_upload_leaves_no_object_and_resume_finishes() {
    let s3 = S3::start(BUCKET);
    let s = Scenario::new("directory", &store_lines("killed", ".cache"));
    // 80 MiB of media: the archive goes up in parts, more than the 64 MiB
    // replicate may hold.
    let (source_media, target_media) = s.add_media(80);
    let stall = s3.stall_at("partNumber=");
    let producer = s3
        .replicate_through(s.dir.path(), stall.port)
        .args(PRODUCE)
        .spawn();
    stall.wait();
    producer.signal(libc::SIGKILL);
    let _ = producer.finish();
    let keys = s3.keys(BUCKET, "killed");
    assert!(
        !keys.iter().any(|k| k.starts_with("killed/netbox_media")),
        "a half-uploaded archive is under its final name: {keys:?}"
    );

    // The lock of the killed run is freed by hand, then the run resumes.
    let refused = s3.replicate(s.dir.path()).args(PRODUCE).run().code(1);
    let id = lock_id(&refused.stderr_flat());
    s3.replicate(s.dir.path())
        .args(["force-unlock", &id])
        .run()
        .success();
    s3.replicate(s.dir.path()).args(RESUME).run().success();
    assert_flat_memory(&s.dir.path().join(".cache"));
    use_cache(&s, ".cache", ".cache-consumer");
    s3.replicate(s.dir.path()).args(CONSUME).run().success();
    assert_flat_memory(&s.dir.path().join(".cache-consumer"));
    s.assert_replica_matches();
    assert_eq!(tree(&target_media), tree(&source_media));
}

/// The run whose journal is in `cache` never held 64 MiB.
fn assert_flat_memory(cache: &std::path::Path) {
    let state: serde_json::Value =
        serde_json::from_slice(&fs::read(cache.join("state.json")).unwrap()).unwrap();
    let peak = state["resources"]["peak_rss_kib"]
        .as_u64()
        .expect("peak RSS recorded");
    assert!(peak < 64 * 1024, "replicate's peak RSS was {peak} KiB");
}

#[test]
fn keep_none_clears_each_cache_and_leaves_the_store_its_copy() {
    let s3 = S3::start(BUCKET);
    let s = Scenario::new(
        "custom",
        &format!("{}keep = \"none\"\n", store_lines("kept", ".cache-a")),
    );
    s3.replicate(s.dir.path())
        .args(["apply", "--auto-approve", "--steps", "dump"])
        .run()
        .success();
    assert!(!s.dir.path().join(".cache-a/netbox.dump").exists());
    assert!(
        s3.keys(BUCKET, "kept")
            .iter()
            .any(|k| k == "kept/netbox.dump")
    );
    use_cache(&s, ".cache-a", ".cache-b");
    s3.replicate(s.dir.path())
        .args([
            "apply",
            "--auto-approve",
            "--steps",
            "verify,create,restore,check,swap",
        ])
        .run()
        .success();
    s.assert_replica_matches();
    assert!(!s.dir.path().join(".cache-b/netbox.dump").exists());
    assert!(
        s3.keys(BUCKET, "kept")
            .iter()
            .any(|k| k == "kept/netbox.dump")
    );
}
