//! How libpq URLs are read, shown and compared.

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
