//! What a NetBox needs after its database was replaced for the copy to be
//! served as it is, each as arguments to its `manage.py` (or a package
//! install's `netbox` command, which takes the same).

use super::changes::{has_config_context_cache, has_reindex};
use super::releases::Version;

/// Python run through `manage.py shell`: the two cache keys in which NetBox
/// keeps the active configuration revision, with no expiry. Deleted through
/// Django's cache, so NetBox's own Redis settings and key prefix apply; the
/// next request reads the copy's revision from its database.
const CLEAR_CONFIG: &str =
    "from django.core.cache import cache; cache.delete_many(['config', 'config_version'])";

/// One action, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCopy {
    /// `migrate`: the target's NetBox is newer than the data.
    Migrate,
    /// The cached configuration revision cleared.
    ClearConfig,
    /// `reindex --lazy`: the search cache's rows were left out.
    Reindex,
    /// `rebuild_config_context_cache` (4.7 and later).
    RebuildConfigContexts,
}

impl AfterCopy {
    /// The arguments after the `manage` prefix.
    pub fn args(self) -> Vec<String> {
        let words: &[&str] = match self {
            AfterCopy::Migrate => &["migrate", "--no-input"],
            AfterCopy::ClearConfig => &["shell", "--command", CLEAR_CONFIG],
            AfterCopy::Reindex => &["reindex", "--lazy"],
            AfterCopy::RebuildConfigContexts => &["rebuild_config_context_cache"],
        };
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// A few words for the step's description.
    pub fn short(self) -> &'static str {
        match self {
            AfterCopy::Migrate => "migrate",
            AfterCopy::ClearConfig => "clear its cached configuration",
            AfterCopy::Reindex => "reindex --lazy",
            AfterCopy::RebuildConfigContexts => "rebuild_config_context_cache",
        }
    }

    /// The tables (in `public`) whose rows it rewrites by design: `verify
    /// --target` reports them as rebuilt, not as changed.
    pub fn rebuilds(self) -> &'static [&'static str] {
        match self {
            AfterCopy::Reindex => &["extras_cachedvalue"],
            AfterCopy::RebuildConfigContexts => &["dcim_device", "virtualization_virtualmachine"],
            AfterCopy::Migrate | AfterCopy::ClearConfig => &[],
        }
    }

    /// What it does, for the plan and for a failure.
    pub fn what(self) -> &'static str {
        match self {
            AfterCopy::Migrate => "migrate: the target's NetBox is newer than the data",
            AfterCopy::ClearConfig => {
                "clear NetBox's cached configuration (it would keep serving the old settings)"
            }
            AfterCopy::Reindex => "reindex --lazy: rebuild the search cache left out of the copy",
            AfterCopy::RebuildConfigContexts => {
                "rebuild the config context cache, as NetBox's upgrade does after a load"
            }
        }
    }
}

/// The actions for a copy into a NetBox at `release` (the data's release
/// when the target has none yet): `migrate` when `target_newer`, the
/// configuration cleared, `reindex --lazy` when the search cache was left
/// out and the release has one.
pub fn after_copy(
    release: Option<Version>,
    target_newer: bool,
    search_cache_left_out: bool,
) -> Vec<AfterCopy> {
    let mut actions = Vec::new();
    if target_newer {
        actions.push(AfterCopy::Migrate);
    }
    actions.push(AfterCopy::ClearConfig);
    if search_cache_left_out && release.is_none_or(has_reindex) {
        actions.push(AfterCopy::Reindex);
    }
    if release.is_some_and(has_config_context_cache) {
        actions.push(AfterCopy::RebuildConfigContexts);
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_first_then_the_configuration_then_the_search_cache() {
        let v47 = Some(Version::new(4, 7, 3));
        assert_eq!(
            after_copy(v47, true, true),
            [
                AfterCopy::Migrate,
                AfterCopy::ClearConfig,
                AfterCopy::Reindex,
                AfterCopy::RebuildConfigContexts
            ]
        );
        let v46 = Some(Version::new(4, 6, 8));
        assert_eq!(after_copy(v46, false, false), [AfterCopy::ClearConfig]);
        // 3.3 has no search cache to rebuild.
        assert_eq!(
            after_copy(Some(Version::new(3, 3, 0)), false, true),
            [AfterCopy::ClearConfig]
        );
    }
}
