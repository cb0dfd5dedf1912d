//! Target folders on a host (`ssh://`, a real OpenSSH server) and in a
//! container (`docker://`, a real Docker engine): NetBox's three folders
//! copied from one to the other in both strategies, byte for byte with
//! nothing stale left, `rollback` bringing the previous content back; a
//! hostile archive refused before anything reaches the host; a run killed
//! while the host unpacks leaving the live folder as it was; a host that
//! cannot be reached named by `plan`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::artifacts::reseal;
use crate::support::docker::Container;
use crate::support::hostile_tar::cases;
use crate::support::media_tree::{
    Node, big_tree, hostile_names, hostile_path, kept_target, tree, write,
};
use crate::support::ssh::SshHost;
use crate::support::{Replicate, manifest_folder, wait_until_gone};

/// NetBox's folders, as the manifest names them.
const FOLDERS: [&str; 3] = ["media", "scripts", "reports"];

/// Where the container sees its volume: NetBox's folders below it.
const NETBOX: &str = "/opt/netbox/netbox";

/// One side's three folders: their URLs and where the test reads them.
struct Side {
    urls: Vec<String>,
    paths: Vec<PathBuf>,
}

impl Side {
    /// Folders on the test's SSH host below `root`.
    fn on_host(host: &SshHost, root: &Path) -> Self {
        let paths: Vec<PathBuf> = FOLDERS.iter().map(|f| root.join(f)).collect();
        Side {
            urls: paths.iter().map(|p| host.url(p)).collect(),
            paths,
        }
    }

    /// Folders in `container`, each a volume mounted there as
    /// netbox-docker mounts them; `volumes` here.
    fn in_container(container: &Container, volumes: &Path) -> Self {
        Side {
            urls: FOLDERS
                .iter()
                .map(|f| format!("docker://{}{NETBOX}/{f}", container.name))
                .collect(),
            paths: FOLDERS.iter().map(|f| volumes.join(f)).collect(),
        }
    }

    /// What each folder holds, leaving out the contents replicate keeps
    /// inside a folder that is a mount point.
    fn trees(&self) -> Vec<BTreeMap<PathBuf, Node>> {
        self.paths
            .iter()
            .map(|p| {
                let mut found = tree(p);
                found.retain(|path, _| !path.starts_with(".replicate-prev"));
                found
            })
            .collect()
    }

