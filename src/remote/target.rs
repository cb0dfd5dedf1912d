//! The scripts replicate runs where a remote target folder is: what `plan`
//! looks at, the new content unpacked and checked beside the folder, and
//! the renames of `swap`, its undoing and `rollback`. Each one starts from
//! the same few lines: the folder (`$1`, its link followed when it is one)
//! and the folders beside it, `<folder>.replicate-next` (the new content),
//! `.replicate-prev` (the previous one) and `.replicate-old` (an older
//! previous content, set aside during a swap).
//!
//! An exchange of two folders is atomic where the host's `mv` has
//! `--exchange` (GNU coreutils 9.5 and later, on a file system that can);
//! otherwise it is three renames, and the live folder is missing between
//! the second and the third.

use std::os::unix::ffi::OsStringExt;

use super::command::Reach;
use super::place::Place;
use super::run::{RemoteError, output};
use crate::io::sha256sum::{self, FileSums};

/// The lines every script starts with. A folder that is a mount point (a
/// Docker volume, a Kubernetes volume) cannot be renamed: its new and
/// previous contents then live inside it (`<folder>/.replicate-next`...),
/// and an exchange moves the entries of the two folders instead.
const PRELUDE: &str = r#"set -u
f=$1
if [ -L "$f" ]; then f=$(readlink -f -- "$f" && echo x) || exit 1; f=${f%??}; fi
parent=${f%/*}
[ -n "$parent" ] || parent=/
there() { [ -e "$1" ] || [ -L "$1" ]; }
mixed() { echo "$1" >&2; exit 9; }
inside=0
if [ -d "$f" ] && [ -d "$parent" ]; then
  if [ "$(stat -c %d -- "$f")" != "$(stat -c %d -- "$parent")" ]; then inside=1
  elif command -v mountpoint >/dev/null 2>&1 && mountpoint -q -- "$f"; then inside=1; fi
fi
if [ "$inside" = 1 ]; then at=$f/.replicate-; else at=$f.replicate-; fi
next=${at}next
prev=${at}prev
old=${at}old
between=${at}exchange
own() { case ${1##*/} in .replicate-next|.replicate-prev|.replicate-old|.replicate-exchange) return 0 ;; esac; return 1; }
movable() {
  [ -w "$1" ] || { echo "$1 is not writable" >&2; return 1; }
  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    there "$e" && ! own "$e" || continue
    if [ -d "$e" ] && [ ! -L "$e" ]; then
      [ "$(stat -c %d -- "$e")" = "$(stat -c %d -- "$1")" ] || { echo "$e is a mount point" >&2; return 1; }
      [ "$(id -u)" = 0 ] || [ -w "$e" ] || { echo "$e is not writable" >&2; return 1; }
    fi
  done
}
move_all() {
  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    there "$e" && ! own "$e" || continue
    mv -T -- "$e" "$2/${e##*/}" || return 1
  done
}
exchange() {
  if [ "$inside" = 1 ]; then
    movable "$1" && movable "$2" || return 1
    rm -rf -- "$between" && mkdir -- "$between" || return 1
    if ! move_all "$1" "$between"; then
      move_all "$between" "$1" && rmdir -- "$between" || mixed "the entries of $1 are partly in $between"
      return 1
    fi
    if ! move_all "$2" "$1"; then
      { move_all "$1" "$2" && move_all "$between" "$1" && rmdir -- "$between"; } || mixed "the entries of $2 are partly in $1, those of $1 in $between"
      return 1
    fi
    if ! move_all "$between" "$2"; then
      { move_all "$2" "$between" && move_all "$1" "$2" && move_all "$between" "$1" && rmdir -- "$between"; } || mixed "the entries of $2 are in $1, those of $1 partly in $between"
      return 1
    fi
    rmdir -- "$between"
    return 0
  fi
  mv --exchange -T -- "$1" "$2" 2>/dev/null && return 0
  rm -rf -- "$between" && mv -T -- "$1" "$between" || return 1
  mv -T -- "$2" "$1" || { mv -T -- "$between" "$1" || mixed "$1 is at $between"; return 1; }
  if ! mv -T -- "$between" "$2"; then
    { mv -T -- "$1" "$2" && mv -T -- "$between" "$1"; } || mixed "$2 is at $1, $1 at $between"
    return 1
  fi
}
"#;

