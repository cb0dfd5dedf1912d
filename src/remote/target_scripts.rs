//! The shell scripts replicate runs where a remote target folder is (see
//! [`super::target`]), each the same prelude and a body of its own.

/// The lines every script starts with. A folder that is a mount point (a
/// Docker volume, a Kubernetes volume) cannot be renamed: its new and
/// previous contents then live inside it (`<folder>/.replicate-next`...),
/// and an exchange moves the entries of the two folders instead.
pub(super) const PRELUDE: &str = r#"set -u
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
pub(super) const LOOK: &str = r#"for tool in tar sha256sum find xargs awk df stat mv rm rmdir mkdir readlink chmod chown id; do
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
pub(super) const UNPACK: &str = r#"[ -d "$parent" ] || { echo "the folder $parent does not exist" >&2; exit 3; }
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
pub(super) const CHECK: &str = r#"cd -- "$next" || exit 1
sha256sum -c --strict --quiet - 1>&2"#;

/// Prints the SHA-256 of every file below the folder, `sha256sum`'s way.
pub(super) const SUMS: &str = r#"cd -- "$f" || { echo "the folder $f does not exist" >&2; exit 3; }
find . \( -path ./.replicate-next -o -path ./.replicate-prev -o -path ./.replicate-old -o -path ./.replicate-exchange \) -prune -o -type f -print0 | xargs -0 -r sha256sum --"#;

/// Removes `<folder>.replicate-next`.
pub(super) const DISCARD: &str = r#"rm -rf -- "$next""#;

/// `replace`: the new content put in the folder's place, the old removed.
pub(super) const SWAP_IN: &str = r#"[ -d "$next" ] || { echo "$next is not a folder" >&2; exit 3; }
if there "$f"; then
  exchange "$next" "$f" || exit 1
  rm -rf -- "$next" || echo "the old content is left at $next" >&2
else
  mv -T -- "$next" "$f"
fi"#;

/// `swap`: the new content in the folder's place, the replaced content
/// becomes the previous one, an older previous content set aside. Prints
/// whether the folder had content and whether something was set aside.
pub(super) const SWAP: &str = r#"[ -d "$next" ] || { echo "$next is not a folder" >&2; exit 3; }
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
pub(super) const UNDO: &str = r#"if [ "$2" = 1 ]; then
  mv -T -- "$prev" "$next" && exchange "$next" "$f" || exit 1
else
  mv -T -- "$f" "$next" || exit 1
fi
[ "$3" = 0 ] || mv -T -- "$old" "$prev""#;

/// After a swap: what was set aside removed, and the previous content
/// too unless `$2` is 1.
pub(super) const FINISH: &str = r#"rm -rf -- "$old" || exit 1
[ "$2" = 1 ] || rm -rf -- "$prev""#;

/// `rollback`: the folder exchanged with its previous content.
pub(super) const ROLL_BACK: &str = r#"[ -d "$prev" ] || { echo "$prev does not exist" >&2; exit 3; }
if there "$f"; then exchange "$prev" "$f"; else mv -T -- "$prev" "$f"; fi"#;

/// A whole script: the prelude, then `body`.
pub(super) fn script(body: &str) -> String {
    format!("{PRELUDE}{body}")
}
