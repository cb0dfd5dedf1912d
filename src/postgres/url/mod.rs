//! PostgreSQL connection URLs as libpq reads them, with the password kept
//! apart so that it is never shown, logged or put on a command line.
//!
//! libpq's form is `postgresql://[user[:password]@][host][:port][,...][/dbname][?name=value&...]`:
//! every part may be empty or percent-encoded, a host may be an IPv6 address
//! in brackets or a socket folder (`%2Frun%2Fpostgresql`), several hosts may
//! be listed, and the query may set any connection parameter, `host`,
//! `port`, `user`, `dbname` and `password` included, overriding the URL's.
//! replicate splits the URL itself, so that the text handed to children is
//! exactly what was written, less the password.

mod forward;
mod parts;

use std::fmt;

pub use self::parts::DbUrlError;
use self::parts::{Parts, decode};
use super::secrets::Secret;

/// libpq's default port.
const DEFAULT_PORT: u16 = 5432;

/// One server a URL may connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Server {
    /// The host as libpq will use it: a name, an address, a socket folder,
    /// or `None` for the default.
    host: Option<String>,
    /// `hostaddr`, which libpq connects to instead of resolving `host`.
    hostaddr: Option<String>,
    port: Option<u16>,
}

/// A parsed PostgreSQL URL. The password is held apart from the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbUrl {
    /// The URL as it will be used (variables replaced).
    parts: Parts,
    /// The URL as written in the manifest (`${NAME}` kept), for people.
    shown: Parts,
    password: Option<Secret>,
    database: String,
    user: Option<String>,
    servers: Vec<Server>,
    /// `service=NAME`: the servers come from `pg_service.conf`.
    service: Option<String>,
}

impl DbUrl {
    pub fn parse(text: &str) -> Result<Self, DbUrlError> {
        Self::parse_written(text, text)
    }

    /// Parses `text`, the URL with every `${NAME}` replaced, remembering
    /// `written`, the URL as written, to show people instead.
    pub fn parse_written(text: &str, written: &str) -> Result<Self, DbUrlError> {
        let parts = Parts::split(text)?;
        let shown = if written == text {
            parts.clone()
        } else {
            Parts::split(written).unwrap_or_else(|_| parts.clone())
        };
        let password = parts
            .param("password")
            .or_else(|| parts.password.as_deref().map(decode))
            .map(Secret::new);
        let database = parts
            .param("dbname")
            .or_else(|| parts.path.as_deref().map(decode))
            .unwrap_or_default();
        if database.is_empty() {
            return Err(DbUrlError::NoDatabase);
        }
        let user = parts
            .param("user")
            .or_else(|| parts.user.as_deref().map(decode))
            .filter(|u| !u.is_empty());
        let servers = servers(&parts)?;
        Ok(Self {
            service: parts.param("service").filter(|s| !s.is_empty()),
            parts,
            shown,
            password,
            database,
            user,
            servers,
        })
    }

    /// The database name (decoded).
    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The URL to hand to a child program: everything but the password,
    /// which goes through `PGPASSWORD` instead.
    pub fn conninfo(&self) -> String {
        self.parts.join(None)
    }

    /// [`Self::conninfo`] as the manifest wrote it, `${NAME}` kept: what
    /// plans and output show.
    pub fn conninfo_shown(&self) -> String {
        self.shown.join(None)
    }

    /// The URL for people to read: as written, with the password, if any,
    /// shown as `***`.
    pub fn redacted(&self) -> String {
        self.shown.join(Some("***"))
    }

    /// The URL as written, with `text` in the password's place (`init`
    /// writes `${NAME}` there).
    pub fn written_with_password(&self, text: &str) -> String {
        self.shown.join(Some(text))
    }

