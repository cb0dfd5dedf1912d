//! The `netbox` sanitize preset: what a NetBox database holds that must not
//! reach a development copy, rule by rule, for every layout from 3.0 on.
//! A rule names the tables it applies to in each layout; columns a layout
//! lacks are skipped, and so is a rule whose table is absent.

/// One rule of the preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresetRule {
    /// The table, by layout: the first that exists is used.
    pub tables: &'static [&'static str],
    /// Column and SQL expression; a column the table lacks is skipped.
    pub set: &'static [(&'static str, &'static str)],
    /// The SQL condition that keeps rows.
    pub keep: Option<&'static str>,
    /// Why, for the plan and the README.
    pub why: &'static str,
}

/// An unusable Django password: Django treats a hash starting with `!` as
/// "no password", so nobody logs in with production credentials.
const UNUSABLE_PASSWORD: &str = "'!' || md5(random()::text)";

/// Keys of serialized objects in the change log that hold secrets.
macro_rules! secret_keys {
    () => {
        "ARRAY['secret', 'additional_headers', 'auth_key', 'auth_psk', 'preshared_key', 'napalm_args']"
    };
}

/// Data source credentials inside a serialized object.
macro_rules! credential_paths {
    () => {
        " #- '{parameters,password}' #- '{parameters,aws_secret_access_key}' #- '{parameters,aws_access_key_id}' #- '{parameters,username}'"
    };
}

/// A rule that copies none of the table's rows.
const fn left_out(tables: &'static [&'static str], why: &'static str) -> PresetRule {
    PresetRule {
        tables,
        set: &[],
        keep: Some("false"),
        why,
    }
}

/// A rule that copies every row, with the columns of `set` replaced.
const fn replaced(
    tables: &'static [&'static str],
    set: &'static [(&'static str, &'static str)],
    why: &'static str,
) -> PresetRule {
    PresetRule {
        tables,
        set,
        keep: None,
        why,
    }
}

/// The rule for wireless LANs' and links' pre-shared keys.
const fn wireless_keys(tables: &'static [&'static str]) -> PresetRule {
    replaced(tables, &[("auth_psk", "''")], "wireless pre-shared keys")
}

pub const NETBOX: &[PresetRule] = &[
    left_out(
        &["users_token"],
        "API tokens act as their users; none is copied",
    ),
    left_out(&["django_session"], "login sessions"),
    replaced(
        &["users_user", "auth_user"],
        &[
            ("password", UNUSABLE_PASSWORD),
            (
                "email",
                "CASE WHEN email = '' THEN '' ELSE 'user' || id || '@example.invalid' END",
            ),
        ],
        "password hashes become unusable (nobody logs in with production credentials; `[sanitize] logins` gives named users a password), e-mail addresses become user<id>@example.invalid",
    ),
    left_out(
        &["social_auth_usersocialauth"],
        "single sign-on access and refresh tokens",
    ),
    left_out(&["social_auth_partial"], "single sign-on pipeline state"),
    left_out(&["social_auth_association"], "OpenID association secrets"),
    left_out(&["social_auth_code"], "e-mail validation codes"),
    replaced(
        &["extras_webhook"],
        &[
            ("secret", "''"),
            ("additional_headers", "''"),
            (
                "payload_url",
                "'http://127.0.0.1:9/netbox-sanitized/' || id",
            ),
            ("enabled", "false"),
        ],
        "webhook signing secrets, headers (often `Authorization`) and URLs (which may carry tokens); on 3.x the webhook is disabled too",
    ),
    replaced(
        &["extras_eventrule"],
        &[("enabled", "false")],
        "enabled event rules would run webhooks and scripts against production systems from the copy",
    ),
    replaced(
        &["core_datasource"],
        &[
            ("enabled", "false"),
            (
                "parameters",
                "CASE WHEN jsonb_typeof(parameters) = 'object' AND type IN ('local', 'git', 'amazon-s3') THEN parameters - ARRAY['username', 'password', 'aws_access_key_id', 'aws_secret_access_key'] ELSE NULL END",
            ),
            (
                "source_url",
                "regexp_replace(source_url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@', '\\1')",
            ),
            ("sync_interval", "NULL"),
        ],
        "data source credentials (git passwords, S3 keys, user:password@ in URLs); sources are disabled and not synced",
    ),
    replaced(
        &["vpn_ikepolicy"],
        &[("preshared_key", "''")],
        "IKE pre-shared keys",
    ),
    replaced(
        &["ipam_fhrpgroup"],
        &[("auth_key", "''")],
        "FHRP (VRRP, HSRP) authentication keys",
    ),
    wireless_keys(&["wireless_wirelesslan"]),
    wireless_keys(&["wireless_wirelesslink"]),
    PresetRule {
        tables: &["core_job", "extras_jobresult"],
        set: &[],
        keep: Some("status NOT IN ('pending', 'scheduled', 'running')"),
        why: "pending and scheduled jobs would run, or block their schedule, on the copy",
    },
    left_out(
        &["extras_cachedvalue"],
        "the search cache holds copies of searchable secrets (wireless keys, e-mail addresses); `manage.py reindex` rebuilds it",
    ),
    replaced(
        &["core_configrevision", "extras_configrevision"],
        &[(
            "data",
            "CASE WHEN jsonb_typeof(data) = 'object' THEN data - ARRAY['NAPALM_USERNAME', 'NAPALM_PASSWORD', 'NAPALM_ARGS'] ELSE data END",
        )],
        "NAPALM credentials kept in configuration revisions (3.1 to 3.6)",
    ),
    replaced(
        &["dcim_platform"],
        &[("napalm_args", "NULL")],
        "NAPALM arguments (3.x before 3.6), which may hold credentials",
    ),
    replaced(
        &["core_objectchange", "extras_objectchange"],
        &[
            ("prechange_data", CHANGE_DATA_PRE),
            ("postchange_data", CHANGE_DATA_POST),
        ],
        "the change log keeps full copies of changed objects: their secret fields are removed",
    ),
    left_out(
        &["django_admin_log"],
        "the old admin site's log (3.x), which names users and objects",
    ),
];

/// The change log's object copies without their secret fields.
const CHANGE_DATA_PRE: &str = concat!(
    "CASE WHEN jsonb_typeof(prechange_data) = 'object' THEN (prechange_data - ",
    secret_keys!(),
    ")",
    credential_paths!(),
    " ELSE prechange_data END"
);
const CHANGE_DATA_POST: &str = concat!(
    "CASE WHEN jsonb_typeof(postchange_data) = 'object' THEN (postchange_data - ",
    secret_keys!(),
    ")",
    credential_paths!(),
    " ELSE postchange_data END"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_does_something_and_says_why() {
        for rule in NETBOX {
            assert!(!rule.tables.is_empty());
            assert!(!rule.set.is_empty() || rule.keep.is_some(), "{rule:?}");
            assert!(!rule.why.is_empty());
        }
        // The README lists every rule's tables.
        let readme = include_str!("../../README.md");
        let section = readme
            .split("## Sanitized copies")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_default();
        for rule in NETBOX {
            for table in rule.tables {
                assert!(
                    section.contains(&format!("`{table}`")),
                    "README does not list {table}"
                );
            }
        }
        // The change log expressions strip the same keys.
        assert!(CHANGE_DATA_PRE.contains(secret_keys!()));
        assert!(CHANGE_DATA_POST.contains(secret_keys!()));
    }
}