/// Looks at the target folder and the folders beside it: the tools
/// replicate runs there, the folder its parent, and, for each of the
/// folder, its new content and its previous one, whether it exists, its
/// files and bytes; then the room left (KiB).
const LOOK: &str = r#"for tool in tar sha256sum find xargs awk df stat mv rm rmdir mkdir readlink chmod chown id; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is not installed" >&2; exit 4; }
done
tar --version 2>/dev/null | head -n 1 | grep -q GNU || { echo "tar is not GNU tar" >&2; exit 4; }
[ -d "$parent" ] || { echo "the folder $parent does not exist" >&2; exit 3; }
count() {
  if [ -d "$1" ]; then
    (cd -- "$1" && find . \( -path ./.replicate-next -o -path ./.replicate-prev -o -path ./.replicate-old -o -path ./.replicate-exchange \) -prune -o -type f -printf '%s\n') | awk '{ n += 1; s += $1 } END { printf "1 %.0f %.0f", n, s }'
  else
    printf '0 0 0'
  fi
}
if [ "$inside" = 1 ]; then room=$f; else room=$parent; fi
free=$(df -Pk -- "$room" | awk 'NR == 2 { print $4 }')
printf '%s %s %s %s %s\n' "$(count "$f")" "$(count "$next")" "$(count "$prev")" "${free:-0}" "$inside""#;

/// Unpacks the tar stream on standard input into a new
/// `<folder>.replicate-next`, which takes the live folder's mode (and,
/// run as root, its owner); set-user-id and set-group-id bits are dropped.
const UNPACK: &str = r#"[ -d "$parent" ] || { echo "the folder $parent does not exist" >&2; exit 3; }
rm -rf -- "$next" || exit 1
if there "$f"; then mkdir -m 700 -- "$next"; else mkdir -- "$next"; fi || exit 1
tar -x -p --no-same-owner -f - -C "$next" || exit 1
find "$next" -perm /6000 ! -type l -exec chmod ug-s -- {} + || exit 1
if there "$f"; then
  chmod --reference="$f" -- "$next" || exit 1
  if [ "$(id -u)" = 0 ]; then chown -hR --reference="$f" -- "$next" || exit 1; fi
fi"#;

/// Checks every file of `<folder>.replicate-next` against the sums on
/// standard input.
const CHECK: &str = r#"cd -- "$next" || exit 1
sha256sum -c --strict --quiet - 1>&2"#;

/// Prints the SHA-256 of every file below the folder, `sha256sum`'s way.
const SUMS: &str = r#"cd -- "$f" || { echo "the folder $f does not exist" >&2; exit 3; }
find . \( -path ./.replicate-next -o -path ./.replicate-prev -o -path ./.replicate-old -o -path ./.replicate-exchange \) -prune -o -type f -print0 | xargs -0 -r sha256sum --"#;

/// Removes `<folder>.replicate-next`.
const DISCARD: &str = r#"rm -rf -- "$next""#;

/// `replace`: the new content put in the folder's place, the old removed.
const SWAP_IN: &str = r#"[ -d "$next" ] || { echo "$next is not a folder" >&2; exit 3; }
if there "$f"; then
  exchange "$next" "$f" || exit 1
  rm -rf -- "$next" || echo "the old content is left at $next" >&2
else
  mv -T -- "$next" "$f"
fi"#;

