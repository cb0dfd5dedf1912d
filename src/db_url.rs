//! PostgreSQL connection URLs, with the password kept apart so that it is never
//! shown, logged or put on a command line.

use std::fmt;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use url::Url;

/// Characters escaped in a database name placed in a URL path.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A password. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
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

/// A parsed `postgresql://` URL. The password is held apart from the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbUrl {
    /// The URL without any password (neither in the user info nor in the query).
    url: Url,
    password: Option<Secret>,
    password_in_query: bool,
    database: String,
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
}

impl DbUrl {
    pub fn parse(text: &str) -> Result<Self, DbUrlError> {
        let lower = text.to_ascii_lowercase();
        if !(lower.starts_with("postgresql://") || lower.starts_with("postgres://")) {
            return Err(DbUrlError::Scheme);
        }
        let mut url = Url::parse(text).map_err(|e| DbUrlError::Syntax(e.to_string()))?;
        let mut password = url.password().map(decode).map(Secret);
        let mut password_in_query = false;
        // A URL without a password must not end up with an empty one.
        let _ = url.set_password(None);

        let mut query_host = None;
        let mut query_port = None;
        let mut query_db = None;
        let mut query_user = None;
        let mut kept: Vec<(String, String)> = Vec::new();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (key, value) in pairs {
            match key.as_ref() {
                "password" => {
                    password = Some(Secret(value));
                    password_in_query = true;
                    continue;
                }
                "host" => query_host = Some(value.clone()),
                "port" => query_port = Some(value.clone()),
                "dbname" => query_db = Some(value.clone()),
                "user" => query_user = Some(value.clone()),
                _ => {}
            }
            kept.push((key, value));
        }
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }

        let path_db = decode(url.path().trim_start_matches('/'));
        let database = query_db.unwrap_or(path_db);
        if database.is_empty() {
            return Err(DbUrlError::NoDatabase);
        }
        let port = match query_port {
            Some(p) => Some(
                p.parse()
                    .map_err(|_| DbUrlError::Syntax(format!("invalid port `{p}`")))?,
            ),
            None => url.port(),
        };
        let host = query_host.or_else(|| {
            url.host_str()
                .filter(|h| !h.is_empty())
                .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        });
        let user = query_user.or_else(|| Some(decode(url.username())).filter(|u| !u.is_empty()));
        Ok(Self {
            url,
            password,
            password_in_query,
            database,
            user,
            host,
            port,
        })
    }

    /// The database name (decoded).
    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The host as written (a name, an address or a socket folder); `None`
    /// means libpq's default.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The URL to hand to a child program: everything but the password, which
    /// goes through `PGPASSWORD` instead.
    pub fn conninfo(&self) -> String {
        self.url.to_string()
    }

    /// The URL for people to read: the password, if any, shows as `***`.
    pub fn redacted(&self) -> String {
        if self.password.is_none() {
            return self.url.to_string();
        }
        let mut shown = self.url.clone();
        if self.password_in_query {
            shown.query_pairs_mut().append_pair("password", "***");
            return shown.to_string();
        }
        if shown.set_password(Some("***")).is_err() {
            return format!("{} (password hidden)", self.url);
        }
        shown.to_string()
    }

    /// `host:port` (or `the local socket`) for messages.
    pub fn server_label(&self) -> String {
        let host = self.host().unwrap_or("the local socket");
        match self.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The same server and credentials with another database (for the
    /// maintenance connection).
    pub fn with_database(&self, database: &str) -> Self {
        let mut other = self.clone();
        other.database = database.to_owned();
        let encoded = format!("/{}", utf8_percent_encode(database, PATH_SEGMENT));
        other.url.set_path(&encoded);
        let kept: Vec<(String, String)> = other
            .url
            .query_pairs()
            .filter(|(k, _)| k != "dbname")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            other.url.set_query(None);
        } else {
            other.url.query_pairs_mut().clear().extend_pairs(kept);
        }
        other
    }

    /// Whether both URLs reach the same database on the same server. Every
    /// local way of reaching a server (no host, `localhost`, a loopback
    /// address, a socket folder) counts as the same machine, so the check errs
    /// on the side of refusing.
    pub fn same_database_as(&self, other: &DbUrl) -> bool {
        self.database == other.database
            && self.port.unwrap_or(5432) == other.port.unwrap_or(5432)
            && server_name(self.host()) == server_name(other.host())
    }
}

fn server_name(host: Option<&str>) -> String {
    match host {
        None | Some("") | Some("localhost") | Some("127.0.0.1") | Some("::1") => "local".to_owned(),
        Some(h) if h.starts_with('/') => "local".to_owned(),
        Some(h) => h.to_ascii_lowercase(),
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

    #[test]
    fn password_is_kept_apart() {
        let url = DbUrl::parse("postgresql://netbox:p%40ss@db.example.net:5433/netbox").unwrap();
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
        assert_eq!(url.host(), Some("db.example.net"));
        assert_eq!(url.port(), Some(5433));
    }

    #[test]
    fn password_in_query_is_kept_apart_too() {
        let url = DbUrl::parse("postgresql:///netbox?host=/run/pg&password=hunter2").unwrap();
        assert_eq!(url.password().unwrap().expose(), "hunter2");
        assert!(!url.conninfo().contains("hunter2"));
        assert!(!url.redacted().contains("hunter2"));
        assert!(url.redacted().contains("***"));
        assert_eq!(url.host(), Some("/run/pg"));
    }

    #[test]
    fn no_password_shows_the_url_as_is() {
        let url = DbUrl::parse("postgres://netbox@localhost/netbox").unwrap();
        assert_eq!(url.redacted(), "postgres://netbox@localhost/netbox");
        assert!(url.password().is_none());
    }

    #[test]
    fn rejects_other_schemes_and_missing_databases() {
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
        assert!(matches!(
            DbUrl::parse("postgresql://host:99999/db"),
            Err(DbUrlError::Syntax(_))
        ));
    }

    #[test]
    fn maintenance_url_keeps_server_and_options() {
        let url = DbUrl::parse("postgresql://u:pw@h:6000/netbox?sslmode=require").unwrap();
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
        let url = DbUrl::parse("postgresql://h/net%22box%3B%20drop").unwrap();
        assert_eq!(url.database(), "net\"box; drop");
        let again = DbUrl::parse(&url.with_database("net\"box; drop").conninfo()).unwrap();
        assert_eq!(again.database(), "net\"box; drop");
    }

    #[test]
    fn same_database_detection() {
        let a = |s: &str| DbUrl::parse(s).unwrap();
        assert!(
            a("postgresql://localhost/netbox")
                .same_database_as(&a("postgresql://127.0.0.1:5432/netbox"))
        );
        assert!(a("postgresql:///netbox").same_database_as(&a("postgresql://u@localhost/netbox")));
        assert!(
            !a("postgresql://localhost/netbox")
                .same_database_as(&a("postgresql://localhost:5433/netbox"))
        );
        assert!(!a("postgresql://prod/netbox").same_database_as(&a("postgresql://staging/netbox")));
        assert!(!a("postgresql://prod/netbox").same_database_as(&a("postgresql://prod/netbox2")));
        assert!(a("postgresql://PROD/netbox").same_database_as(&a("postgresql://prod/netbox")));
    }
}