    /// `host:port` (or `the local socket`) for messages.
    pub fn server_label(&self) -> String {
        let labels: Vec<String> = self
            .servers
            .iter()
            .map(|s| {
                let host = match s.host.as_deref() {
                    None => "the local socket".to_owned(),
                    Some(h) if h.contains(':') && !h.starts_with('/') => format!("[{h}]"),
                    Some(h) => h.to_owned(),
                };
                match s.port {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            })
            .collect();
        labels.join(", ")
    }

    /// The same server and credentials with another database (for the
    /// maintenance connection).
    pub fn with_database(&self, database: &str) -> Self {
        let mut other = self.clone();
        other.database = database.to_owned();
        other.parts = self.parts.with_database(database);
        other.shown = self.shown.with_database(database);
        other
    }

    /// Whether both URLs may reach the same database on the same server.
    /// Every local way of reaching a server (no host, `localhost`, a
    /// loopback address, a socket folder) counts as the same machine, and
    /// two URLs sharing any server of their host lists count as the same
    /// server, so the check errs on the side of refusing.
    pub fn same_database_as(&self, other: &DbUrl) -> bool {
        self.same_database_from(None, other, None)
    }

    /// [`Self::same_database_as`] for URLs that may be read on other
    /// machines (`mine` and `theirs`, the bastions of their tunnels):
    /// there, a local way of reaching a server means that machine. Host
    /// names count as the same wherever they are read.
    pub fn same_database_from(
        &self,
        mine: Option<&str>,
        other: &DbUrl,
        theirs: Option<&str>,
    ) -> bool {
        if self.database != other.database {
            return false;
        }
        if self.service.is_some() || other.service.is_some() {
            return self.service == other.service;
        }
        let ids = |url: &DbUrl, from: Option<&str>| -> Vec<(String, u16)> {
            url.servers
                .iter()
                .map(|s| {
                    let host = s.hostaddr.as_deref().or(s.host.as_deref());
                    let name = match (server_name(host), from) {
                        (name, Some(machine)) if name == LOCAL => format!("{LOCAL} on {machine}"),
                        (name, _) => name,
                    };
                    (name, s.port.unwrap_or(DEFAULT_PORT))
                })
                .collect()
        };
        let theirs = ids(other, theirs);
        ids(self, mine).iter().any(|id| theirs.contains(id))
    }
}

/// The servers of a URL: its host list (or the `host` parameter), each with
/// its port (or the `port` parameter's, one for all or one each).
fn servers(parts: &Parts) -> Result<Vec<Server>, DbUrlError> {
    let mut hosts: Vec<Option<String>> = Vec::new();
    let mut ports: Vec<Option<String>> = Vec::new();
    for item in parts.hosts.split(',') {
        let (host, port) = split_host_port(item)?;
        hosts.push(host.map(|h| decode(&h)).filter(|h| !h.is_empty()));
        ports.push(port.filter(|p| !p.is_empty()));
    }
    if let Some(list) = parts.param("host") {
        hosts = list
            .split(',')
            .map(|h| Some(h.to_owned()).filter(|h| !h.is_empty()))
            .collect();
    }
    if let Some(list) = parts.param("port") {
        ports = list
            .split(',')
            .map(|p| Some(p.to_owned()).filter(|p| !p.is_empty()))
            .collect();
    }
    let hostaddrs: Vec<Option<String>> = parts
        .param("hostaddr")
        .map(|list| {
            list.split(',')
                .map(|a| Some(a.to_owned()).filter(|a| !a.is_empty()))
                .collect()
        })
        .unwrap_or_default();
    let count = hosts.len().max(hostaddrs.len());
    if ports.len() > 1 && ports.len() != count {
        return Err(DbUrlError::Syntax(format!(
            "{} ports for {count} hosts",
            ports.len()
        )));
    }
    let mut servers = Vec::with_capacity(count);
    for i in 0..count {
        let port = match ports.get(i).or(ports.first()).cloned().flatten() {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| DbUrlError::Syntax(format!("invalid port `{p}`")))?,
            ),
            None => None,
        };
        servers.push(Server {
            host: hosts.get(i).cloned().flatten(),
            hostaddr: hostaddrs.get(i).cloned().flatten(),
            port,
        });
    }
    Ok(servers)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or `:port`.
fn split_host_port(item: &str) -> Result<(Option<String>, Option<String>), DbUrlError> {
    if let Some(rest) = item.strip_prefix('[') {
        let (address, after) = rest
            .split_once(']')
            .ok_or_else(|| DbUrlError::Syntax(format!("unclosed `[` in `{item}`")))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| DbUrlError::Syntax(format!("unexpected `{after}`")))?
                    .to_owned(),
            ),
        };
        return Ok((Some(address.to_owned()), port));
    }
    Ok(match item.split_once(':') {
        Some((host, port)) => (Some(host.to_owned()), Some(port.to_owned())),
        None => (Some(item.to_owned()), None),
    })
}

/// What [`server_name`] calls every local way of reaching a server.
const LOCAL: &str = "local";

fn server_name(host: Option<&str>) -> String {
    match host {
        None => LOCAL.to_owned(),
        Some(h) if h.starts_with('/') || h.starts_with('@') => LOCAL.to_owned(),
        Some(h) => {
            let h = h.to_ascii_lowercase();
            let loopback = h == "localhost"
                || h == "::1"
                || h == "0:0:0:0:0:0:0:1"
                || h.starts_with("127.")
                || h.ends_with(".localhost");
            if loopback { LOCAL.to_owned() } else { h }
        }
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests;
