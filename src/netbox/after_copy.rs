//! What a NetBox needs after its database was replaced for the copy to be
//! served as it is, run in one `manage.py shell` (or a package install's
//! `netbox shell`): NetBox takes seconds to start, so one process for all
//! of them, not one each.

use super::changes::{has_config_context_cache, has_reindex};
use super::releases::Version;

/// Python deleting the two cache keys in which NetBox keeps the active
/// configuration revision, with no expiry. Deleted through Django's cache,
/// so NetBox's own Redis settings and key prefix apply; the next request
/// reads the copy's revision from its database.
const CLEAR_CONFIG: &str = r#"cache.delete_many(["config", "config_version"])"#;

/// What the script of [`in_one_process`] starts with.
const PRELUDE: &str = "import sys
from django.core.cache import cache
from django.core.management import call_command
";

/// Python run through `manage.py shell`: the users named in the JSON object
/// of `LOGINS_VARIABLE` (username to password) given those passwords,
/// hashed by NetBox's own hasher. The names and passwords come through the
/// environment, never through the command line; a user missing from the
/// copy fails the command, naming it.
const SET_PASSWORDS: &str = r#"import json, os, sys
from django.contrib.auth import get_user_model
User = get_user_model()
logins = json.loads(os.environ.pop("REPLICATE_LOGINS"))
users = {u.get_username(): u for u in User.objects.filter(**{User.USERNAME_FIELD + "__in": list(logins)})}
missing = sorted(set(logins) - set(users))
if missing:
    sys.exit("no user named " + ", ".join(missing) + " in the copy")
for name, password in logins.items():
    users[name].set_password(password)
    users[name].save(update_fields=["password"])
print(len(logins), "password(s) set")
"#;

/// The environment variable [`AfterCopy::SetPasswords`] reads.
pub const LOGINS_VARIABLE: &str = "REPLICATE_LOGINS";

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
    /// The passwords of `[sanitize] logins` set (given in
    /// [`LOGINS_VARIABLE`]).
    SetPasswords,
}

impl AfterCopy {
    /// The Python that does it inside `manage.py shell` (the command
    /// `call_command` runs is the one `manage.py` would).
    fn python(self) -> &'static str {
        match self {
            AfterCopy::Migrate => r#"call_command("migrate", interactive=False)"#,
            AfterCopy::ClearConfig => CLEAR_CONFIG,
            AfterCopy::Reindex => r#"call_command("reindex", lazy=True)"#,
            AfterCopy::RebuildConfigContexts => r#"call_command("rebuild_config_context_cache")"#,
            AfterCopy::SetPasswords => SET_PASSWORDS,
        }
    }

    /// Whether it runs in its own process, given what it needs in its
    /// environment (the logins' passwords), rather than with the others.
    pub fn on_its_own(self) -> bool {
        self == AfterCopy::SetPasswords
    }

    /// The arguments after the `manage` prefix that run it alone.
    pub fn args(self) -> Vec<String> {
        in_one_process(&[self])
    }

    /// A few words for the step's description.
    pub fn short(self) -> &'static str {
        match self {
            AfterCopy::Migrate => "migrate",
            AfterCopy::ClearConfig => "clear its cached configuration",
            AfterCopy::Reindex => "reindex --lazy",
            AfterCopy::RebuildConfigContexts => "rebuild_config_context_cache",
            AfterCopy::SetPasswords => "set the logins' passwords",
        }
    }

    /// The tables (in `public`) whose rows it rewrites by design: `verify
    /// --target` reports them as rebuilt, not as changed.
    pub fn rebuilds(self) -> &'static [&'static str] {
        match self {
            AfterCopy::Reindex => &["extras_cachedvalue"],
            AfterCopy::RebuildConfigContexts => &["dcim_device", "virtualization_virtualmachine"],
            AfterCopy::SetPasswords => &["users_user", "auth_user"],
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
            AfterCopy::SetPasswords => {
                "give [sanitize] logins their passwords from the environment, hashed by NetBox"
            }
        }
    }

    /// Whether `rollback` runs it again on the previous copy it puts back:
    /// not the passwords, which that copy got (or not) when it was made.
    pub fn after_rollback(self) -> bool {
        self != AfterCopy::SetPasswords
    }
}

/// The arguments after the `manage` prefix that run `actions` in one
/// `shell`, in turn, each announced on standard error first (so that a
/// failure's output says which one failed).
pub fn in_one_process(actions: &[AfterCopy]) -> Vec<String> {
    let mut script = PRELUDE.to_owned();
    for action in actions {
        script.push_str(&format!(
            "print(\"replicate: {}\", file=sys.stderr, flush=True)\n{}\n",
            action.short().replace(['"', '\\'], ""),
            action.python()
        ));
    }
    vec!["shell".into(), "--command".into(), script]
}

/// The actions for a copy into a NetBox at `release` (the data's release
/// when the target has none yet): `migrate` when `target_newer`, the
/// configuration cleared, `reindex --lazy` when the search cache was left
/// out and the release has one, the logins' passwords when there are some.
pub fn after_copy(
    release: Option<Version>,
    target_newer: bool,
    search_cache_left_out: bool,
    logins: bool,
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
    if logins {
        actions.push(AfterCopy::SetPasswords);
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_share_one_shell_each_announced() {
        let args = in_one_process(&[AfterCopy::Migrate, AfterCopy::ClearConfig]);
        assert_eq!(args[..2], ["shell", "--command"]);
        let script = &args[2];
        let migrate = script
            .find(r#"call_command("migrate", interactive=False)"#)
            .unwrap();
        let clear = script
            .find(r#"cache.delete_many(["config", "config_version"])"#)
            .unwrap();
        assert!(migrate < clear, "{script}");
        assert!(
            script.contains(r#"print("replicate: migrate", file=sys.stderr"#),
            "{script}"
        );
        assert!(!AfterCopy::SetPasswords.after_rollback());
    }

    #[test]
    fn migrate_first_then_the_configuration_then_the_search_cache() {
        let v47 = Some(Version::new(4, 7, 3));
        assert_eq!(
            after_copy(v47, true, true, true),
            [
                AfterCopy::Migrate,
                AfterCopy::ClearConfig,
                AfterCopy::Reindex,
                AfterCopy::RebuildConfigContexts,
                AfterCopy::SetPasswords
            ]
        );
        let v46 = Some(Version::new(4, 6, 8));
        assert_eq!(
            after_copy(v46, false, false, false),
            [AfterCopy::ClearConfig]
        );
        // 3.3 has no search cache to rebuild.
        assert_eq!(
            after_copy(Some(Version::new(3, 3, 0)), false, true, false),
            [AfterCopy::ClearConfig]
        );
    }
}
