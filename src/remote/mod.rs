//! Beyond this machine: where a folder is ([`Place`]) and the commands
//! that reach it (a POSIX shell script run there through the system's
//! OpenSSH client or `docker exec`, its arguments passed as data); and the
//! tunnels to databases behind a bastion ([`Bastion`], [`Tunnel`]).

mod bastion;
mod command;
mod files;
mod place;
mod run;
mod target;
mod target_scripts;
mod tunnel;

pub use self::bastion::{Bastion, BastionError};
pub use self::command::{Reach, program_argv, script_argv};
pub use self::files::{PathKind, path_kind, read_file};
pub use self::place::{DockerPlace, Place, PlaceError, SshPlace};
pub use self::run::{PACK, RemoteError, Tree, measure};
pub use self::target::{
    RemoteSwap, TargetLook, check_argv, discard, file_sums, finish, look, roll_back, swap, swap_in,
    unpack_argv,
};
pub use self::tunnel::{Forward, Tunnel, TunnelError};
