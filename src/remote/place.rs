//! Where a folder is: a path on this machine, a path on a host reached
//! over SSH (`ssh://[user@]host[:port]/path`), or a path in a running
//! container (`docker://container/path`).

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A folder's place. Written as the manifest writes it: a path, or a URL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    Local(PathBuf),
    Ssh(SshPlace),
    Docker(DockerPlace),
}

/// A folder on a host, through the system's OpenSSH client.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SshPlace {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// Absolute, as the host knows it.
    pub path: String,
}

/// A folder in a running container, through `docker exec`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DockerPlace {
    pub container: String,
    /// Absolute, as the container knows it.
    pub path: String,
}

/// Why a folder's URL cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    #[error("{0} names no host")]
    NoHost(String),
    #[error("{0} names no container")]
    NoContainer(String),
    #[error("{0} has no absolute path after its host")]
    NoPath(String),
    #[error("the port of {0} is not a number from 1 to 65535")]
    BadPort(String),
    #[error("{0}: a host, user or container may not start with `-`")]
    Dash(String),
    #[error(
        "{0}: a host or user is letters, digits, `.`, `_` and `-` (an IPv6 address in brackets); no password"
    )]
    BadName(String),
}

const SSH_SCHEME: &str = "ssh://";
const DOCKER_SCHEME: &str = "docker://";

impl Place {
    /// A folder as written: a URL when it starts with `ssh://` or
    /// `docker://`, otherwise a local path (relative ones against `base`).
    pub fn parse(text: &str, base: &Path) -> Result<Self, PlaceError> {
        if let Some(rest) = text.strip_prefix(SSH_SCHEME) {
            return parse_ssh(text, rest).map(Place::Ssh);
        }
        if let Some(rest) = text.strip_prefix(DOCKER_SCHEME) {
            let (container, path) = split_path(text, rest)?;
            if container.is_empty() {
                return Err(PlaceError::NoContainer(text.to_owned()));
            }
            refuse_dash(text, &container)?;
            return Ok(Place::Docker(DockerPlace { container, path }));
        }
        Ok(Place::Local(crate::io::paths::resolve(
            base,
            Path::new(text),
        )))
    }

    /// The path on this machine, for a local folder.
    pub fn local(&self) -> Option<&Path> {
        match self {
            Place::Local(path) => Some(path),
            _ => None,
        }
    }

    /// Whether this folder is `outer` or lies below it: on the same
    /// machine, host or container only.
    pub fn is_within(&self, outer: &Place) -> bool {
        let below = |inner: &str, outer: &str| Path::new(inner).starts_with(outer);
        match (self, outer) {
            (Place::Local(inner), Place::Local(outer)) => crate::io::paths::is_within(inner, outer),
            (Place::Ssh(inner), Place::Ssh(outer)) => {
                (&inner.host, inner.port) == (&outer.host, outer.port)
                    && below(&inner.path, &outer.path)
            }
            (Place::Docker(inner), Place::Docker(outer)) => {
                inner.container == outer.container && below(&inner.path, &outer.path)
            }
            _ => false,
        }
    }

    /// The host or container, for a remote folder (`ssh://nb1`,
    /// `docker://netbox`).
    pub fn remote_name(&self) -> Option<String> {
        match self {
            Place::Local(_) => None,
            Place::Ssh(ssh) => Some(format!("{SSH_SCHEME}{}", ssh.authority())),
            Place::Docker(docker) => Some(format!("{DOCKER_SCHEME}{}", docker.container)),
        }
    }

    /// As people read it: a local path relative to the working directory
    /// where that is shorter, a URL otherwise.
    pub fn shown(&self) -> String {
        match self {
            Place::Local(path) => crate::io::paths::display(path),
            remote => remote.to_string(),
        }
    }

    /// The folder beside this one named `<folder>.replicate-<what>`
    /// (`next`, `prev`), in the same place.
    pub fn beside(&self, what: &str) -> Place {
        let suffix = format!(".replicate-{what}");
        match self {
            Place::Local(path) => {
                let mut name = path
                    .file_name()
                    .map_or_else(|| std::ffi::OsString::from("folder"), ToOwned::to_owned);
                name.push(suffix);
                Place::Local(path.with_file_name(name))
            }
            Place::Ssh(ssh) => Place::Ssh(SshPlace {
                path: format!("{}{suffix}", ssh.path),
                ..ssh.clone()
            }),
            Place::Docker(docker) => Place::Docker(DockerPlace {
                path: format!("{}{suffix}", docker.path),
                ..docker.clone()
            }),
        }
    }

