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

use std::fmt;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Characters escaped in a database name placed in a URL path.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'&')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// libpq's default port.
const DEFAULT_PORT: u16 = 5432;

/// A password. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a string is not a usable PostgreSQL URL.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DbUrlError {
    #[error("not a PostgreSQL URL: it must start with `postgresql://` or `postgres://`")]
    Scheme,
    #[error("not a valid URL: {0}")]
    Syntax(String),
    #[error("the URL names no database")]
    NoDatabase,
}

/// A URL cut into the parts libpq sees, each as written (still encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Parts {
    scheme: String,
    user: Option<String>,
    password: Option<String>,
    /// `host[:port]` items, as written, comma-separated in the URL.
    hosts: String,
    path: Option<String>,
    /// `name=value` pairs as written, the password's included.
    query: Vec<(String, String)>,
}

impl Parts {
    fn split(text: &str) -> Result<Self, DbUrlError> {
        let (scheme, rest) = text.split_once("://").ok_or(DbUrlError::Scheme)?;
        let lower = scheme.to_ascii_lowercase();
        if lower != "postgresql" && lower != "postgres" {
            return Err(DbUrlError::Scheme);
        }
        let (before_query, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.split_once('/') {
            Some((authority, path)) => (authority, Some(path.to_owned())),
            None => (before_query, None),
        };
        // libpq takes the first `@` as the end of the user information.
        let (userinfo, hosts) = match authority.split_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (Some(user.to_owned()), Some(password.to_owned())),
                None => (Some(info.to_owned()), None),
            },
            None => (None, None),
        };
        let mut pairs = Vec::new();
        for pair in query.unwrap_or_default().split('&') {
            if pair.is_empty() {
                continue;
            }
            let Some((name, value)) = pair.split_once('=') else {
                return Err(DbUrlError::Syntax(format!(
                    "the query parameter `{pair}` has no `=`"
                )));
            };
            pairs.push((name.to_owned(), value.to_owned()));
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            user: user.filter(|u| !u.is_empty()),
            password,
            hosts: hosts.to_owned(),
            path,
            query: pairs,
        })
    }

    /// The value of a query parameter, decoded; the last one wins.
    fn param(&self, name: &str) -> Option<String> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| decode(key) == name)
            .map(|(_, value)| decode(value))
    }

    /// The URL again, the password left out (`None`) or shown as `mask`.
    fn join(&self, mask: Option<&str>) -> String {
        let mut out = format!("{}://", self.scheme);
        if let Some(user) = &self.user {
            out.push_str(user);
            if let (Some(mask), Some(_)) = (mask, &self.password) {
                out.push(':');
                out.push_str(mask);
            }
            out.push('@');
        } else if let (Some(mask), Some(_)) = (mask, &self.password) {
            out.push(':');
            out.push_str(mask);
            out.push('@');
        }
        out.push_str(&self.hosts);
        if let Some(path) = &self.path {
            out.push('/');
            out.push_str(path);
        }
        let kept: Vec<String> = self
            .query
            .iter()
            .filter_map(|(key, value)| {
                if decode(key) != "password" {
                    Some(format!("{key}={value}"))
                } else {
                    mask.map(|m| format!("{key}={m}"))
                }
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
        out
    }

    /// The same parts naming another database.
    fn with_database(&self, database: &str) -> Self {
        let mut other = self.clone();
        other.path = Some(utf8_percent_encode(database, PATH_SEGMENT).to_string());
        other.query.retain(|(key, _)| decode(key) != "dbname");
        other
    }
}

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
            .map(Secret);
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
        if self.database != other.database {
            return false;
        }
        if self.service.is_some() || other.service.is_some() {
            return self.service == other.service;
        }
        let ids = |url: &DbUrl| -> Vec<(String, u16)> {
            url.servers
                .iter()
                .map(|s| {
                    let host = s.hostaddr.as_deref().or(s.host.as_deref());
                    (server_name(host), s.port.unwrap_or(DEFAULT_PORT))
                })
                .collect()
        };
        let theirs = ids(other);
        ids(self).iter().any(|id| theirs.contains(id))
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

fn server_name(host: Option<&str>) -> String {
    match host {
        None => "local".to_owned(),
        Some(h) if h.starts_with('/') || h.starts_with('@') => "local".to_owned(),
        Some(h) => {
            let h = h.to_ascii_lowercase();
            let loopback = h == "localhost"
                || h == "::1"
                || h == "0:0:0:0:0:0:0:1"
                || h.starts_with("127.")
                || h.ends_with(".localhost");
            if loopback { "local".to_owned() } else { h }
        }
    }
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> DbUrl {
        DbUrl::parse(s).unwrap()
    }

    #[test]
    fn password_is_kept_apart() {
        let url = url("postgresql://netbox:p%40ss@db.example.net:5433/netbox");
        assert_eq!(url.password().unwrap().expose(), "p@ss");
        assert_eq!(
            url.conninfo(),
            "postgresql://netbox@db.example.net:5433/netbox"
        );
        assert_eq!(
            url.redacted(),
            "postgresql://netbox:***@db.example.net:5433/netbox"
        );
        assert!(!format!("{url:?}").contains("p@ss"));
        assert_eq!(url.database(), "netbox");
        assert_eq!(url.user(), Some("netbox"));
        assert_eq!(url.server_label(), "db.example.net:5433");
    }

    #[test]
    fn password_in_query_is_kept_apart_too() {
        let url = url("postgresql:///netbox?host=/run/pg&password=hunter2");
        assert_eq!(url.password().unwrap().expose(), "hunter2");
        assert_eq!(url.conninfo(), "postgresql:///netbox?host=/run/pg");
        assert_eq!(
            url.redacted(),
            "postgresql:///netbox?host=/run/pg&password=***"
        );
        assert_eq!(url.server_label(), "/run/pg");
    }

    #[test]
    fn no_password_shows_the_url_as_is() {
        let url = url("postgres://netbox@localhost/netbox");
        assert_eq!(url.redacted(), "postgres://netbox@localhost/netbox");
        assert!(url.password().is_none());
    }

    #[test]
    fn every_form_libpq_accepts_for_the_server() {
        // A user and a socket folder in the query, no host in the URL.
        let u = url("postgresql://postgres@/netbox?host=/run/postgresql");
        assert_eq!(u.user(), Some("postgres"));
        assert_eq!(u.database(), "netbox");
        assert_eq!(u.server_label(), "/run/postgresql");
        assert_eq!(
            u.conninfo(),
            "postgresql://postgres@/netbox?host=/run/postgresql"
        );
        // A percent-encoded socket folder as the host.
        let u = url("postgresql://postgres@%2Frun%2Fpostgresql:5433/netbox");
        assert_eq!(u.server_label(), "/run/postgresql:5433");
        // IPv6 in brackets, with and without a port.
        assert_eq!(
            url("postgresql://[::1]:5433/db").server_label(),
            "[::1]:5433"
        );
        assert_eq!(
            url("postgresql://u@[2001:db8::7]/db").server_label(),
            "[2001:db8::7]"
        );
        // Several hosts, each with its port, or one port for all.
        assert_eq!(url("postgresql://a:5433,b/db").server_label(), "a:5433, b");
        assert_eq!(
            url("postgresql:///db?host=a,b&port=6000").server_label(),
            "a:6000, b:6000"
        );
        // User, database and port from the query.
        let u = url("postgresql://h/ignored?user=nb&dbname=netbox&port=6432");
        assert_eq!(u.user(), Some("nb"));
        assert_eq!(u.database(), "netbox");
        assert_eq!(u.server_label(), "h:6432");
        // No host, no port: libpq's default socket.
        assert_eq!(
            url("postgresql:///netbox").server_label(),
            "the local socket"
        );
        // Scheme case does not matter.
        assert_eq!(url("PostgreSQL://h/db").database(), "db");
    }

    #[test]
    fn rejects_other_schemes_bad_ports_and_missing_databases() {
        assert_eq!(DbUrl::parse("mysql://x/y"), Err(DbUrlError::Scheme));
        assert_eq!(DbUrl::parse("netbox"), Err(DbUrlError::Scheme));
        assert_eq!(
            DbUrl::parse("postgresql://host"),
            Err(DbUrlError::NoDatabase)
        );
        assert_eq!(
            DbUrl::parse("postgresql://host/"),
            Err(DbUrlError::NoDatabase)
        );
        for bad in [
            "postgresql://host:99999/db",
            "postgresql://host:x/db",
            "postgresql://host/db?port=0",
            "postgresql://a,b,c/db?port=1,2",
            "postgresql://[::1/db",
            "postgresql://h/db?sslmode",
        ] {
            assert!(
                matches!(DbUrl::parse(bad), Err(DbUrlError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn maintenance_url_keeps_server_and_options() {
        let url = url("postgresql://u:pw@h:6000/netbox?sslmode=require&dbname=netbox");
        let maint = url.with_database("postgres");
        assert_eq!(
            maint.conninfo(),
            "postgresql://u@h:6000/postgres?sslmode=require"
        );
        assert_eq!(maint.password().unwrap().expose(), "pw");
        assert_eq!(maint.database(), "postgres");
    }

    #[test]
    fn odd_database_names_round_trip() {
        let url = url("postgresql://h/net%22box%3B%20drop");
        assert_eq!(url.database(), "net\"box; drop");
        let again = DbUrl::parse(&url.with_database("net\"box; drop&?/").conninfo()).unwrap();
        assert_eq!(again.database(), "net\"box; drop&?/");
    }

    #[test]
    fn written_form_is_shown_and_the_expanded_one_used() {
        let u = DbUrl::parse_written(
            "postgresql://nb:s3cret@db.internal/netbox",
            "postgresql://nb:${PW}@${DB_HOST}/netbox",
        )
        .unwrap();
        assert_eq!(u.conninfo(), "postgresql://nb@db.internal/netbox");
        assert_eq!(u.conninfo_shown(), "postgresql://nb@${DB_HOST}/netbox");
        assert_eq!(u.redacted(), "postgresql://nb:***@${DB_HOST}/netbox");
        assert_eq!(u.password().unwrap().expose(), "s3cret");
    }

    #[test]
    fn same_database_detection() {
        let same = |a: &str, b: &str| url(a).same_database_as(&url(b));
        assert!(same(
            "postgresql://localhost/netbox",
            "postgresql://127.0.0.1:5432/netbox"
        ));
        assert!(same(
            "postgresql:///netbox",
            "postgresql://u@localhost/netbox"
        ));
        assert!(same(
            "postgresql://postgres@/netbox?host=/run/postgresql",
            "postgresql://localhost/netbox"
        ));
        assert!(same(
            "postgresql://%2Fvar%2Frun%2Fpostgresql/netbox",
            "postgresql://[::1]/netbox"
        ));
        assert!(same(
            "postgresql://a,prod:5433/netbox",
            "postgresql://prod:5433/netbox"
        ));
        assert!(same(
            "postgresql://h/x?dbname=netbox&port=5433",
            "postgresql://H:5433/netbox"
        ));
        assert!(same(
            "postgresql://name.example/netbox?hostaddr=10.0.0.5",
            "postgresql://10.0.0.5/netbox"
        ));
        assert!(same(
            "postgresql:///netbox?service=prod",
            "postgresql:///netbox?service=prod"
        ));
        assert!(!same(
            "postgresql://localhost/netbox",
            "postgresql://localhost:5433/netbox"
        ));
        assert!(!same(
            "postgresql://prod/netbox",
            "postgresql://staging/netbox"
        ));
        assert!(!same(
            "postgresql://prod/netbox",
            "postgresql://prod/netbox2"
        ));
        assert!(!same(
            "postgresql:///netbox?service=prod",
            "postgresql:///netbox?service=staging"
        ));
        assert!(same("postgresql://PROD/netbox", "postgresql://prod/netbox"));
    }
}
