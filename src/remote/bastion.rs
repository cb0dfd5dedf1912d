//! The host a database's tunnel goes through, written
//! `ssh://[user@]host[:port]`: the same host and user names as an `ssh://`
//! folder's, with no path after them.

use std::fmt;

use super::place::{PlaceError, authority, destination, parse_authority};

const SCHEME: &str = "ssh://";

/// A bastion: an SSH server that reaches a database this machine cannot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bastion {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// Why a tunnel's URL cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BastionError {
    #[error("{0} is not an ssh:// URL")]
    NotSsh(String),
    #[error("{0} has a path: a tunnel names a host only")]
    Path(String),
    #[error(transparent)]
    Host(#[from] PlaceError),
}

impl Bastion {
    /// `ssh://[user@]host[:port]`, with nothing after it but an optional
    /// `/`.
    pub fn parse(text: &str) -> Result<Self, BastionError> {
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| BastionError::NotSsh(text.to_owned()))?;
        let authority = match rest.split_once('/') {
            Some((authority, "")) => authority,
            Some(_) => return Err(BastionError::Path(text.to_owned())),
            None => rest,
        };
        let (user, host, port) = parse_authority(text, authority)?;
        Ok(Self { user, host, port })
    }

    /// `[user@]host`, as `ssh` takes it.
    pub fn destination(&self) -> String {
        destination(self.user.as_deref(), &self.host)
    }

    /// The host, lower case, and its port (22 when not written): two
    /// tunnels through the same pair reach the same machine.
    pub fn machine(&self) -> String {
        format!(
            "{}:{}",
            self.host.to_ascii_lowercase(),
            self.port.unwrap_or(22)
        )
    }
}

impl fmt::Display for Bastion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SCHEME}{}",
            authority(self.user.as_deref(), &self.host, self.port)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bastion_reads_as_an_ssh_host_and_is_written_back_the_same() {
        for (text, user, host, port) in [
            ("ssh://jump.example.net", None, "jump.example.net", None),
            ("ssh://ops@jump:2222", Some("ops"), "jump", Some(2222)),
            ("ssh://[fd00::1]:22", None, "fd00::1", Some(22)),
        ] {
            let bastion = Bastion::parse(text).unwrap();
            assert_eq!(
                bastion,
                Bastion {
                    user: user.map(str::to_owned),
                    host: host.to_owned(),
                    port
                }
            );
            assert_eq!(bastion.to_string(), text);
        }
        assert_eq!(
            Bastion::parse("ssh://ops@jump/").unwrap().destination(),
            "ops@jump"
        );
    }

    #[test]
    fn a_path_a_password_an_option_or_another_scheme_is_refused() {
        for (text, error) in [
            (
                "ssh://jump/srv",
                BastionError::Path("ssh://jump/srv".into()),
            ),
            ("https://jump", BastionError::NotSsh("https://jump".into())),
            (
                "ssh://ops:secret@jump",
                PlaceError::BadName("ssh://ops:secret@jump".into()).into(),
            ),
            (
                "ssh://-oProxyCommand=x",
                PlaceError::Dash("ssh://-oProxyCommand=x".into()).into(),
            ),
            ("ssh://", PlaceError::NoHost("ssh://".into()).into()),
            (
                "ssh://jump:0",
                PlaceError::BadPort("ssh://jump:0".into()).into(),
            ),
        ] {
            assert_eq!(Bastion::parse(text).unwrap_err(), error, "{text}");
        }
    }
}
