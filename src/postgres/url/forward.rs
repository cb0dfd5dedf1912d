//! A URL reached through a tunnel: the one server it names, where the
//! tunnel's far end must connect, and the URL that sends libpq to the
//! tunnel's near end instead while its host name stays for TLS.

use std::net::SocketAddr;

use super::{DEFAULT_PORT, DbUrl};

/// Why a URL's server cannot be reached through a tunnel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    #[error("it names {0} servers, and a tunnel leads to one")]
    Servers(usize),
    #[error("it names no host, and a tunnel leads to a host and port")]
    NoHost,
    #[error("its host {0} is a socket folder, and a tunnel leads to a host and port")]
    Socket(String),
    #[error("it names a service (`service=`), and a tunnel needs the host written in the URL")]
    Service,
    #[error("its host {0} is not a plain host name or address")]
    BadHost(String),
}

impl DbUrl {
    /// The host (the URL's `hostaddr`, when it gives one) and port that
    /// the far end of a tunnel connects to, as that end names them.
    pub fn forward_target(&self) -> Result<(String, u16), ForwardError> {
        if self.service.is_some() {
            return Err(ForwardError::Service);
        }
        let [server] = self.servers.as_slice() else {
            return Err(ForwardError::Servers(self.servers.len()));
        };
        let host = server
            .hostaddr
            .as_deref()
            .or(server.host.as_deref())
            .ok_or(ForwardError::NoHost)?;
        if host.starts_with('/') || host.starts_with('@') {
            return Err(ForwardError::Socket(host.to_owned()));
        }
        // It goes into ssh's `-L` specification, which colons cut: a
        // name, or an address (an IPv6 one is put in brackets there).
        let plain = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:%".contains(c));
        if !plain || host.starts_with('-') {
            return Err(ForwardError::BadHost(host.to_owned()));
        }
        Ok((host.to_owned(), server.port.unwrap_or(DEFAULT_PORT)))
    }

    /// The same URL reaching its server through `local`, a tunnel's near
    /// end: libpq connects to that address (`hostaddr`, after everything
    /// the URL says, so that it wins) while `host` stays the name written,
    /// which TLS checks the server's certificate against
    /// (`sslmode=verify-full`) and a password file is searched by. The
    /// port is the one written when the tunnel's end has it (so the
    /// password file's line for it still holds); otherwise, or when none
    /// is written, `port` names the end's. Only the URL used changes: the
    /// one shown is still the one written, and the server is still the
    /// one it names.
    pub fn through(&self, local: SocketAddr) -> DbUrl {
        let mut other = self.clone();
        let query = &mut other.parts.query;
        query.push(("hostaddr".to_owned(), local.ip().to_string()));
        let written = self.servers.first().and_then(|s| s.port);
        if written != Some(local.port()) {
            query.push(("port".to_owned(), local.port().to_string()));
        }
        other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> DbUrl {
        DbUrl::parse(s).unwrap()
    }

    #[test]
    fn the_tunnel_leads_to_the_one_server_the_url_names() {
        for (text, host, port) in [
            (
                "postgresql://netbox@db.internal:5433/netbox",
                "db.internal",
                5433,
            ),
            ("postgres://netbox@localhost/netbox", "localhost", 5432),
            ("postgresql://u@[fd00::5]:6000/db", "fd00::5", 6000),
            (
                "postgresql://u@db/x?hostaddr=10.0.0.7&port=6432",
                "10.0.0.7",
                6432,
            ),
            ("postgresql:///x?host=db.internal", "db.internal", 5432),
        ] {
            assert_eq!(
                url(text).forward_target(),
                Ok((host.to_owned(), port)),
                "{text}"
            );
        }
        for (text, error) in [
            ("postgresql://a,b/db", ForwardError::Servers(2)),
            ("postgresql://u@/db", ForwardError::NoHost),
            (
                "postgresql:///db?host=/run/postgresql",
                ForwardError::Socket("/run/postgresql".into()),
            ),
            ("postgresql:///db?service=prod", ForwardError::Service),
            (
                "postgresql:///db?host=db%20x",
                ForwardError::BadHost("db x".into()),
            ),
        ] {
            assert_eq!(url(text).forward_target(), Err(error), "{text}");
        }
    }

    #[test]
    fn through_a_tunnel_libpq_connects_to_its_end_and_people_see_the_url_written() {
        let written = DbUrl::parse_written(
            "postgresql://netbox:s3cret@db.internal:5432/netbox?sslmode=verify-full",
            "postgresql://netbox:${PW}@db.internal:5432/netbox?sslmode=verify-full",
        )
        .unwrap();
        let local = SocketAddr::from(([127, 0, 0, 1], 41234));
        let through = written.through(local);
        assert_eq!(
            through.conninfo(),
            "postgresql://netbox@db.internal:5432/netbox?sslmode=verify-full&hostaddr=127.0.0.1&port=41234"
        );
        // The end on the database's own port: only the address changes.
        let same_port = written.through(SocketAddr::from(([127, 9, 8, 7], 5432)));
        assert_eq!(
            same_port.conninfo(),
            "postgresql://netbox@db.internal:5432/netbox?sslmode=verify-full&hostaddr=127.9.8.7"
        );
        // No port written: the end's is named, whatever PGPORT says.
        assert!(
            url("postgresql://u@db/x")
                .through(SocketAddr::from(([127, 9, 8, 7], 5432)))
                .conninfo()
                .ends_with("?hostaddr=127.9.8.7&port=5432")
        );
        assert_eq!(through.conninfo_shown(), written.conninfo_shown());
        assert_eq!(through.redacted(), written.redacted());
        assert_eq!(through.server_label(), "db.internal:5432");
        // The maintenance database goes the same way.
        assert!(
            through
                .with_database("postgres")
                .conninfo()
                .ends_with("/postgres?sslmode=verify-full&hostaddr=127.0.0.1&port=41234")
        );
        // What libpq reads back: the tunnel's end, the name for TLS.
        let read = url(&through.conninfo());
        assert_eq!(read.servers[0].hostaddr.as_deref(), Some("127.0.0.1"));
        assert_eq!(read.servers[0].host.as_deref(), Some("db.internal"));
        assert_eq!(read.servers[0].port, Some(41234));
    }

    #[test]
    fn local_names_behind_different_bastions_are_different_machines() {
        let a = url("postgresql://localhost/netbox");
        let b = url("postgresql://127.0.0.1/netbox");
        assert!(a.same_database_as(&b));
        assert!(a.same_database_from(Some("jump:22"), &b, Some("jump:22")));
        assert!(!a.same_database_from(Some("jump:22"), &b, None));
        assert!(!a.same_database_from(Some("a:22"), &b, Some("b:22")));
        // A host name is the same machine wherever it is read.
        let c = url("postgresql://db.internal/netbox");
        assert!(c.same_database_from(Some("jump:22"), &c, None));
    }
}
