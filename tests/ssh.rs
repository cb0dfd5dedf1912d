//! `ssh://` folders against a real OpenSSH server: a source folder packed
//! on the host and copied byte for byte, hostile names passed as data, and
//! a host that cannot be reached named by `plan`, a stream refused and a
//! run killed mid-archive.

use std::fs;
use std::path::Path;

use crate::support::media_tree::{
    assert_applied_as_here, big_tree, hostile_path, hostile_tree, kept_target, tree, unique_bytes,
    write,
};
use crate::support::ssh::SshHost;
use crate::support::{Replicate, Run, apply_killed_during, manifest_folder, wait_until_gone};

/// A TOML string holding `text` exactly.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A media-only manifest from `source` to the local `target`.
fn manifest(host: &SshHost, source: &str, target: &Path) -> tempfile::TempDir {
    manifest_folder(&format!(
        "version = 1\n\
         [source]\ndatabase = \"postgresql://netbox@db.invalid/netbox\"\nmedia = {}\n\
         [target]\ndatabase = \"postgresql://netbox@db2.invalid/netbox\"\nmedia = {}\n\
         [include]\ndatabase = \"none\"\n\
         [tools]\nssh_config = {}\n",
        toml_string(source),
        toml_string(&target.display().to_string()),
        toml_string(&host.config().display().to_string()),
    ))
}

/// `replicate plan` in `dir`, which must fail.
fn plan_fails(dir: &tempfile::TempDir) -> Run {
    Replicate::new()
        .current_dir(dir.path())
        .args(["plan"])
        .run()
        .code(1)
}

#[test]
fn an_ssh_source_folder_with_hostile_names_is_copied_byte_for_byte() {
    let host = SshHost::start();
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("marker");
    // The folder's own path and its files' names carry shell syntax.
    let source = hostile_path(work.path(), &marker).join("media");
    let target = hostile_tree(&source, &marker);
    let dir = manifest(&host, &host.url(&source), &target);
    assert_applied_as_here(dir.path(), &source, &target, &marker);
}

#[test]
fn plan_names_a_host_it_cannot_reach_and_a_folder_that_is_not_there() {
    let host = SshHost::start();
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("target");

    // Nothing listens on this port.
    let closed = crate::support::free_port();
    let unreachable = format!("ssh://root@127.0.0.1:{closed}/srv/media");
    plan_fails(&manifest(&host, &unreachable, &target))
        .stderr_has(&format!(
            "cannot reach the source media folder {unreachable}"
        ))
        .stderr_has("ssh -o BatchMode=yes");

    let missing = host.url(&work.path().join("nothing here"));
    plan_fails(&manifest(&host, &missing, &target)).stderr_has("does not exist");

    // GNU tar would leave a socket out without failing: plan refuses it.
    let source = work.path().join("with a socket");
    fs::create_dir_all(&source).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(source.join("live.sock")).unwrap();
    plan_fails(&manifest(&host, &host.url(&source), &target)).stderr_has("./live.sock is a socket");
}

#[test]
fn a_refused_key_fails_plan_at_once_instead_of_asking() {
    let host = SshHost::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("media");
    fs::create_dir_all(&source).unwrap();
    let dir = manifest(&host, &host.url(&source), &work.path().join("target"));
    // The same configuration, but a key the host does not know.
    let changed = host.config_with_unknown_key(dir.path());
    let text = fs::read_to_string(dir.path().join("replicate.toml")).unwrap();
    let text = text.replace(
        &toml_string(&host.config().display().to_string()),
        &toml_string(&changed.display().to_string()),
    );
    fs::write(dir.path().join("replicate.toml"), text).unwrap();
    let started = std::time::Instant::now();
    plan_fails(&dir)
        .stderr_has("cannot reach the source media folder ssh://root@127.0.0.1")
        .stderr_has("Permission denied");
    assert!(
        started.elapsed().as_secs() < 30,
        "plan waited for an answer"
    );
}

#[test]
fn a_special_file_on_the_host_stops_archive_and_leaves_the_target() {
    let host = SshHost::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("media");
    // The pipe comes first; the host's tar still has megabytes to send
    // when replicate refuses it.
    let made = std::process::Command::new("mkfifo")
        .arg({
            fs::create_dir_all(&source).unwrap();
            source.join("0-pipe")
        })
        .status()
        .unwrap();
    assert!(made.success());
    write(
        &source.join("zz-big.bin"),
        &unique_bytes(16 << 20, 0),
        0o644,
        1,
    );
    let (target, before) = kept_target(work.path());
    let dir = manifest(&host, &host.url(&source), &target);
    Replicate::new()
        .current_dir(dir.path())
        .args(["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("0-pipe: it is a named pipe");
    assert_eq!(tree(&target), before, "the target changed");
    assert!(
        !dir.path().join(".replicate/netbox_media.tar").exists(),
        "a partial archive was kept"
    );
}

#[test]
fn a_run_killed_during_an_ssh_archive_leaves_nothing_running_and_resume_finishes() {
    let host = SshHost::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("media");
    big_tree(&source, 8);
    let (target, before) = kept_target(work.path());
    let dir = manifest(&host, &host.url(&source), &target);
    apply_killed_during(dir.path(), "archive", 60);
    assert!(
        !dir.path().join(".replicate/netbox_media.tar").exists(),
        "the archive was complete before the kill"
    );
    // The ssh client died with replicate.
    wait_until_gone(&["ssh", "-p", &host.port.to_string()]);
    assert_eq!(tree(&target), before, "the target changed");

    Replicate::new()
        .current_dir(dir.path())
        .args(["apply", "--auto-approve", "--resume"])
        .run()
        .success();
    assert_eq!(tree(&target), tree(&source), "the copy differs");
}
