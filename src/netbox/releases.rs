//! NetBox's releases and the migrations each one knows, from the public
//! NetBox repository (`scripts/netbox-releases` writes the two data files).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

const RELEASES: &str = include_str!("data/releases.txt");
const MIGRATIONS: &str = include_str!("data/migrations.tsv");

/// A NetBox release number: `4.2.0`, `4.2-beta1`, `4.6.8-rc1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
    /// `Some((0, n))` for beta n, `Some((1, n))` for release candidate n.
    pre: Option<(u8, u16)>,
}

impl Version {
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Version {
            major,
            minor,
            patch,
            pre: None,
        }
    }

    /// Reads `v4.2.0`, `4.2-beta1`, `v4.6.8-rc2`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let (numbers, pre) = match text.split_once('-') {
            Some((numbers, pre)) => (numbers, Some(pre)),
            None => (text, None),
        };
        let mut parts = numbers.split('.').map(str::parse::<u16>);
        let major = parts.next()?.ok()?;
        let minor = parts.next()?.ok()?;
        let patch = match parts.next() {
            Some(p) => p.ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        let pre = match pre {
            None => None,
            Some(p) => {
                let (stage, number) = if let Some(n) = p.strip_prefix("beta") {
                    (0, n)
                } else {
                    (1, p.strip_prefix("rc")?)
                };
                Some((stage, number.parse().ok()?))
            }
        };
        Some(Version {
            major,
            minor,
            patch,
            pre,
        })
    }

    fn key(&self) -> (u16, u16, u16, u8, u16) {
        // A pre-release comes before its release.
        let (stage, number) = self.pre.unwrap_or((2, 0));
        (self.major, self.minor, self.patch, stage, number)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pre {
            // Betas were tagged without a patch number until 4.3.
            Some((stage, n)) => {
                let stage = if stage == 0 { "beta" } else { "rc" };
                if self.patch == 0 && (self.major, self.minor) < (4, 3) {
                    write!(f, "{}.{}-{stage}{n}", self.major, self.minor)
                } else {
                    write!(f, "{}.{}.{}-{stage}{n}", self.major, self.minor, self.patch)
                }
            }
            None => write!(f, "{}.{}.{}", self.major, self.minor, self.patch),
        }
    }
}

/// Where a migration lives in the release history: the first and last
/// releases (indexes into [`Releases::all`]) that know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub first: usize,
    pub last: usize,
}

/// The release table.
#[derive(Debug)]
pub struct Releases {
    all: Vec<Version>,
    migrations: HashMap<(String, String), Known>,
    /// Per app, the highest number of any migration the table knows.
    highest: HashMap<String, u32>,
}

impl Releases {
    /// The table shipped with replicate.
    pub fn shipped() -> &'static Releases {
        static TABLE: OnceLock<Releases> = OnceLock::new();
        TABLE.get_or_init(|| Releases::parse(RELEASES, MIGRATIONS))
    }

    fn parse(releases: &str, migrations: &str) -> Releases {
        let all: Vec<Version> = releases.lines().filter_map(Version::parse).collect();
        let index: HashMap<Version, usize> = all.iter().enumerate().map(|(i, v)| (*v, i)).collect();
        let mut table = Releases {
            all,
            migrations: HashMap::new(),
            highest: HashMap::new(),
        };
        for line in migrations.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let [app, name, first, last] = fields[..] else {
                continue;
            };
            let at = |v: &str| Version::parse(v).and_then(|v| index.get(&v).copied());
            let (Some(first), Some(last)) = (at(first), at(last)) else {
                continue;
            };
            if let Some(number) = number(name) {
                let top = table.highest.entry(app.to_owned()).or_default();
                *top = (*top).max(number);
            }
            table
                .migrations
                .insert((app.to_owned(), name.to_owned()), Known { first, last });
        }
        table
    }

    /// Every release, oldest first.
    pub fn all(&self) -> &[Version] {
        &self.all
    }

    pub fn known(&self, app: &str, name: &str) -> Option<Known> {
        self.migrations
            .get(&(app.to_owned(), name.to_owned()))
            .copied()
    }

    /// Whether `app` is one of NetBox's own apps.
    pub fn is_app(&self, app: &str) -> bool {
        self.highest.contains_key(app)
    }

    /// Whether a migration the table does not know is newer than every
    /// one it knows in that app (rather than a renamed or older one).
    pub fn is_beyond(&self, app: &str, name: &str) -> bool {
        match (number(name), self.highest.get(app)) {
            (Some(n), Some(top)) => n > *top,
            _ => false,
        }
    }

    /// Every migration the table knows.
    pub fn migrations(&self) -> impl Iterator<Item = (&str, &str, Known)> {
        self.migrations
            .iter()
            .map(|((app, name), known)| (app.as_str(), name.as_str(), *known))
    }
}

/// The number a migration's name starts with: `0117` in `0117_move_objectchange`.
pub fn number(name: &str) -> Option<u32> {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_pre_releases_before_their_release() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("v4.1.11") < v("v4.2-beta1"));
        assert!(v("v4.2-beta1") < v("v4.2.0"));
        assert!(v("v4.6.8-rc1") < v("v4.6.8-rc2"));
        assert!(v("v4.6.8-rc2") < v("v4.6.8"));
        assert_eq!(v("v4.2-beta1").to_string(), "4.2-beta1");
        assert_eq!(v("v4.3.0-beta2").to_string(), "4.3.0-beta2");
        assert_eq!(v("3.7.8").to_string(), "3.7.8");
        assert_eq!(Version::parse("4.x"), None);
    }

    #[test]
    fn the_shipped_table_is_in_order_and_knows_the_change_log_move() {
        let table = Releases::shipped();
        assert!(table.all().len() > 150, "{} releases", table.all().len());
        assert!(table.all().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(table.all()[0], Version::parse("3.0-beta1").unwrap());
        // 4.1-beta1 moved it in `0116_move_objectchange`, renumbered for 4.1.0.
        let moved = table.known("extras", "0117_move_objectchange").unwrap();
        assert_eq!(table.all()[moved.first].to_string(), "4.1.0");
        let beta = table.known("extras", "0116_move_objectchange").unwrap();
        assert_eq!(table.all()[beta.last].to_string(), "4.1-beta1");
        assert!(table.is_app("dcim") && table.is_app("vpn") && !table.is_app("auth"));
        assert!(table.is_beyond("dcim", "9999_future") && !table.is_beyond("dcim", "0001_x"));
    }
}
