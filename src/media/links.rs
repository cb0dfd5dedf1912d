//! Where the symbolic links of an archive finally lead.
//!
//! A link may look harmless alone and still lead out of the folder once the
//! archive's other links are followed: `l2 -> .` and `l1 -> l2/..` put
//! `l1` at the folder above. Every link is therefore resolved the way the
//! kernel would resolve it after extraction, inside a model of the archive:
//! each component of its target is walked from the link's folder, and a
//! component that is itself a link of the archive is replaced by where that
//! link leads. A walk that climbs above the folder, or follows more links
//! than the kernel would, refuses the archive.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// The kernel's limit on links followed in one lookup (Linux's `MAXSYMLINKS`).
const MAX_HOPS: usize = 40;

/// Why a link is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Escape {
    /// The target is absolute.
    Absolute,
    /// Followed, the link climbs above the folder; `through` is the other
    /// link on the way that made it do so, if any.
    Outside { through: Option<PathBuf> },
    /// The link leads through a loop of links (or a chain the kernel would
    /// not follow to its end).
    Loop,
}

/// Resolves the links of one archive: `links` maps each link's path (relative,
/// already free of `..`) to its target as written.
pub struct Links<'a> {
    links: BTreeMap<&'a Path, &'a Path>,
}

impl<'a> Links<'a> {
    pub fn new(links: impl IntoIterator<Item = (&'a Path, &'a Path)>) -> Self {
        Self {
            links: links.into_iter().collect(),
        }
    }

    /// Checks every link; the first one that escapes, in path order.
    pub fn first_escape(&self) -> Option<(&'a Path, &'a Path, Escape)> {
        self.links.iter().find_map(|(&path, &target)| {
            self.resolve(path)
                .err()
                .map(|escape| (path, target, escape))
        })
    }

    /// Where the link at `path` leads, as components below the folder.
    pub fn resolve(&self, path: &Path) -> Result<Vec<OsString>, Escape> {
        let mut hops = 0;
        let mut through = None;
        self.follow(path, &mut hops, &mut through)
    }

    fn follow(
        &self,
        link: &Path,
        hops: &mut usize,
        through: &mut Option<PathBuf>,
    ) -> Result<Vec<OsString>, Escape> {
        let Some(target) = self.links.get(link) else {
            return Ok(link.iter().map(OsString::from).collect());
        };
        *hops += 1;
        if *hops > MAX_HOPS {
            return Err(Escape::Loop);
        }
        let mut at: Vec<OsString> = link
            .parent()
            .map(|p| p.iter().map(OsString::from).collect())
            .unwrap_or_default();
        for component in target.components() {
            match component {
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return Err(Escape::Absolute),
                Component::ParentDir => {
                    if at.pop().is_none() {
                        return Err(Escape::Outside {
                            through: through.clone(),
                        });
                    }
                }
                Component::Normal(name) => {
                    at.push(name.to_owned());
                    let here: PathBuf = at.iter().collect();
                    if self.links.contains_key(here.as_path()) {
                        let resolved = self.follow(&here, hops, through)?;
                        if through.is_none() && resolved.len() < at.len() {
                            *through = Some(here);
                        }
                        at = resolved;
                    }
                }
            }
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(links: &[(&str, &str)]) -> Option<(String, Escape)> {
        let pairs: Vec<(PathBuf, PathBuf)> = links
            .iter()
            .map(|(p, t)| (PathBuf::from(p), PathBuf::from(t)))
            .collect();
        Links::new(pairs.iter().map(|(p, t)| (p.as_path(), t.as_path())))
            .first_escape()
            .map(|(path, _, escape)| (path.display().to_string(), escape))
    }

    #[test]
    fn links_that_stay_inside_pass() {
        assert_eq!(check(&[("a/link", "../b")]), None);
        assert_eq!(check(&[("a/link", "c/../../b")]), None);
        assert_eq!(check(&[("here", "."), ("x", "here/here/y")]), None);
        assert_eq!(check(&[("d", "sub/deeper"), ("x", "d/../..")]), None);
        assert_eq!(check(&[("dangling", "nowhere/at/all")]), None);
    }

    #[test]
    fn direct_escapes_are_found() {
        assert_eq!(
            check(&[("link", "../outside")]),
            Some(("link".into(), Escape::Outside { through: None }))
        );
        assert_eq!(
            check(&[("a/link", "../../outside")]),
            Some(("a/link".into(), Escape::Outside { through: None }))
        );
        assert_eq!(
            check(&[("etc", "/etc")]),
            Some(("etc".into(), Escape::Absolute))
        );
    }

    #[test]
    fn escapes_through_other_links_are_found() {
        // Each looks harmless alone.
        assert_eq!(
            check(&[("l2", "."), ("l1", "l2/..")]),
            Some((
                "l1".into(),
                Escape::Outside {
                    through: Some("l2".into())
                }
            ))
        );
        // A chain: c -> b -> a -> the folder itself, then one more level up.
        assert_eq!(
            check(&[("a", "."), ("b", "a"), ("c", "b/..")]).map(|(p, _)| p),
            Some("c".into())
        );
        // Through a linked folder: `deep` looks two levels down, but `d`
        // is the folder itself.
        assert_eq!(
            check(&[("d", "."), ("deep", "d/d/../..")]).map(|(p, _)| p),
            Some("deep".into())
        );
        // A link in a subfolder that points at a sibling link to the top.
        assert_eq!(
            check(&[("sub/up", ".."), ("sub/out", "up/..")]).map(|(p, _)| p),
            Some("sub/out".into())
        );
    }

    #[test]
    fn loops_are_refused() {
        assert_eq!(
            check(&[("a", "b"), ("b", "a")]).map(|(_, e)| e),
            Some(Escape::Loop)
        );
        assert_eq!(
            check(&[("self", "self")]).map(|(_, e)| e),
            Some(Escape::Loop)
        );
        assert_eq!(check(&[("x", "x/y")]).map(|(_, e)| e), Some(Escape::Loop));
    }
}
