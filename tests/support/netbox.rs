//! NetBox-shaped databases of a chosen release: the small NetBox-shaped
//! fixture, given the `django_migrations` a fresh install of that release
//! records (from the release table replicate ships) and the change log
//! table of that release's layout.

use std::ffi::OsString;
use std::path::Path;

use super::pg::Cluster;
use super::root;

const RELEASES: &str = include_str!("../../src/netbox/data/releases.txt");
const MIGRATIONS: &str = include_str!("../../src/netbox/data/migrations.tsv");

/// The `django_migrations` rows of a fresh install of `release`
/// (`v3.7.8`), as SQL.
pub fn migrations_sql(release: &str) -> String {
    let releases: Vec<&str> = RELEASES.lines().collect();
    let at = releases
        .iter()
        .position(|r| *r == release)
        .unwrap_or_else(|| panic!("{release} is not in the release table"));
    let mut values = vec![
        // Django's own apps are there too, and must be ignored.
        "('contenttypes', '0001_initial')".to_owned(),
        "('auth', '0001_initial')".to_owned(),
    ];
    for line in MIGRATIONS.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [app, name, first, last] = fields[..] else {
            continue;
        };
        let index = |r: &str| releases.iter().position(|x| *x == r).unwrap();
        if index(first) <= at && at <= index(last) {
            values.push(format!("('{app}', '{name}')"));
        }
    }
    format!(
        "CREATE TABLE django_migrations (id bigserial PRIMARY KEY, app varchar(255) NOT NULL, \
         name varchar(255) NOT NULL, applied timestamptz NOT NULL DEFAULT now());\n\
         INSERT INTO django_migrations (app, name) VALUES {};\n",
        values.join(", ")
    )
}

/// Loads database `db` of `cluster` with the NetBox-shaped fixture laid out
/// as `release` lays it out: its migrations, its change log alone
/// (`extras_objectchange` before 4.1, `core_objectchange` from 4.1), and
/// its user table (`auth_user` before 4.0).
pub fn load_release(cluster: &Cluster, db: &str, release: &str) {
    cluster.create_database(db);
    cluster.sql_file(db, &root().join("tests/fixtures/netbox-shaped.sql"));
    let moved = release >= "v4.1";
    let gone = if moved {
        "extras_objectchange"
    } else {
        "core_objectchange"
    };
    // Django's own user table until 4.0.
    let users = if release < "v4.0" {
        "ALTER TABLE users_user RENAME TO auth_user;\n"
    } else {
        ""
    };
    cluster.sql(
        db,
        &format!(
            "DROP TABLE {gone};\n{users}\
             CREATE TABLE extras_cachedvalue (id bigserial PRIMARY KEY, value text);\n\
             INSERT INTO extras_cachedvalue (value) SELECT 'cached ' || g FROM generate_series(1, 50) g;\n{}",
            migrations_sql(release)
        ),
    );
}

/// What `replicate init` is given for a copy from `source` to `target`
/// (database addresses), each with the root folder of its NetBox install.
pub fn init_args(
    source: &str,
    target: &str,
    source_root: &Path,
    target_root: &Path,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--source".into(),
        source.into(),
        "--target".into(),
        target.into(),
    ];
    for folder in [source_root, target_root] {
        args.push("--netbox-root".into());
        args.push(folder.into());
    }
    args
}
