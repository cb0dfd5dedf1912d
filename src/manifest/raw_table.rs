//! `raw_table!`: one declaration of a manifest table gives its struct (the
//! manifest as written, whose doc comments and `schemars` settings make
//! `replicate schema`), the keys it allows, and how `read` fills it. Every
//! value is `Option<Spanned<_>>`: `None` when absent or of the wrong type.
//!
//! A field is written `name: "schema type" [more schemars settings] =>
//! value type;`; the fields in `@required { ... }`, first, must be given.
//! `system` puts first the keys `[source]` and `[target]` share;
//! `read_by_hand` declares a table whose reading takes more than its values
//! (the top level, `[sanitize]`).

use serde::de::DeserializeOwned;

/// Where a table's values come from: the TOML reader, which reports a
/// missing key or a value of the wrong type and gives `None` for it.
pub trait Values {
    /// The value of `key`, when it is there and of type `T`.
    fn value<T: DeserializeOwned>(&mut self, key: &str) -> Option<T>;
    /// The same for a key that must be given.
    fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T>;
}

macro_rules! raw_table {
    (
        $(#[doc = $sdoc:tt])*
        $(#[derive($($derive:ident),*)])?
        pub struct $name:ident: system { $($own:tt)* }
    ) => {
        raw_table! {
            $(#[doc = $sdoc])*
            $(#[derive($($derive),*)])?
            pub struct $name {
                @required {
                    /// PostgreSQL URL of the database, e.g.
                    /// `postgresql://netbox@db.example.net:5432/netbox`: the source's is
                    /// read, the target's is replaced by the replica. `${NAME}` is
                    /// replaced by the environment variable NAME: put passwords there.
                    database: "String" => String;
                }
                /// An SSH tunnel to the database for the run, `ssh://[user@]host[:port]`:
                /// every connection to it goes through that bastion (OpenSSH's `ssh -L`,
                /// in batch mode, with its configuration, agent and known hosts, and
                /// `[tools] ssh_config`). `database` stays the URL the database knows
                /// itself by: the bastion connects to its host and port.
                tunnel: "Option<String>" => String;
                /// The media folder (NetBox's `MEDIA_ROOT`). Relative paths resolve
                /// against the manifest's folder; the source's may also be on a host,
                /// `ssh://[user@]host[:port]/path`, or in a running container,
                /// `docker://container/path`. The target's is required when media
                /// is included; its content is replaced by the source's.
                media: "Option<String>" => String;
                /// The custom scripts folder (NetBox's `SCRIPTS_ROOT`); the target's
                /// is required when scripts are included.
                scripts: "Option<String>" => String;
                /// The reports folder (NetBox's `REPORTS_ROOT`); the target's is
                /// required when reports are included.
                reports: "Option<String>" => String;
                /// A command (argv, no shell) run in the manifest's folder: on the
                /// source before the dump (e.g. NetBox's `manage.py invalidate all`),
                /// on the target at the very end (e.g. `manage.py reindex --lazy`).
                invalidate: "Option<Vec<String>>" [length(min = 1)] => Vec<Spanned<String>>;
                /// The command that runs the system's NetBox `manage.py`, as an argv
                /// prefix: `["/opt/netbox/venv/bin/python3", "/opt/netbox/netbox/manage.py"]`,
                /// or a package install's `netbox` command. With the target's,
                /// `invalidate-target` runs what the target's NetBox release needs
                /// after the copy (its cached configuration cleared, `migrate`,
                /// `reindex --lazy` where the search cache was left out), before
                /// `invalidate`; also after `rollback`.
                manage: "Option<Vec<String>>" [length(min = 1)] => Vec<Spanned<String>>;
                $($own)*
            }
        }
    };
    (
        $(#[doc = $sdoc:tt])*
        $(#[derive($($derive:ident),*)])?
        pub struct $name:ident {
            $(@required { $($(#[doc = $rdoc:tt])* $req:ident: $rwith:tt => $rty:ty;)* })?
            $($(#[doc = $doc:tt])* $field:ident: $with:tt $([$($more:tt)*])? => $ty:ty;)*
        }
    ) => {
        raw_table! {
            $(#[doc = $sdoc])*
            $(#[derive($($derive),*)])?
            pub struct $name: read_by_hand {
                $(@required { $($(#[doc = $rdoc])* $req: $rwith => $rty;)* })?
                $($(#[doc = $doc])* $field: $with $([$($more)*])? => $ty;)*
            }
        }

        impl $name {
            /// The table, each key's value taken from `values`.
            pub fn read(values: &mut impl $crate::manifest::raw_table::Values) -> Self {
                Self {
                    $($($req: values.required(stringify!($req)),)*)?
                    $($field: values.value(stringify!($field)),)*
                }
            }
        }
    };
    (
        $(#[doc = $sdoc:tt])*
        $(#[derive($($derive:ident),*)])?
        $(#[schemars($($sattr:tt)*)])?
        pub struct $name:ident: read_by_hand {
            $(@required { $(
                $(#[doc = $rdoc:tt])* $req:ident: $rwith:tt $([$($rmore:tt)*])? => $rty:ty;
            )* })?
            $($(#[doc = $doc:tt])* $field:ident: $with:tt $([$($more:tt)*])? => $ty:ty;)*
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, JsonSchema $($(, $derive)*)?)]
        #[serde(deny_unknown_fields)]
        $(#[schemars($($sattr)*)])?
        pub struct $name {
            $($(
                $(#[doc = $rdoc])*
                #[schemars(with = $rwith, $($($rmore)*,)? required)]
                pub $req: Option<Spanned<$rty>>,
            )*)?
            $(
                $(#[doc = $doc])*
                #[serde(default)]
                #[schemars(with = $with $(, $($more)*)?)]
                pub $field: Option<Spanned<$ty>>,
            )*
        }

        impl $name {
            /// Every key the table allows, in the order it is declared.
            pub const KEYS: &[&str] = &[$($(stringify!($req),)*)? $(stringify!($field)),*];
        }
    };
}