/// `swap`: the new content in the folder's place, the replaced content
/// becomes the previous one, an older previous content set aside. Prints
/// whether the folder had content and whether something was set aside.
const SWAP: &str = r#"[ -d "$next" ] || { echo "$next is not a folder" >&2; exit 3; }
aside=0
if there "$prev"; then rm -rf -- "$old" && mv -T -- "$prev" "$old" || exit 1; aside=1; fi
back() { [ "$aside" = 0 ] || mv -T -- "$old" "$prev"; exit 1; }
if there "$f"; then
  exchange "$next" "$f" || back
  mv -T -- "$next" "$prev" || { exchange "$next" "$f"; back; }
  echo "1 $aside"
else
  mv -T -- "$next" "$f" || back
  echo "0 $aside"
fi"#;

/// Undoes [`SWAP`]; `$2` and `$3` are what it printed.
const UNDO: &str = r#"if [ "$2" = 1 ]; then
  mv -T -- "$prev" "$next" && exchange "$next" "$f" || exit 1
else
  mv -T -- "$f" "$next" || exit 1
fi
[ "$3" = 0 ] || mv -T -- "$old" "$prev""#;

/// After a swap: what was set aside removed, and the previous content
/// too unless `$2` is 1.
const FINISH: &str = r#"rm -rf -- "$old" || exit 1
[ "$2" = 1 ] || rm -rf -- "$prev""#;

/// `rollback`: the folder exchanged with its previous content.
const ROLL_BACK: &str = r#"[ -d "$prev" ] || { echo "$prev does not exist" >&2; exit 3; }
if there "$f"; then exchange "$prev" "$f"; else mv -T -- "$prev" "$f"; fi"#;

/// A whole script: the prelude, then `body`.
fn script(body: &str) -> String {
    format!("{PRELUDE}{body}")
}

/// What lies at a remote target folder, as [`look`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetLook {
    /// The folder, its new content left by an earlier run, its previous
    /// content: each `None` when missing.
    pub folder: Option<Tree>,
    pub next: Option<Tree>,
    pub previous: Option<Tree>,
    /// Room left on the folder's file system.
    pub free_bytes: u64,
    /// The folder is a mount point: its new and previous contents are
    /// kept inside it (`<folder>/.replicate-next`).
    pub inside: bool,
}

/// Files and bytes below a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tree {
    pub files: u64,
    pub bytes: u64,
}

/// How a swap went, to undo or finish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSwap {
    /// The folder existed: its content is now the previous one.
    pub had_content: bool,
    /// An older previous content was set aside.
    pub set_aside: bool,
}

/// Looks at a remote target folder (the tools, its parent, what is
/// there and beside it, the room left).
pub fn look(reach: &Reach, place: &Place) -> Result<TargetLook, RemoteError> {
    let path = place.path_text();
    let out = String::from_utf8_lossy(&output(reach, place, &script(LOOK), &[&path])?).into_owned();
    let numbers: Vec<u64> = out
        .split_whitespace()
        .map_while(|w| w.parse().ok())
        .collect();
    let [a, af, ab, n, nf, nb, p, pf, pb, free, inside] = numbers[..] else {
        return Err(RemoteError::new(
            reach,
            place,
            &[&path],
            format!("it printed {out:?}"),
        ));
    };
    let tree = |there: u64, files, bytes| (there == 1).then_some(Tree { files, bytes });
    Ok(TargetLook {
        folder: tree(a, af, ab),
        next: tree(n, nf, nb),
        previous: tree(p, pf, pb),
        free_bytes: free.saturating_mul(1024),
        inside: inside == 1,
    })
}

/// The command that unpacks a tar stream on its standard input beside the
/// remote folder.
pub fn unpack_argv(reach: &Reach, place: &Place) -> Vec<String> {
    super::script_argv(reach, place, &script(UNPACK), &[&place.path_text()])
}

/// The command that checks the new content beside the remote folder
/// against the sums on its standard input.
pub fn check_argv(reach: &Reach, place: &Place) -> Vec<String> {
    super::script_argv(reach, place, &script(CHECK), &[&place.path_text()])
}