    /// Another path in the same place.
    pub fn with_path(&self, path: &str) -> Place {
        let path = crate::io::paths::normalize(Path::new(path));
        match self {
            Place::Local(_) => Place::Local(path),
            Place::Ssh(ssh) => Place::Ssh(SshPlace {
                path: path.to_string_lossy().into_owned(),
                ..ssh.clone()
            }),
            Place::Docker(docker) => Place::Docker(DockerPlace {
                path: path.to_string_lossy().into_owned(),
                ..docker.clone()
            }),
        }
    }

    /// The folder's path where it is.
    pub fn path_text(&self) -> String {
        match self {
            Place::Local(path) => path.display().to_string(),
            Place::Ssh(ssh) => ssh.path.clone(),
            Place::Docker(docker) => docker.path.clone(),
        }
    }
}

impl SshPlace {
    /// `[user@]host[:port]` as the URL writes it (an IPv6 address in
    /// brackets).
    fn authority(&self) -> String {
        authority(self.user.as_deref(), &self.host, self.port)
    }

    /// `[user@]host`, as `ssh` takes it.
    pub fn destination(&self) -> String {
        destination(self.user.as_deref(), &self.host)
    }
}

/// `[user@]host[:port]` as an `ssh://` URL writes it (an IPv6 address in
/// brackets).
pub(super) fn authority(user: Option<&str>, host: &str, port: Option<u16>) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("{user}{host}{port}")
}

/// `[user@]host`, as `ssh` takes it.
pub(super) fn destination(user: Option<&str>, host: &str) -> String {
    match user {
        Some(user) => format!("{user}@{host}"),
        None => host.to_owned(),
    }
}

/// `[user@]host[:port]/path` of an `ssh://` URL.
fn parse_ssh(text: &str, rest: &str) -> Result<SshPlace, PlaceError> {
    let (authority, path) = split_path(text, rest)?;
    let (user, host, port) = parse_authority(text, &authority)?;
    Ok(SshPlace {
        user,
        host,
        port,
        path,
    })
}

/// The user, host and port of an `ssh://` URL's `[user@]host[:port]`
/// (`text`, the whole URL, is what errors name).
pub(super) fn parse_authority(
    text: &str,
    authority: &str,
) -> Result<(Option<String>, String, Option<u16>), PlaceError> {
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user.to_owned()), host),
        None => (None, authority),
    };
    // An IPv6 address is written in brackets: `ssh://[::1]:2222/srv`.
    let bracketed = host_port.strip_prefix('[').and_then(|r| r.split_once(']'));
    let (host, port) = match bracketed {
        Some((host, "")) => (host.to_owned(), None),
        Some((host, after)) => (
            host.to_owned(),
            Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| PlaceError::BadName(text.to_owned()))?,
            ),
        ),
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (host_port.to_owned(), None),
        },
    };
    let port = match port {
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| PlaceError::BadPort(text.to_owned()))?,
        ),
        None => None,
    };
    if host.is_empty() {
        return Err(PlaceError::NoHost(text.to_owned()));
    }
    refuse_dash(text, &host)?;
    if let Some(user) = &user {
        refuse_dash(text, user)?;
    }
    // Plain names only: they reach `ssh`'s configuration (`%h`, `%r`),
    // and a `user:password` would be shown wherever the place is.
    let plain = |name: &str, extra: &str| {
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c) || extra.contains(c))
    };
    let ipv6 = bracketed.is_some();
    if !plain(&host, if ipv6 { ":%" } else { "" })
        || user
            .as_deref()
            .is_some_and(|u| u.is_empty() || !plain(u, ""))
    {
        return Err(PlaceError::BadName(text.to_owned()));
    }
    Ok((user, host, port))
}

/// `authority/path` into the authority and the absolute path (`..` and
/// `.` folded away).
fn split_path(text: &str, rest: &str) -> Result<(String, String), PlaceError> {
    let (authority, path) = rest
        .split_once('/')
        .ok_or_else(|| PlaceError::NoPath(text.to_owned()))?;
    let path = crate::io::paths::normalize(Path::new(&format!("/{path}")));
    let path = path.to_string_lossy().into_owned();
    if path == "/" {
        return Err(PlaceError::NoPath(text.to_owned()));
    }
    Ok((authority.to_owned(), path))
}

