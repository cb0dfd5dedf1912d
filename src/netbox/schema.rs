//! A database's NetBox schema, read from the migrations Django recorded in
//! `django_migrations`: which release it belongs to, and what one side has
//! that the other lacks.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::releases::{Releases, Version, number};

/// The NetBox migrations applied to one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    applied: BTreeMap<String, BTreeSet<String>>,
}

/// The NetBox release a schema belongs to, as far as the table tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Every release from `low` to `high` has exactly these migrations.
    Known { low: Version, high: Version },
    /// Migrations newer than every release replicate knows; at least `low`.
    Newer { low: Version, newest_known: Version },
    /// No migration replicate knows.
    Unknown,
}

impl Release {
    /// The oldest release the schema can be.
    pub fn at_least(&self) -> Option<Version> {
        match self {
            Release::Known { low, .. } | Release::Newer { low, .. } => Some(*low),
            Release::Unknown => None,
        }
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Release::Known { low, high } if low == high => write!(f, "NetBox {low}"),
            Release::Known { low, high } => write!(f, "NetBox {low} to {high}"),
            Release::Newer { newest_known, .. } => write!(
                f,
                "NetBox newer than {newest_known}, the newest release replicate knows"
            ),
            Release::Unknown => f.write_str("NetBox of an unknown release"),
        }
    }
}

/// A migration: its app and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Migration {
    pub app: String,
    pub name: String,
}

impl fmt::Display for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.app, self.name)
    }
}

impl Schema {
    /// The schema from `django_migrations` rows (app, name); `None` when
    /// the database is no NetBox (Django's own and plugins' apps are left
    /// out; NetBox always has `dcim` and `ipam`).
    pub fn from_rows(rows: impl IntoIterator<Item = (String, String)>) -> Option<Schema> {
        let table = Releases::shipped();
        let mut applied: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (app, name) in rows {
            if table.is_app(&app) {
                applied.entry(app).or_default().insert(name);
            }
        }
        (applied.contains_key("dcim") && applied.contains_key("ipam")).then_some(Schema { applied })
    }

    pub fn has(&self, app: &str, name: &str) -> bool {
        self.applied
            .get(app)
            .is_some_and(|names| names.contains(name))
    }

    /// The applied migrations as (app, name) rows, as [`Schema::from_rows`] takes them.
    pub fn rows(&self) -> Vec<(String, String)> {
        self.migrations()
            .map(|(app, name)| (app.to_owned(), name.to_owned()))
            .collect()
    }

    fn migrations(&self) -> impl Iterator<Item = (&str, &str)> {
        self.applied
            .iter()
            .flat_map(|(app, names)| names.iter().map(move |n| (app.as_str(), n.as_str())))
    }

    /// The release: from the newest release that introduced one of the
    /// applied migrations, up to the last release after it that has no
    /// migration this schema lacks.
    pub fn release(&self) -> Release {
        let table = Releases::shipped();
        let all = table.all();
        let Some(low) = self
            .migrations()
            .filter_map(|(app, name)| table.known(app, name))
            .map(|k| k.first)
            .max()
        else {
            return Release::Unknown;
        };
        if self
            .migrations()
            .any(|(app, name)| table.known(app, name).is_none() && table.is_beyond(app, name))
        {
            return Release::Newer {
                low: all[low],
                newest_known: all[all.len() - 1],
            };
        }
        // A release that knows a migration this schema lacks is not it.
        let mut ruled_out = vec![false; all.len()];
        for (app, name, known) in table.migrations() {
            if !self.has(app, name) {
                ruled_out[known.first..=known.last].fill(true);
            }
        }
        let mut high = low;
        while high + 1 < all.len() && !ruled_out[high + 1] {
            high += 1;
        }
        Release::Known {
            low: all[low],
            high: all[high],
        }
    }

    /// The newest migration of each app: the one that came with the latest
    /// release (numbers alone mislead: `users` restarted its numbering).
    pub fn latest(&self) -> BTreeMap<String, String> {
        self.applied
            .iter()
            .filter_map(|(app, names)| {
                let newest = names.iter().max_by_key(|n| rank(app, n))?;
                Some((app.clone(), newest.clone()))
            })
            .collect()
    }

