//! What can stop `init`.

use miette::Diagnostic;

use crate::manifest::ManifestDiagnostic;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum InitError {
    #[error("{path} already exists")]
    #[diagnostic(
        code(init::exists),
        help("give --force to overwrite it, or -m to write another file")
    )]
    Exists { path: String },

    #[error("the {side} URL is not valid: {reason}")]
    #[diagnostic(
        code(init::url),
        help("write it as postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
    )]
    Url { side: &'static str, reason: String },

    #[error("cannot read the {side} database {url}: {reason}")]
    #[diagnostic(
        code(init::connect),
        help("check the URL, the server, and the password (in the URL, PGPASSWORD or ~/.pgpass)")
    )]
    Connect {
        side: &'static str,
        url: String,
        reason: String,
    },

    #[error("cannot reach the {side} database through its tunnel: {reason}")]
    #[diagnostic(
        code(init::tunnel),
        help(
            "write the tunnel as ssh://[USER@]HOST[:PORT]; check that the SSH server is up and that this machine may log in to it (a key in ssh's agent or --ssh-config, its host key in known_hosts: ssh runs in batch mode)"
        )
    )]
    Tunnel { side: &'static str, reason: String },

    #[error("{0}")]
    #[diagnostic(
        code(init::netbox_root),
        help("give the folder NetBox is installed in, e.g. /opt/netbox")
    )]
    Install(String),

    #[error(
        "more than two --netbox-root: the first is the source's install, the second the target's"
    )]
    #[diagnostic(code(init::netbox_root))]
    TooManyRoots,

    #[error(
        "the manifest init composed does not validate (a bug in replicate); nothing was written"
    )]
    #[diagnostic(code(init::invalid))]
    Invalid(#[diagnostic_source] ManifestDiagnostic),

    #[error("cannot write {path}: {reason}")]
    #[diagnostic(code(init::write))]
    Write { path: String, reason: String },
}