/// Runs `body` on the folder with `more` arguments after its path; what
/// it printed.
fn run(reach: &Reach, place: &Place, body: &str, more: &[&str]) -> Result<String, RemoteError> {
    let path = place.path_text();
    let args: Vec<&str> = [path.as_str()]
        .into_iter()
        .chain(more.iter().copied())
        .collect();
    output(reach, place, &script(body), &args).map(|out| String::from_utf8_lossy(&out).into_owned())
}

/// The SHA-256 of every file below the folder (`replicate verify
/// --media`).
pub fn file_sums(reach: &Reach, place: &Place) -> Result<FileSums, RemoteError> {
    let path = place.path_text();
    let out = output(reach, place, &script(SUMS), &[&path])?;
    let listed = sha256sum::parse(&out)
        .map_err(|e| RemoteError::new(reach, place, &[&path], format!("sha256sum printed {e}")))?;
    Ok(listed
        .into_iter()
        .map(|(name, hash)| {
            let name = name.strip_prefix(b"./").map(<[u8]>::to_vec).unwrap_or(name);
            (
                std::path::PathBuf::from(std::ffi::OsString::from_vec(name)),
                hash,
            )
        })
        .collect())
}

/// Removes the new content beside the folder.
pub fn discard(reach: &Reach, place: &Place) -> Result<(), RemoteError> {
    run(reach, place, DISCARD, &[]).map(drop)
}

/// `replace`: the new content in the folder's place, the old removed.
pub fn swap_in(reach: &Reach, place: &Place) -> Result<(), RemoteError> {
    run(reach, place, SWAP_IN, &[]).map(drop)
}

/// `swap`: the new content in the folder's place, the replaced content
/// kept beside it.
pub fn swap(reach: &Reach, place: &Place) -> Result<RemoteSwap, RemoteError> {
    let out = run(reach, place, SWAP, &[])?;
    let flags: Vec<&str> = out.split_whitespace().collect();
    match flags[..] {
        [had, aside] => Ok(RemoteSwap {
            had_content: had == "1",
            set_aside: aside == "1",
        }),
        _ => Err(RemoteError::new(
            reach,
            place,
            &[&place.path_text()],
            format!("it printed {out:?}"),
        )),
    }
}

impl RemoteSwap {
    /// Puts the previous content back, as if the swap had not happened.
    pub fn undo(&self, reach: &Reach, place: &Place) -> Result<(), RemoteError> {
        let flag = |on: bool| if on { "1" } else { "0" };
        run(
            reach,
            place,
            UNDO,
            &[flag(self.had_content), flag(self.set_aside)],
        )
        .map(drop)
    }
}

/// Removes what a swap set aside, and the previous content too unless it
/// is kept.
pub fn finish(reach: &Reach, place: &Place, keep_previous: bool) -> Result<(), RemoteError> {
    run(
        reach,
        place,
        FINISH,
        &[if keep_previous { "1" } else { "0" }],
    )
    .map(drop)
}