    /// The migrations applied here that `other`'s NetBox does not know:
    /// each is newer than every release `other` can be. A migration only
    /// missing from `other`'s history (an old name a squash replaced, a
    /// pre-release's) does not count.
    pub fn ahead_of(&self, other: &Schema) -> Vec<Migration> {
        let table = Releases::shipped();
        let other_low = match other.release() {
            Release::Known { low, .. } | Release::Newer { low, .. } => {
                table.all().iter().position(|v| *v == low)
            }
            Release::Unknown => None,
        };
        let mut ahead: Vec<Migration> = self
            .migrations()
            .filter(|(app, name)| !other.has(app, name))
            .filter(|(app, name)| match table.known(app, name) {
                Some(known) => other_low.is_none_or(|low| known.first > low),
                None => table.is_beyond(app, name),
            })
            .map(|(app, name)| Migration {
                app: app.to_owned(),
                name: name.to_owned(),
            })
            .collect();
        // By app, the newest first.
        ahead.sort_by_key(|m| (m.app.clone(), Reverse(rank(&m.app, &m.name))));
        ahead
    }
}

/// How new a migration is: the release that brought it, then its number.
/// Numbers alone mislead: `users` restarted its numbering after a squash.
fn rank(app: &str, name: &str) -> (usize, u32) {
    let table = Releases::shipped();
    let first = match table.known(app, name) {
        Some(k) => k.first,
        None if table.is_beyond(app, name) => usize::MAX,
        None => 0,
    };
    (first, number(name).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The migrations a fresh install of `release` records, from the table.
    fn installed(release: &str) -> Schema {
        let table = Releases::shipped();
        let at = table
            .all()
            .iter()
            .position(|v| *v == Version::parse(release).unwrap())
            .unwrap();
        let rows = table
            .migrations()
            .filter(|(_, _, k)| k.first <= at && at <= k.last)
            .map(|(app, name, _)| (app.to_owned(), name.to_owned()))
            .chain([("auth".to_owned(), "0001_initial".to_owned())]);
        Schema::from_rows(rows).unwrap()
    }

    #[test]
    fn names_the_release_of_a_fresh_install() {
        let release = installed("4.2.8").release();
        assert!(matches!(release, Release::Known { .. }), "{release}");
        assert_eq!(release.to_string(), "NetBox 4.2.6 to 4.2.8");
        assert_eq!(
            installed("3.6.9").release().to_string(),
            "NetBox 3.6.8 to 3.6.9"
        );
    }

    #[test]
    fn a_database_without_dcim_is_no_netbox() {
        let rows = [("auth", "0001_initial"), ("ipam", "0001_initial")]
            .map(|(a, n)| (a.to_owned(), n.to_owned()));
        assert_eq!(Schema::from_rows(rows), None);
    }

    #[test]
    fn a_newer_schema_is_ahead_and_not_the_other_way() {
        let (old, new) = (installed("3.7.8"), installed("4.2.8"));
        let ahead = new.ahead_of(&old);
        assert!(
            ahead.contains(&Migration {
                app: "extras".into(),
                name: "0117_move_objectchange".into()
            }),
            "{ahead:?}"
        );
        assert_eq!(old.ahead_of(&new), vec![]);
        assert_eq!(new.ahead_of(&new), vec![]);
    }

    #[test]
    fn migrations_newer_than_the_table_make_a_newer_release() {
        let mut rows: Vec<(String, String)> = vec![
            ("dcim".into(), "0001_initial".into()),
            ("ipam".into(), "0001_initial".into()),
        ];
        let base = Schema::from_rows(rows.clone()).unwrap();
        rows.push(("dcim".into(), "9000_future".into()));
        let newer = Schema::from_rows(rows).unwrap();
        assert!(matches!(newer.release(), Release::Newer { .. }));
        assert_eq!(newer.latest()["dcim"], "9000_future");
        assert_eq!(newer.ahead_of(&base).len(), 1);
    }

    #[test]
    fn latest_follows_releases_not_numbers() {
        let latest = installed("4.2.8").latest();
        // `users 0011_standardize_models` (3.0) has a higher number.
        assert_eq!(latest["users"], "0009_update_group_perms");
        assert_eq!(latest["extras"], "0123_journalentry_kind_default");
    }
}
