//! `replicate init`: a commented manifest written for the systems it is
//! pointed at (the README's "NetBox" section). It reads the source (and the target when
//! given) to find NetBox and its release, reads the NetBox installs named
//! by `--netbox-root` for their folders, composes the manifest, checks that
//! it validates, and only then writes it.

mod compose;
mod error;
mod installs;
mod systems;
mod tunnels;

use std::path::PathBuf;

use self::compose::{Findings, compose};
pub use self::error::InitError;
use crate::io::files::write_atomically;
use crate::io::paths;
use crate::manifest::{Manifest, SourceFile};
use crate::postgres::{DbUrl, Secret, Secrets};

/// The variable the source URL's password is read from.
const SOURCE_PASSWORD: &str = "SOURCE_DB_PASSWORD";
const TARGET_PASSWORD: &str = "TARGET_DB_PASSWORD";

/// What `init` is asked to do.
#[derive(Debug, Clone)]
pub struct InitRequest {
    /// Where to write the manifest.
    pub manifest: PathBuf,
    pub source: String,
    pub target: Option<String>,
    /// The source's NetBox install, then the target's: a folder here, or
    /// `ssh://` or `docker://`.
    pub netbox_roots: Vec<String>,
    /// The SSH servers each database is reached through, as written.
    pub source_tunnel: Option<String>,
    pub target_tunnel: Option<String>,
    /// `--ssh-config`: the OpenSSH client configuration for `ssh://` roots
    /// and the tunnels.
    pub ssh_config: Option<PathBuf>,
    /// The dump format to write.
    pub format: crate::manifest::DumpFormat,
    pub force: bool,
}

/// What `init` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    /// `NetBox 4.2.6 to 4.2.8`, or `no NetBox schema`.
    pub source: String,
    /// The variables the manifest reads passwords from.
    pub variables: Vec<&'static str>,
    /// Problems the written manifest still has (it validates; these are
    /// its warnings).
    pub warnings: usize,
}

pub fn init(request: &InitRequest) -> Result<Written, InitError> {
    let path = &request.manifest;
    if path.exists() && !request.force {
        return Err(InitError::Exists {
            path: path.display().to_string(),
        });
    }
    if request.netbox_roots.len() > 2 {
        return Err(InitError::TooManyRoots);
    }
    let reach = crate::remote::Reach {
        ssh_config: request.ssh_config.clone(),
    };
    let installs = request
        .netbox_roots
        .iter()
        .map(|root| installs::find(root, &reach).map_err(InitError::Install))
        .collect::<Result<Vec<_>, _>>()?;

    let mut secrets = Secrets::default();
    let mut variables = Vec::new();
    let source_url = parse(&request.source, "source")?;
    let source_written = written(
        &source_url,
        SOURCE_PASSWORD,
        "source.database",
        &mut secrets,
    );
    if source_url.password().is_some() {
        variables.push((SOURCE_PASSWORD, "the source URL's password"));
    }
    let target_url = request
        .target
        .as_deref()
        .map(|t| parse(t, "target"))
        .transpose()?;
    let target_written = target_url
        .as_ref()
        .map(|url| written(url, TARGET_PASSWORD, "target.database", &mut secrets));
    if target_url.as_ref().is_some_and(|u| u.password().is_some()) {
        variables.push((TARGET_PASSWORD, "the target URL's password"));
    }

    let source_reached = tunnels::reach(
        "source",
        &source_url,
        request.source_tunnel.as_deref(),
        &reach,
    )?;
    let target_reached = target_url
        .as_ref()
        .map(|url| tunnels::reach("target", url, request.target_tunnel.as_deref(), &reach))
        .transpose()?;

    let source = systems::read(&source_reached.url, "source", &secrets)?;
    let tables = if source.netbox.is_some() {
        systems::netbox_tables(&source_reached.url, &secrets)?
    } else {
        Vec::new()
    };
    let target = target_reached
        .as_ref()
        .map(|reached| systems::read(&reached.url, "target", &secrets))
        .transpose()?;
    let bastion = |reached: Option<&tunnels::Reached>| {
        reached
            .and_then(|r| r.bastion.as_ref())
            .map(ToString::to_string)
    };

    let findings = Findings {
        source_url: source_written,
        target_url: target_written,
        variables: variables.clone(),
        source_tunnel: bastion(Some(&source_reached)),
        target_tunnel: bastion(target_reached.as_ref()),
        source: &source,
        target: target.as_ref(),
        tables: &tables,
        source_install: installs.first(),
        target_install: installs.get(1),
        format: request.format,
        ssh_config: request.ssh_config.as_ref().map(|c| {
            paths::resolve(&std::env::current_dir().unwrap_or_default(), c)
                .display()
                .to_string()
        }),
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .chars()
            .take(10)
            .collect(),
    };
    let text = compose(&findings);

    // The manifest must validate as written, with the passwords it names.
    let absolute = paths::normalize(&std::path::absolute(path).map_err(|e| InitError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?);
    let env = |name: &str| match name {
        SOURCE_PASSWORD => source_url.password().map(|p| p.expose().to_owned()),
        TARGET_PASSWORD => target_url
            .as_ref()
            .and_then(|u| u.password())
            .map(|p| p.expose().to_owned()),
        _ => None,
    };
    let manifest = Manifest::parse(
        SourceFile::new(path.display().to_string(), text.clone()),
        &absolute,
        &env,
    )
    .map_err(InitError::Invalid)?;
    write_atomically(path, text.as_bytes()).map_err(|e| InitError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(Written {
        path: path.clone(),
        source: source.netbox.as_ref().map_or_else(
            || "a database without a NetBox schema".to_owned(),
            |s| s.release().to_string(),
        ),
        variables: variables.iter().map(|(name, _)| *name).collect(),
        warnings: manifest.warnings.len(),
    })
}

fn parse(text: &str, side: &'static str) -> Result<DbUrl, InitError> {
    DbUrl::parse(text).map_err(|e| InitError::Url {
        side,
        reason: e.to_string(),
    })
}

/// The URL as the manifest will hold it: its password replaced by
/// `${variable}`, the password itself kept in `secrets` for the
/// connections `init` makes.
fn written(url: &DbUrl, variable: &str, origin: &str, secrets: &mut Secrets) -> String {
    match url.password() {
        Some(password) => {
            secrets.insert(origin, Secret::new(password.expose()));
            url.written_with_password(&format!("${{{variable}}}"))
        }
        None => url.conninfo(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_becomes_a_variable_and_is_kept_apart() {
        let url = DbUrl::parse("postgresql://netbox:s3cret@db.example.net/netbox").unwrap();
        let mut secrets = Secrets::default();
        let text = written(&url, SOURCE_PASSWORD, "source.database", &mut secrets);
        assert_eq!(
            text,
            "postgresql://netbox:${SOURCE_DB_PASSWORD}@db.example.net/netbox"
        );
        assert_eq!(
            secrets.get("source.database").map(Secret::expose),
            Some("s3cret")
        );
    }
}
