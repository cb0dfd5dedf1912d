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

pub const NETBOX: &[PresetRule] = &[
    PresetRule {
        tables: &["users_token"],
        set: &[],
        keep: Some("false"),
        why: "API tokens act as their users; none is copied",
    },
    PresetRule {
        tables: &["django_session"],
        set: &[],
        keep: Some("false"),
        why: "login sessions",
    },
    PresetRule {
        tables: &["users_user", "auth_user"],
        set: &[
            ("password", UNUSABLE_PASSWORD),
            (
                "email",
                "CASE WHEN email = '' THEN '' ELSE 'user' || id || '@example.invalid' END",
            ),
        ],
        keep: None,
        why: "password hashes become unusable (nobody logs in with production credentials; `[sanitize] logins` gives named users a password), e-mail addresses become user<id>@example.invalid",
    },
    PresetRule {
        tables: &["social_auth_usersocialauth"],
        set: &[],
        keep: Some("false"),
        why: "single sign-on access and refresh tokens",
    },
    PresetRule {
        tables: &["social_auth_partial"],
        set: &[],
        keep: Some("false"),
        why: "single sign-on pipeline state",
    },
    PresetRule {
        tables: &["social_auth_association"],
        set: &[],
        keep: Some("false"),
        why: "OpenID association secrets",
    },
    PresetRule {
        tables: &["social_auth_code"],
        set: &[],
        keep: Some("false"),
        why: "e-mail validation codes",
    },
    PresetRule {
        tables: &["extras_webhook"],
        set: &[
            ("secret", "''"),
            ("additional_headers", "''"),
            (
                "payload_url",
                "'http://127.0.0.1:9/netbox-sanitized/' || id",
            ),
            ("enabled", "false"),
        ],
        keep: None,
        why: "webhook signing secrets, headers (often `Authorization`) and URLs (which may carry tokens); on 3.x the webhook is disabled too",
    },
    PresetRule {
        tables: &["extras_eventrule"],
        set: &[("enabled", "false")],
        keep: None,
        why: "enabled event rules would run webhooks and scripts against production systems from the copy",
    },
    PresetRule {
        tables: &["core_datasource"],
        set: &[
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
        keep: None,
        why: "data source credentials (git passwords, S3 keys, user:password@ in URLs); sources are disabled and not synced",
    },
    PresetRule {
        tables: &["vpn_ikepolicy"],
        set: &[("preshared_key", "''")],
        keep: None,
        why: "IKE pre-shared keys",
    },
    PresetRule {
        tables: &["ipam_fhrpgroup"],
        set: &[("auth_key", "''")],
        keep: None,
        why: "FHRP (VRRP, HSRP) authentication keys",
    },
    PresetRule {
        tables: &["wireless_wirelesslan"],
        set: &[("auth_psk", "''")],
        keep: None,
        why: "wireless pre-shared keys",
    },
    PresetRule {
        tables: &["wireless_wirelesslink"],
        set: &[("auth_psk", "''")],
        keep: None,
        why: "wireless pre-shared keys",
    },
    PresetRule {
        tables: &["core_job", "extras_jobresult"],
        set: &[],
        keep: Some("status NOT IN ('pending', 'scheduled', 'running')"),
        why: "pending and scheduled jobs would run, or block their schedule, on the copy",
    },
    PresetRule {
        tables: &["extras_cachedvalue"],
        set: &[],
        keep: Some("false"),
        why: "the search cache holds copies of searchable secrets (wireless keys, e-mail addresses); `manage.py reindex` rebuilds it",
    },
    PresetRule {
        tables: &["core_configrevision", "extras_configrevision"],
        set: &[(
            "data",
            "CASE WHEN jsonb_typeof(data) = 'object' THEN data - ARRAY['NAPALM_USERNAME', 'NAPALM_PASSWORD', 'NAPALM_ARGS'] ELSE data END",
        )],
        keep: None,
        why: "NAPALM credentials kept in configuration revisions (3.1 to 3.6)",
    },
    PresetRule {
        tables: &["dcim_platform"],
        set: &[("napalm_args", "NULL")],
        keep: None,
        why: "NAPALM arguments (3.x before 3.6), which may hold credentials",
    },
    PresetRule {
        tables: &["core_objectchange", "extras_objectchange"],
        set: &[
            ("prechange_data", CHANGE_DATA_PRE),
            ("postchange_data", CHANGE_DATA_POST),
        ],
        keep: None,
        why: "the change log keeps full copies of changed objects: their secret fields are removed",
    },
    PresetRule {
        tables: &["django_admin_log"],
        set: &[],
        keep: Some("false"),
        why: "the old admin site's log (3.x), which names users and objects",
    },
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
