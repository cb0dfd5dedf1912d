//! A libpq URL cut into its parts as written, and put back together
//! without its password (or with it masked).

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

/// Why a string is not a usable PostgreSQL URL.
#[derive(Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(replicate::database_url))]
pub enum DbUrlError {
    #[error("not a PostgreSQL URL: it must start with `postgresql://` or `postgres://`")]
    Scheme,
    #[error("not a valid URL: {0}")]
    Syntax(String),
    #[error("the URL names no database")]
    NoDatabase,
}

/// The text with its `%XX` escapes decoded.
pub(super) fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// A URL cut into the parts libpq sees, each as written (still encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Parts {
    pub(super) scheme: String,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    /// `host[:port]` items, as written, comma-separated in the URL.
    pub(super) hosts: String,
    pub(super) path: Option<String>,
    /// `name=value` pairs as written, the password's included.
    pub(super) query: Vec<(String, String)>,
}

impl Parts {
    pub(super) fn split(text: &str) -> Result<Self, DbUrlError> {
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
    pub(super) fn param(&self, name: &str) -> Option<String> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| decode(key) == name)
            .map(|(_, value)| decode(value))
    }

    /// The URL again, the password left out (`None`) or shown as `mask`.
    pub(super) fn join(&self, mask: Option<&str>) -> String {
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
    pub(super) fn with_database(&self, database: &str) -> Self {
        let mut other = self.clone();
        other.path = Some(utf8_percent_encode(database, PATH_SEGMENT).to_string());
        other.query.retain(|(key, _)| decode(key) != "dbname");
        other
    }
}
