//! Every call into the C library that Rust's standard library does not
//! wrap: each `unsafe` block of replicate lives here, with why it is sound.

use std::fs::File;
use std::io;
use std::path::Path;

/// Asks the kernel to start writing `len` bytes of `file` from `offset` to
/// disk, without waiting for them. Advisory: errors are ignored (the final
/// `fsync` reports real ones), and it does nothing off Linux.
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: sync_file_range only reads its integer arguments; the
        // descriptor is open for as long as `file` is borrowed.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Lowers the calling thread's CPU priority (nice 10), so that work running
/// beside the critical path takes only what it leaves idle. The thread ends
/// with its step, and a failure only leaves the priority as it was.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority have no memory-safety preconditions.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, u32::try_from(tid).unwrap_or(0), 10);
    }
}

/// Whether replicate runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Exchanges two paths atomically (`renameat2(RENAME_EXCHANGE)`); fails
/// with `EINVAL` or `ENOSYS` where the file system or the system cannot.
#[cfg(target_os = "linux")]
pub fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let b = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
pub fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// Makes a child die when the thread that started it (and so replicate)
/// dies, whatever kills it.
pub fn die_with_parent(command: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Write errors past a file size limit return `EFBIG` instead of killing
/// the process.
pub fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN is always sound.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Sends SIGTERM to the process `pid`.
pub fn terminate(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

/// Sends SIGTERM to every process of the group `group` (a child started
/// as the leader of a group of its own, and what it started).
pub fn terminate_group(group: u32) {
    if let Ok(group) = libc::pid_t::try_from(group)
        && group > 0
    {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(-group, libc::SIGTERM);
        }
    }
}

/// CPU time (milliseconds) and peak memory (KiB) of this process, and the
/// CPU time of the children it waited for, from `getrusage`.
pub fn resource_usage() -> Option<(u64, u64, u64)> {
    let own = usage(libc::RUSAGE_SELF)?;
    let children = usage(libc::RUSAGE_CHILDREN)?;
    Some((
        cpu_ms(&own),
        u64::try_from(own.ru_maxrss).unwrap_or(0),
        cpu_ms(&children),
    ))
}

fn usage(who: libc::c_int) -> Option<libc::rusage> {
    // SAFETY: rusage is plain data; getrusage fills it and reports failure
    // through its return value.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(who, &mut usage) == 0).then_some(usage)
    }
}

fn cpu_ms(usage: &libc::rusage) -> u64 {
    let ms = |t: libc::timeval| {
        u64::try_from(t.tv_sec).unwrap_or(0) * 1000 + u64::try_from(t.tv_usec).unwrap_or(0) / 1000
    };
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// The `errno` values replicate explains to people.
pub mod errno {
    pub const NO_SPACE: i32 = libc::ENOSPC;
    pub const QUOTA: i32 = libc::EDQUOT;
    pub const TOO_BIG: i32 = libc::EFBIG;
    pub const INVALID: i32 = libc::EINVAL;
    pub const NOT_SUPPORTED: i32 = libc::ENOSYS;
}
