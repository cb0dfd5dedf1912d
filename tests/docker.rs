//! `docker://` folders against a real Docker engine: a source folder in a
//! running container packed there and copied byte for byte, names passed
//! as data, a container that is not there named by `plan`.

use std::path::Path;

use crate::support::docker::Container;
use crate::support::media_tree::{assert_applied_as_here, hostile_tree};
use crate::support::{Replicate, manifest_folder};

/// Where the test's folder is mounted in the container.
const INSIDE: &str = "/opt/netbox/netbox/media";

/// A media-only manifest from `source` to the local `target`.
fn manifest(source: &str, target: &Path) -> tempfile::TempDir {
    manifest_folder(&format!(
        "version = 1\n\
         [source]\ndatabase = \"postgresql://netbox@db.invalid/netbox\"\nmedia = {}\n\
         [target]\ndatabase = \"postgresql://netbox@db2.invalid/netbox\"\nmedia = {}\n\
         [include]\ndatabase = \"none\"\n",
        toml::Value::String(source.to_owned()),
        toml::Value::String(target.display().to_string()),
    ))
}

#[test]
fn a_folder_in_a_container_is_copied_byte_for_byte() {
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("marker");
    let source = work.path().join("volume");
    let target = hostile_tree(&source, &marker);
    let container = Container::start(&source, INSIDE);

    let url = format!("docker://{}{INSIDE}", container.name);
    let dir = manifest(&url, &target);
    Replicate::new()
        .current_dir(dir.path())
        .args(["plan"])
        .run()
        .success()
        .stdout_has(&format!("{url} holds"));
    assert_applied_as_here(dir.path(), &source, &target, &marker);
}

#[test]
fn plan_names_a_container_that_is_not_there() {
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("marker");
    let m = marker.display();
    // Docker refuses such a name; replicate passes it on as it is, as
    // data: the commands in it never run, here or anywhere.
    let name = format!("no such $(touch {m}) `touch {m}`; touch {m}\n'\"x");
    let url = format!("docker://{name}{INSIDE}");
    let dir = manifest(&url, &work.path().join("target"));
    Replicate::new()
        .current_dir(dir.path())
        .args(["plan"])
        .run()
        .code(1)
        .stderr_has("cannot reach the source media folder docker://no such $(touch")
        .stderr_has("docker exec -i --");
    assert!(!marker.exists(), "a command in the container's name ran");
}
