//! Path helpers: lexical normalisation and display relative to the working
//! directory.

use std::path::{Component, Path, PathBuf};

/// `base.join(path)` with `.` and `..` folded away, without touching the file
/// system (the path may not exist yet).
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    normalize(&base.join(path))
}

/// Folds `.` and `..` components lexically.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether `inner` is `outer` or lies below it, comparing both lexically and,
/// where they exist, with symbolic links resolved.
pub fn is_within(inner: &Path, outer: &Path) -> bool {
    if inner.starts_with(outer) {
        return true;
    }
    match (canonical_prefix(inner), canonical_prefix(outer)) {
        (Some(i), Some(o)) => i.starts_with(o),
        _ => false,
    }
}

/// The path with its longest existing ancestor canonicalised.
fn canonical_prefix(path: &Path) -> Option<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Some(out);
        }
        let name = existing.file_name()?.to_owned();
        rest.push(name);
        if !existing.pop() {
            return None;
        }
    }
}

/// The path as the user would like to read it: relative to the working
/// directory when it lies below it, else as it is.
pub fn display(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        if rel.as_os_str().is_empty() {
            return ".".to_owned();
        }
        return rel.display().to_string();
    }
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_dots() {
        assert_eq!(
            resolve(Path::new("/etc/replicate"), Path::new("../srv/./media")),
            PathBuf::from("/etc/srv/media")
        );
        assert_eq!(
            resolve(Path::new("/etc"), Path::new("/abs/path")),
            PathBuf::from("/abs/path")
        );
    }

    #[test]
    fn nesting_is_by_component() {
        assert!(is_within(
            Path::new("/srv/media/sub"),
            Path::new("/srv/media")
        ));
        assert!(is_within(Path::new("/srv/media"), Path::new("/srv/media")));
        assert!(!is_within(
            Path::new("/srv/media2"),
            Path::new("/srv/media")
        ));
    }
}
