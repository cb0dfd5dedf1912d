//! An artifacts folder kept in an object store: the local folder is its
//! cache. Every artifact a step completes is uploaded with `SHA256SUMS`;
//! a consumer fetches what it needs into its cache, checked against
//! `SHA256SUMS`, and never downloads again a cached file whose object did
//! not change (same version tag).

use std::collections::BTreeMap;
use std::fs;
use std::io;

use super::journal::STATE_FILE;
use super::remote::Upload;
use super::{ArtifactsDir, Mismatch, SUMS_FILE, Sums, belongs_to};
use crate::io::files::write_atomically;

/// In the cache: each cached object's version tag when it was fetched or
/// uploaded.
const TAGS_FILE: &str = ".remote-tags.json";

impl ArtifactsDir {
    /// The store's URL, or the folder: where the artifacts are, for people.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(remote) => remote.url_of("").trim_end_matches('/').to_owned(),
            None => self.path.display().to_string(),
        }
    }

    fn tags(&self) -> BTreeMap<String, String> {
        fs::read(self.join(TAGS_FILE))
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default()
    }

    fn set_tags(&self, change: impl FnOnce(&mut BTreeMap<String, String>)) -> io::Result<()> {
        let _guard = self.tags_lock.lock();
        let mut tags = self.tags();
        change(&mut tags);
        let text = serde_json::to_vec_pretty(&tags).map_err(io::Error::other)?;
        write_atomically(&self.join(TAGS_FILE), &text)
    }

    /// The store's `SHA256SUMS` and `state.json` into the cache: what the
    /// store holds is what counts.
    pub fn pull(&self) -> io::Result<()> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        for name in [SUMS_FILE, STATE_FILE] {
            match remote.get_bytes(name)? {
                Some(bytes) => write_atomically(&self.join(name), &bytes)?,
                None => {
                    let _ = fs::remove_file(self.join(name));
                }
            }
        }
        Ok(())
    }

    /// `state.json` into the store.
    pub fn push_state(&self) -> io::Result<()> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        remote.put_bytes(STATE_FILE, &fs::read(self.join(STATE_FILE))?)?;
        Ok(())
    }

    /// Uploads the files of a completed artifact.
    pub(super) fn upload_files(&self, entries: &Sums) -> io::Result<()> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let mut tags = Vec::new();
        for name in entries.keys() {
            if let Some(tag) = remote.upload_file(&self.join(name), name)? {
                tags.push((name.clone(), tag));
            }
        }
        self.set_tags(|all| all.extend(tags))
    }

    /// With an object store, a writer uploading the artifact `name` as it
    /// is written; the object appears only when the upload is finished.
    pub fn upload_while_writing(&self, name: &str) -> io::Result<Option<Upload<'_>>> {
        self.remote.as_ref().map(|r| r.upload(name)).transpose()
    }

    /// Notes the tag of an object just uploaded, so the cache knows its
    /// copy is current.
    pub(super) fn remember_tag(&self, name: &str, tag: Option<String>) -> io::Result<()> {
        let Some(tag) = tag else {
            return Ok(());
        };
        self.set_tags(|all| {
            all.insert(name.to_owned(), tag);
        })
    }

    /// `SHA256SUMS` into the store.
    pub(super) fn push_sums(&self) -> io::Result<()> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        remote.put_bytes(
            SUMS_FILE,
            &fs::read(self.join(SUMS_FILE)).unwrap_or_default(),
        )?;
        Ok(())
    }

    /// Removes an artifact's objects from the store (a file or a folder's).
    pub fn delete_remote(&self, artifact: &str) -> io::Result<()> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        // A file artifact is one object; a folder artifact, the objects below it.
        remote.delete(artifact)?;
        for (name, _) in remote.list(artifact)? {
            if belongs_to(&name, artifact) {
                remote.delete(&name)?;
            }
        }
        Ok(())
    }

    /// Brings `artifact`'s files from the store into the cache, unless the
    /// cached file is the store's version already; a downloaded file must
    /// match `sums`. A missing or changed object is named by its URL.
    pub fn fetch(&self, artifact: &str, sums: &Sums) -> Result<(), Mismatch> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let _one_at_a_time = self.fetch_lock.lock();
        let listed: Vec<(&String, &String)> = sums
            .iter()
            .filter(|(path, _)| belongs_to(path, artifact))
            .collect();
        if listed.is_empty() {
            return Err(Mismatch::NotListed(remote.url_of(artifact)));
        }
        let unreadable = |name: &str, e: io::Error| Mismatch::Unreadable {
            path: remote.url_of(name),
            error: e.to_string(),
        };
        let cached = self.tags();
        for (name, expected) in listed {
            let Some(meta) = remote.head(name).map_err(|e| unreadable(name, e))? else {
                return Err(Mismatch::Missing(remote.url_of(name)));
            };
            let local = self.join(name);
            let same = meta.e_tag.is_some() && cached.get(name) == meta.e_tag.as_ref();
            if same && local.is_file() {
                continue;
            }
            let Some((found, _)) = remote
                .download(name, &local)
                .map_err(|e| unreadable(name, e))?
            else {
                return Err(Mismatch::Missing(remote.url_of(name)));
            };
            if &found != expected {
                let _ = fs::remove_file(&local);
                return Err(Mismatch::Changed {
                    path: remote.url_of(name),
                    expected: expected.clone(),
                    found,
                });
            }
            if let Some(tag) = meta.e_tag {
                self.set_tags(|all| {
                    all.insert(name.clone(), tag);
                })
                .map_err(|e| unreadable(name, e))?;
            }
        }
        Ok(())
    }
}
