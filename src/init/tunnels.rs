//! `--source-tunnel` and `--target-tunnel`: a database `init` reads
//! through the SSH server it is reached through (with `--ssh-config`'s
//! `ssh -F`), as `plan` will with the `tunnel` the manifest then names.

use super::InitError;
use crate::postgres::DbUrl;
use crate::remote::{Bastion, Forward, Reach, Tunnel};

/// A side's database as `init` connects to it: through its tunnel, held
/// open while this lives, when it has one.
pub struct Reached {
    /// The URL connections use.
    pub url: DbUrl,
    /// The bastion, for the manifest's `tunnel`.
    pub bastion: Option<Bastion>,
    _tunnel: Option<Tunnel>,
}

/// Opens `side`'s tunnel through `bastion` (as written on the command
/// line), if one is given, to the server `url` names.
pub fn reach(
    side: &'static str,
    url: &DbUrl,
    bastion: Option<&str>,
    reach: &Reach,
) -> Result<Reached, InitError> {
    let Some(text) = bastion else {
        return Ok(Reached {
            url: url.clone(),
            bastion: None,
            _tunnel: None,
        });
    };
    let failed = |reason: String| InitError::Tunnel { side, reason };
    let bastion = Bastion::parse(text).map_err(|e| failed(e.to_string()))?;
    let (host, port) = url
        .forward_target()
        .map_err(|e| failed(format!("the {side} URL: {e}")))?;
    let tunnel = Tunnel::open(reach, &bastion, &Forward { host, port })
        .map_err(|e| failed(e.to_string()))?;
    Ok(Reached {
        url: url.through(tunnel.local()),
        bastion: Some(bastion),
        _tunnel: Some(tunnel),
    })
}