/// `rollback`: exchanges the folder with its previous content.
pub fn roll_back(reach: &Reach, place: &Place) -> Result<(), RemoteError> {
    run(reach, place, ROLL_BACK, &[]).map(drop)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;

    /// The scripts run here by `sh`, as they would over SSH.
    fn local(folder: &Path) -> Place {
        Place::Local(folder.to_path_buf())
    }

    fn put(path: &Path, text: &str) {
        fs::create_dir_all(path).unwrap();
        fs::write(path.join("f"), text).unwrap();
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path.join("f")).unwrap()
    }

    fn beside(folder: &Path, what: &str) -> std::path::PathBuf {
        local(folder).beside(what).local().unwrap().to_path_buf()
    }

    #[test]
    fn swap_undo_finish_and_roll_back_move_the_folders_as_the_local_ones_do() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("me dia $(x)\n");
        let (reach, place) = (Reach::default(), local(&folder));
        put(&folder, "live");
        put(&beside(&folder, "prev"), "older");
        put(&beside(&folder, "next"), "new");
        let look_before = look(&reach, &place).unwrap();
        assert_eq!(look_before.folder, Some(Tree { files: 1, bytes: 4 }));
        assert_eq!(look_before.previous, Some(Tree { files: 1, bytes: 5 }));

        let done = swap(&reach, &place).unwrap();
        assert_eq!(
            done,
            RemoteSwap {
                had_content: true,
                set_aside: true
            }
        );
        assert_eq!(read(&folder), "new");
        assert_eq!(read(&beside(&folder, "prev")), "live");
        assert_eq!(read(&beside(&folder, "old")), "older");
        done.undo(&reach, &place).unwrap();
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&beside(&folder, "prev")), "older");
        assert_eq!(read(&beside(&folder, "next")), "new");

        swap(&reach, &place).unwrap();
        finish(&reach, &place, true).unwrap();
        assert!(!beside(&folder, "old").exists());
        roll_back(&reach, &place).unwrap();
        assert_eq!(read(&folder), "live");
        roll_back(&reach, &place).unwrap();
        assert_eq!(read(&folder), "new");
        finish(&reach, &place, false).unwrap();
        assert!(!beside(&folder, "prev").exists());
        let err = roll_back(&reach, &place).unwrap_err();
        assert!(err.missing, "{err}");
    }

    /// A tmpfs mounted on a folder for a test, unmounted when dropped.
    struct Mounted(std::path::PathBuf);

    impl Mounted {
        fn on(folder: &Path) -> Self {
            assert!(
                crate::io::sys::is_root(),
                "this test mounts a tmpfs, as a volume is mounted: run it as root"
            );
            fs::create_dir_all(folder).unwrap();
            let done = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "none"])
                .arg(folder)
                .status()
                .unwrap();
            assert!(done.success(), "mount -t tmpfs failed");
            Mounted(folder.to_path_buf())
        }
    }

    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }

    #[test]
    fn a_mount_point_keeps_its_contents_inside_and_a_nested_mount_stops_the_swap() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("media");
        let _volume = Mounted::on(&folder);
        let (reach, place) = (Reach::default(), local(&folder));
        put(&folder, "live");
        put(&folder.join(".replicate-next"), "new");
        let found = look(&reach, &place).unwrap();
        assert!(found.inside, "a mount point not seen as one");
        assert_eq!(found.folder, Some(Tree { files: 1, bytes: 4 }));

        let done = swap(&reach, &place).unwrap();
        assert_eq!(read(&folder), "new");
        assert_eq!(read(&folder.join(".replicate-prev")), "live");
        assert!(!folder.join(".replicate-next").exists());
        done.undo(&reach, &place).unwrap();
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&folder.join(".replicate-next")), "new");
        swap(&reach, &place).unwrap();
        roll_back(&reach, &place).unwrap();
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&folder.join(".replicate-prev")), "new");

        // A mount point inside it cannot be moved: nothing moves.
        let _inner = Mounted::on(&folder.join("sub"));
        put(&folder.join(".replicate-next"), "newer");
        let err = swap(&reach, &place).unwrap_err();
        assert!(err.reason.contains("is a mount point"), "{err}");
        assert!(!err.mixed, "{err}");
        assert_eq!(read(&folder), "live");
        assert_eq!(read(&folder.join(".replicate-prev")), "new");
        assert_eq!(read(&folder.join(".replicate-next")), "newer");
    }

    #[test]
    fn a_missing_folder_is_created_and_replace_removes_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("media");
        let (reach, place) = (Reach::default(), local(&folder));
        assert_eq!(look(&reach, &place).unwrap().folder, None);
        put(&beside(&folder, "next"), "new");
        let done = swap(&reach, &place).unwrap();
        assert!(!done.had_content);
        assert_eq!(read(&folder), "new");
        put(&beside(&folder, "next"), "newer");
        swap_in(&reach, &place).unwrap();
        assert_eq!(read(&folder), "newer");
        assert!(!beside(&folder, "next").exists());
        let missing = look(&reach, &local(&dir.path().join("no/media"))).unwrap_err();
        assert!(missing.missing, "{missing}");
    }
}
