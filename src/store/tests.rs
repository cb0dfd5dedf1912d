//! The artifacts folder's sums, verified and forgotten.

use std::fs;

use super::*;

#[test]
fn records_verifies_and_names_the_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = ArtifactsDir::new(dir.path());
    fs::create_dir(dir.path().join("db.dir")).unwrap();
    fs::write(dir.path().join("db.dir/toc.dat"), b"toc").unwrap();
    fs::write(dir.path().join("db.dir/1.dat"), b"rows").unwrap();
    fs::write(dir.path().join("db_media.tar"), b"tar").unwrap();
    for name in ["db.dir", "db_media.tar"] {
        let (sums, _) = hash_tree(&artifacts.join(name), name).unwrap();
        artifacts.record(name, &sums).unwrap();
    }
    let sums = artifacts.read_sums().unwrap();
    assert_eq!(sums.len(), 3);
    assert_eq!(artifacts.verify_artifact("db.dir", &sums), Ok(7));

    fs::write(dir.path().join("db.dir/1.dat"), b"rowz").unwrap();
    assert!(matches!(
        artifacts.verify_artifact("db.dir", &sums),
        Err(Mismatch::Changed { path, .. }) if path == "db.dir/1.dat"
    ));
    fs::write(dir.path().join("db.dir/1.dat"), b"rows").unwrap();
    fs::write(dir.path().join("db.dir/extra.dat"), b"x").unwrap();
    assert_eq!(
        artifacts.verify_artifact("db.dir", &sums),
        Err(Mismatch::Unexpected("db.dir/extra.dat".into()))
    );
    fs::remove_file(dir.path().join("db_media.tar")).unwrap();
    assert_eq!(
        artifacts.verify_artifact("db_media.tar", &sums),
        Err(Mismatch::Missing("db_media.tar".into()))
    );

    artifacts.forget("db.dir").unwrap();
    let sums = artifacts.read_sums().unwrap();
    assert_eq!(sums.keys().collect::<Vec<_>>(), vec!["db_media.tar"]);
    assert!(!dir.path().join("db.dir").exists());
    assert_eq!(
        artifacts.verify_artifact("db.dir", &sums),
        Err(Mismatch::NotListed("db.dir".into()))
    );
}

#[test]
fn prefix_of_another_artifact_does_not_belong() {
    assert!(belongs_to("db.dir/1.dat", "db.dir"));
    assert!(belongs_to("db.sql", "db.sql"));
    assert!(!belongs_to("db.sql.gz", "db.sql"));
    assert!(!belongs_to("db.dir2/x", "db.dir"));
}
