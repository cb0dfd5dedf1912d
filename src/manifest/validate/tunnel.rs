//! `tunnel` in `[source]` and `[target]`, once every value is read (the
//! bastion itself by [`Checker::bastion`]): a database URL a tunnel can
//! lead to (one host and port).

use super::checker::Checker;
use super::values::Values;
use crate::manifest::choices::DatabaseContent;
use crate::manifest::diagnostic::ManifestDiagnostic;
use crate::manifest::raw::{RawSource, RawTarget};

/// Each side's database must be one host and port for its tunnel to lead
/// to; a tunnel without a database to reach is only a warning.
pub(super) fn check(cx: &mut Checker<'_>, raw: (&RawSource, &RawTarget), values: &Values) {
    let (source, target) = raw;
    for (side, tunnel, bastion, written, url) in [
        (
            "source",
            &source.tunnel,
            &values.source_tunnel,
            &source.database,
            &values.source_db,
        ),
        (
            "target",
            &target.tunnel,
            &values.target_tunnel,
            &target.database,
            &values.target_db,
        ),
    ] {
        // A tunnel that could not be read was reported already.
        let (Some(tunnel), Some(_)) = (tunnel, bastion) else {
            continue;
        };
        if values.database == Some(DatabaseContent::None) {
            cx.push(
                ManifestDiagnostic::warning(
                    "manifest::tunnel-ignored",
                    &cx.file,
                    format!("{side}.tunnel has no effect with `database = \"none\"`"),
                )
                .with_label(tunnel.span(), "ignored: no database is reached")
                .with_help("remove the tunnel, or copy the database"),
            );
            continue;
        }
        let (Some(url), Some(written)) = (url, written) else {
            continue;
        };
        if let Err(error) = url.forward_target() {
            cx.push(
                ManifestDiagnostic::error(
                    "manifest::tunnel-database",
                    &cx.file,
                    format!("{side}.database cannot be reached through a tunnel: {error}"),
                )
                .with_label(written.span(), "not one host and port")
                .with_label(tunnel.span(), "the tunnel")
                .with_help(
                    "write the database's host and port as the bastion reaches them, e.g. `postgresql://netbox@db.internal:5432/netbox`, or `localhost` for a server on the bastion itself",
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::manifest::{Manifest, ManifestDiagnostic, SourceFile};

    fn parsed(tables: &str) -> Result<Manifest, ManifestDiagnostic> {
        Manifest::parse(
            SourceFile::new("replicate.toml", format!("version = 1\n{tables}")),
            Path::new("/etc/replicate/replicate.toml"),
            &|_| None,
        )
    }

    /// Both sides on the bastions' own machines, through `source` and
    /// `target`.
    fn behind(source: &str, target: &str) -> Result<Manifest, ManifestDiagnostic> {
        parsed(&format!(
            "[source]\ndatabase = \"postgresql://netbox@localhost/netbox\"\ntunnel = \"{source}\"\n\
             [target]\ndatabase = \"postgresql://netbox@127.0.0.1:5432/netbox\"\ntunnel = \"{target}\"\n"
        ))
    }

    #[test]
    fn each_side_names_its_bastion_and_local_names_mean_the_bastions_machine() {
        let m = behind("ssh://ops@jump-a", "ssh://ops@jump-b:2222/").unwrap();
        let shown = |t: Option<crate::remote::Bastion>| t.map(|b| b.to_string());
        assert_eq!(shown(m.source.tunnel), Some("ssh://ops@jump-a".into()));
        assert_eq!(shown(m.target.tunnel), Some("ssh://ops@jump-b:2222".into()));
        assert!(m.spans.source_tunnel.is_some() && m.spans.target_tunnel.is_some());
        // The same bastion: the same server, refused.
        let same = behind("ssh://ops@jump-a", "ssh://root@JUMP-A:22").unwrap_err();
        assert!(
            same.all()
                .any(|d| d.code_name() == "manifest::same-database"),
            "{same:?}"
        );
    }

    #[test]
    fn a_tunnel_with_no_database_to_reach_is_only_a_warning() {
        let m = parsed(
            "[source]\ndatabase = \"postgresql://netbox@db.internal/netbox\"\ntunnel = \"ssh://jump\"\n\
             media = \"/srv/a\"\n[target]\ndatabase = \"postgresql://netbox@other/netbox\"\n\
             media = \"/srv/b\"\n[include]\ndatabase = \"none\"\n",
        )
        .unwrap();
        let codes: Vec<&str> = m.warnings.iter().map(|w| w.code_name()).collect();
        assert_eq!(codes, ["manifest::tunnel-ignored"]);
    }
}