    /// Whether each folder's previous content is kept, beside it or, for a
    /// mount point, inside it.
    fn previous_kept(&self) -> bool {
        self.paths.iter().all(|p| {
            p.join(".replicate-prev").is_dir()
                || p.with_file_name(format!(
                    "{}.replicate-prev",
                    p.file_name().unwrap().to_string_lossy()
                ))
                .is_dir()
        })
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A manifest copying the three folders (no database) with `strategy`.
fn manifest(host: &SshHost, source: &Side, target: &Side, strategy: &str) -> String {
    let side = |side: &Side| -> String {
        FOLDERS
            .iter()
            .zip(&side.urls)
            .map(|(f, url)| format!("{f} = {}\n", toml_string(url)))
            .collect()
    };
    format!(
        "version = 1\n\
         [source]\ndatabase = \"postgresql://netbox@db.invalid/netbox\"\n{}\
         [target]\ndatabase = \"postgresql://netbox@db2.invalid/netbox\"\n{}\
         strategy = \"{strategy}\"\n\
         [include]\ndatabase = \"none\"\nmedia = true\nscripts = true\nreports = true\n\
         [tools]\nssh_config = {}\n",
        side(source),
        side(target),
        toml_string(&host.config().display().to_string()),
    )
}

fn replicate(dir: &Path, args: &[&str]) -> crate::support::Run {
    Replicate::new().current_dir(dir).args(args).run()
}

/// Copies `source` to `target` with `replace`, then, the source changed,
/// with `swap`; `rollback` then brings the first copy back.
fn copies_both_ways(host: &SshHost, source: &Side, target: &Side, marker: &Path) {
    for path in &target.paths {
        write(&path.join("stale.txt"), b"old", 0o644, 1);
    }
    let dir = manifest_folder(&manifest(host, source, target, "replace"));
    let dir = dir.path();
    replicate(dir, &["plan"])
        .success()
        .stdout_has(&format!("{} holds", target.urls[0]));
    replicate(dir, &["apply", "--auto-approve"]).success();
    assert_eq!(target.trees(), source.trees(), "replace: the copy differs");
    assert!(!marker.exists(), "a name ran as a command");
    let first = target.trees();

    write(&source.paths[0].join("new.png"), b"new", 0o644, 5);
    write(&source.paths[1].join("a.py"), b"changed", 0o600, 6);
    fs::remove_dir_all(source.paths[2].join("empty-folder")).ok();
    fs::write(
        dir.join("replicate.toml"),
        manifest(host, source, target, "swap"),
    )
    .unwrap();
    replicate(dir, &["apply", "--auto-approve"]).success();
    assert_eq!(target.trees(), source.trees(), "swap: the copy differs");
    assert!(target.previous_kept(), "the previous content was not kept");
    let second = target.trees();
    replicate(dir, &["verify", "--media"])
        .success()
        .stdout_has("ok ");

    replicate(dir, &["rollback", "--auto-approve"]).success();
    assert_eq!(
        target.trees(),
        first,
        "rollback: the first copy is not back"
    );
    replicate(dir, &["rollback", "--auto-approve"]).success();
    assert_eq!(target.trees(), second, "a second rollback did not undo it");
    assert!(!marker.exists(), "a name ran as a command");
}

/// A container with the three folders below `volumes` mounted as
/// netbox-docker mounts its volumes: each folder a mount point.
fn netbox_container(volumes: &Path) -> Container {
    let inside: Vec<String> = FOLDERS.iter().map(|f| format!("{NETBOX}/{f}")).collect();
    let paths: Vec<PathBuf> = FOLDERS.iter().map(|f| volumes.join(f)).collect();
    let mounts: Vec<(&Path, &str)> = paths
        .iter()
        .map(PathBuf::as_path)
        .zip(inside.iter().map(String::as_str))
        .collect();
    Container::with_mounts(&mounts)
}

/// The three source folders below `root`, with hostile names.
fn source_folders(root: &Path, marker: &Path) {
    for f in FOLDERS {
        hostile_names(&root.join(f), marker);
    }
}

#[test]
fn folders_go_from_an_ssh_host_into_a_container_in_both_strategies() {
    let host = SshHost::start();
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("marker");
    let root = hostile_path(work.path(), &marker);
    source_folders(&root, &marker);
    let volume = work.path().join("volume");
    let container = netbox_container(&volume);
    copies_both_ways(
        &host,
        &Side::on_host(&host, &root),
        &Side::in_container(&container, &volume),
        &marker,
    );
    // Each folder is a mount point there: its previous content is inside.
    for f in FOLDERS {
        assert!(volume.join(f).join(".replicate-prev").is_dir(), "{f}");
    }
}

#[test]
fn folders_go_from_a_container_to_an_ssh_host_in_both_strategies() {
    let host = SshHost::start();
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("marker");
    let volume = work.path().join("volume");
    source_folders(&volume, &marker);
    let container = netbox_container(&volume);
    let root = hostile_path(work.path(), &marker);
    copies_both_ways(
        &host,
        &Side::in_container(&container, &volume),
        &Side::on_host(&host, &root),
        &marker,
    );
}

/// A media-only manifest from a local folder to `target`.
fn media_manifest(
    host: &SshHost,
    source: &Path,
    target: &str,
    strategy: &str,
) -> tempfile::TempDir {
    manifest_folder(&format!(
        "version = 1\n\
         [source]\ndatabase = \"postgresql://netbox@db.invalid/netbox\"\nmedia = {}\n\
         [target]\ndatabase = \"postgresql://netbox@db2.invalid/netbox\"\nmedia = {}\n\
         strategy = \"{strategy}\"\n\
         [include]\ndatabase = \"none\"\n\
         [tools]\nssh_config = {}\n",
        toml_string(&source.display().to_string()),
        toml_string(target),
        toml_string(&host.config().display().to_string()),
    ))
}

/// The test's SSH host, a work folder, and in it a local `media` source
/// folder with `big` files of 8 MiB besides the usual tree.
fn host_and_source(big: u32) -> (SshHost, tempfile::TempDir, PathBuf) {
    let host = SshHost::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("media");
    big_tree(&source, big);
    (host, work, source)
}

#[test]
fn a_hostile_archive_is_refused_before_anything_reaches_the_host() {
    let (host, work, source) = host_and_source(0);
    let (target, before) = kept_target(work.path());
    let dir = media_manifest(&host, &source, &host.url(&target), "replace");
    let artifacts = dir.path().join(".replicate");
    replicate(
        dir.path(),
        &["apply", "--auto-approve", "--steps", "archive"],
    )
    .success();

    for case in cases() {
        let what = &case.what;
        fs::write(artifacts.join("netbox_media.tar"), case.archive()).unwrap();
        reseal(&artifacts, &["netbox_media.tar"]);
        let sent_before = host.commands();
        replicate(
            dir.path(),
            &["apply", "--auto-approve", "--steps", "extract"],
        )
        .code(1)
        .stderr_has("the archive is refused");
        let sent = &host.commands()[sent_before.len()..];
        assert!(
            !sent.contains("tar -x"),
            "{what}: the host was sent something to unpack:\n{sent}"
        );
        assert_eq!(tree(&target), before, "{what}: the target changed");
        assert!(
            !target.with_file_name("target.replicate-next").exists(),
            "{what}: something was written beside the target"
        );
    }
    // The log sees an unpack when there is one.
    replicate(dir.path(), &["apply", "--auto-approve"]).success();
    assert!(
        host.commands().contains("tar -x"),
        "the log missed the unpack"
    );
    assert_eq!(tree(&target), tree(&source), "the copy differs");
}

#[test]
fn a_run_killed_while_the_host_unpacks_leaves_the_live_folder_and_resume_finishes() {
    // Large enough that the host is still unpacking when the run is killed.
    let (host, work, source) = host_and_source(16);
    let (target, before) = kept_target(work.path());
    let dir = media_manifest(&host, &source, &host.url(&target), "replace");
    let mut run = Replicate::new()
        .current_dir(dir.path())
        .args(["apply", "--auto-approve"])
        .spawn();
    // Killed once the host has unpacked a first big file beside the folder.
    let next = target.with_file_name("target.replicate-next");
    let deadline = Instant::now() + Duration::from_secs(120);
    while fs::read_dir(next.join("big")).map_or(0, Iterator::count) == 0 {
        if !run.is_running() || Instant::now() > deadline {
            panic!("the host never unpacked:\n{}", run.stop_and_read());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    run.kill();
    wait_until_gone(&["ssh", "-p", &host.port.to_string()]);
    assert_eq!(tree(&target), before, "the live folder changed");
    let unpacked = fs::read_dir(next.join("big")).map_or(0, Iterator::count);
    assert!(
        unpacked < 16,
        "the kill came after the unpack ({unpacked} files)"
    );

    replicate(dir.path(), &["apply", "--auto-approve", "--resume"]).success();
    assert_eq!(tree(&target), tree(&source), "the copy differs");
    assert!(
        !target.with_file_name("target.replicate-next").exists(),
        "the new content was left beside the folder"
    );
}

#[test]
fn plan_names_a_target_host_it_cannot_reach_and_a_parent_that_is_not_there() {
    let (host, work, source) = host_and_source(0);

    let closed = crate::support::free_port();
    let unreachable = format!("ssh://root@127.0.0.1:{closed}/srv/media");
    let dir = media_manifest(&host, &source, &unreachable, "swap");
    replicate(dir.path(), &["plan"])
        .code(1)
        .stderr_has(&format!(
            "cannot reach the target media folder {unreachable}"
        ))
        .stderr_has("ssh -o BatchMode=yes");

    // A file system too small for the new content beside the live one.
    let small = work.path().join("small");
    fs::create_dir_all(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8k", "none"])
        .arg(&small)
        .status()
        .expect("mount runs (the tests run as root)");
    assert!(
        mounted.success(),
        "mount -t tmpfs failed: the tests run as root"
    );
    let dir = media_manifest(&host, &source, &host.url(&small.join("media")), "swap");
    let planned = replicate(dir.path(), &["plan"]);
    let _ = std::process::Command::new("umount").arg(&small).status();
    planned
        .success()
        .stdout_has("less than the source's")
        .stdout_has("extract will run out of room");

    let nowhere = host.url(&work.path().join("no such folder/media"));
    let dir = media_manifest(&host, &source, &nowhere, "swap");
    replicate(dir.path(), &["plan"])
        .code(1)
        .stderr_has("does not exist");
}

#[test]
fn a_host_that_fails_before_reading_the_archive_fails_extract_at_once() {
    // More than a pipe holds, so that a sender nobody reads would block.
    let (host, work, source) = host_and_source(1);
    let (target, before) = kept_target(work.path());
    let dir = media_manifest(&host, &source, &host.url(&target), "replace");
    host.refuse_unpacking();
    let mut run = Replicate::new()
        .current_dir(dir.path())
        .args(["apply", "--auto-approve"])
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(120);
    while run.is_running() {
        if Instant::now() > deadline {
            panic!("extract hung:\n{}", run.stop_and_read());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    run.finish()
        .code(1)
        .stderr_has("unpacking refused by the test")
        .stderr_has("the target folders were not touched");
    assert_eq!(tree(&target), before, "the target changed");
}