/// A name that `ssh` or `docker` would read as an option.
fn refuse_dash(text: &str, name: &str) -> Result<(), PlaceError> {
    if name.starts_with('-') {
        return Err(PlaceError::Dash(text.to_owned()));
    }
    Ok(())
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Local(path) => write!(f, "{}", path.display()),
            Place::Ssh(ssh) => write!(f, "{SSH_SCHEME}{}{}", ssh.authority(), ssh.path),
            Place::Docker(docker) => {
                write!(f, "{DOCKER_SCHEME}{}{}", docker.container, docker.path)
            }
        }
    }
}

impl Serialize for Place {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Place {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Place::parse(&text, Path::new("/")).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Place {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Place".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        PathBuf::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Place, PlaceError> {
        Place::parse(text, Path::new("/etc/replicate"))
    }

    #[test]
    fn places_read_as_written_and_are_written_back_the_same() {
        for (text, place) in [
            (
                "ssh://netbox@nb1.example.net:2222/opt/netbox/netbox/media",
                Place::Ssh(SshPlace {
                    user: Some("netbox".into()),
                    host: "nb1.example.net".into(),
                    port: Some(2222),
                    path: "/opt/netbox/netbox/media".into(),
                }),
            ),
            (
                "ssh://nb1/srv/a b/$(touch x)",
                Place::Ssh(SshPlace {
                    user: None,
                    host: "nb1".into(),
                    port: None,
                    path: "/srv/a b/$(touch x)".into(),
                }),
            ),
            (
                "docker://netbox-docker-netbox-1/opt/netbox/netbox/media",
                Place::Docker(DockerPlace {
                    container: "netbox-docker-netbox-1".into(),
                    path: "/opt/netbox/netbox/media".into(),
                }),
            ),
            (
                "ssh://[::1]:22/m",
                Place::Ssh(SshPlace {
                    user: None,
                    host: "::1".into(),
                    port: Some(22),
                    path: "/m".into(),
                }),
            ),
            (
                "/opt/netbox/netbox/media",
                Place::Local("/opt/netbox/netbox/media".into()),
            ),
        ] {
            assert_eq!(parsed(text).unwrap(), place, "{text}");
            assert_eq!(place.to_string(), text);
        }
        assert_eq!(
            parsed("media").unwrap(),
            Place::Local("/etc/replicate/media".into())
        );
    }

    #[test]
    fn urls_without_a_host_path_or_port_or_with_an_option_are_refused() {
        for (text, error) in [
            (
                "ssh:///srv/media",
                PlaceError::NoHost("ssh:///srv/media".into()),
            ),
            ("ssh://nb1", PlaceError::NoPath("ssh://nb1".into())),
            ("ssh://nb1/", PlaceError::NoPath("ssh://nb1/".into())),
            ("ssh://nb1:x/m", PlaceError::BadPort("ssh://nb1:x/m".into())),
            ("ssh://nb1:0/m", PlaceError::BadPort("ssh://nb1:0/m".into())),
            (
                "ssh://-oProxyCommand=x/m",
                PlaceError::Dash("ssh://-oProxyCommand=x/m".into()),
            ),
            ("ssh://-l@nb1/m", PlaceError::Dash("ssh://-l@nb1/m".into())),
            ("docker:///m", PlaceError::NoContainer("docker:///m".into())),
            (
                "ssh://u:pw@nb1/m",
                PlaceError::BadName("ssh://u:pw@nb1/m".into()),
            ),
            ("ssh://nb1;x/m", PlaceError::BadName("ssh://nb1;x/m".into())),
            (
                "ssh://[::1]junk/m",
                PlaceError::BadName("ssh://[::1]junk/m".into()),
            ),
            (
                "ssh://$(x)@nb1/m",
                PlaceError::BadName("ssh://$(x)@nb1/m".into()),
            ),
            ("docker://-u/m", PlaceError::Dash("docker://-u/m".into())),
        ] {
            assert_eq!(parsed(text).unwrap_err(), error, "{text}");
        }
    }
}
