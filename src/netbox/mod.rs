//! What replicate knows about NetBox: its releases and their migrations,
//! what changed between them (the change log's table, the cache commands),
//! and how an install on this machine is laid out.

mod after_copy;
mod changes;
mod install;
mod preset;
mod releases;
mod schema;

pub use self::after_copy::{AfterCopy, LOGINS_VARIABLE, after_copy, in_one_process};
pub use self::changes::{
    CHANGE_LOG, OLD_CHANGE_LOG, SEARCH_CACHE, change_log, change_log_releases, other_change_log,
    server_needs,
};
pub use self::install::{FOLDER_SETTINGS, FolderSetting, Found, Install, InstallFiles, Origin};
pub use self::preset::NETBOX as NETBOX_PRESET;
pub use self::releases::{Releases, Version};
pub use self::schema::{Migration, Release, Schema};
