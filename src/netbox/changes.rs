//! What changed between NetBox releases that a copy must get right: the
//! change log's table, the cache commands, the search cache.

use super::releases::Version;

/// The change log's table before 4.1.
pub const OLD_CHANGE_LOG: &str = "extras_objectchange";
/// The change log's table from 4.1 on (`extras` migration 0117 moved it).
pub const CHANGE_LOG: &str = "core_objectchange";
/// The global search cache (3.4 and later), rebuilt by `reindex`.
pub const SEARCH_CACHE: &str = "extras_cachedvalue";

/// 4.1's first pre-release, which moved the change log.
const CHANGE_LOG_MOVED: Version = Version::new(4, 1, 0);
/// `manage.py rebuild_config_context_cache`: from 4.7.
const CONFIG_CONTEXT_CACHE_FROM: Version = Version::new(4, 7, 0);
/// `manage.py reindex`: from 3.4.
const REINDEX_FROM: Version = Version::new(3, 4, 0);

/// What `release` needs of the PostgreSQL server it runs on: the oldest
/// major version (`server_version_num / 10000`) and the extensions that
/// must be available.
pub fn server_needs(release: Version) -> (u32, &'static [&'static str]) {
    if at_least(release, Version::new(4, 7, 0)) {
        (15, &["ltree"])
    } else if at_least(release, Version::new(4, 3, 0)) {
        (14, &[])
    } else if at_least(release, Version::new(4, 2, 0)) {
        (13, &[])
    } else {
        (12, &[])
    }
}

/// The change log's table in `release`.
pub fn change_log(release: Version) -> &'static str {
    if at_least(release, CHANGE_LOG_MOVED) {
        CHANGE_LOG
    } else {
        OLD_CHANGE_LOG
    }
}

/// The other layout's name for the change log table `table`.
pub fn other_change_log(table: &str) -> Option<&'static str> {
    match table {
        OLD_CHANGE_LOG => Some(CHANGE_LOG),
        CHANGE_LOG => Some(OLD_CHANGE_LOG),
        _ => None,
    }
}

/// The releases that keep their change log in `table`.
pub fn change_log_releases(table: &str) -> Option<&'static str> {
    match table {
        OLD_CHANGE_LOG => Some("before 4.1"),
        CHANGE_LOG => Some("4.1 and later"),
        _ => None,
    }
}

/// Whether `release` keeps a config context cache, rebuilt by
/// `manage.py rebuild_config_context_cache`.
pub fn has_config_context_cache(release: Version) -> bool {
    at_least(release, CONFIG_CONTEXT_CACHE_FROM)
}

/// Whether `release` has `manage.py reindex` (and the search cache).
pub fn has_reindex(release: Version) -> bool {
    at_least(release, REINDEX_FROM)
}

/// Whether `release` is `floor` or later, counting `floor`'s pre-releases
/// as `floor`: 4.1-beta1 already moved the change log.
fn at_least(release: Version, floor: Version) -> bool {
    (release.major, release.minor, release.patch) >= (floor.major, floor.minor, floor.patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn the_change_log_moved_in_4_1() {
        assert_eq!(change_log(v("4.0.11")), OLD_CHANGE_LOG);
        assert_eq!(change_log(v("4.1-beta1")), CHANGE_LOG);
        assert_eq!(change_log(v("4.2.8")), CHANGE_LOG);
        assert_eq!(other_change_log(OLD_CHANGE_LOG), Some(CHANGE_LOG));
        assert_eq!(change_log_releases(OLD_CHANGE_LOG), Some("before 4.1"));
    }

    #[test]
    fn cache_commands_come_and_go() {
        assert!(!has_config_context_cache(v("4.6.8")));
        assert!(has_config_context_cache(v("4.7.0-beta1")));
        assert!(has_config_context_cache(v("4.7.3")));
        assert!(!has_reindex(v("3.3.10")));
        assert!(has_reindex(v("3.4-beta1")));
        assert!(has_reindex(v("4.6.8")));
    }

    #[test]
    fn what_each_release_needs_of_its_server() {
        assert_eq!(server_needs(v("4.7.3")), (15, &["ltree"][..]));
        assert_eq!(server_needs(v("4.7.0-beta1")).0, 15);
        assert_eq!(server_needs(v("4.6.8")), (14, &[][..]));
        assert_eq!(server_needs(v("4.2-beta1")).0, 13);
        assert_eq!(server_needs(v("3.7.8")).0, 12);
    }
}
