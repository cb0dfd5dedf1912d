//! The artifacts folder in an object store (`s3://bucket/prefix`, `gs://`,
//! `az://`), through the `object_store` library: credentials and endpoints
//! come from the store's own environment variables only. A blocking API
//! over the library's asynchronous one, on a small runtime of its own.
//!
//! Objects appear under their final names only when complete: small ones
//! in one request, large ones as multipart uploads completed at the end
//! (and aborted on failure).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};

use crate::io::files::{create_private, partial_path};
use crate::io::hashing::HashingWriter;

/// The schemes an artifacts folder may name.
pub const SCHEMES: [&str; 6] = ["s3://", "s3a://", "gs://", "az://", "abfs://", "azure://"];

/// Whether `text` names an object store rather than a local folder.
pub fn is_store_url(text: &str) -> bool {
    SCHEMES.iter().any(|s| text.starts_with(s))
}

/// Parts of multipart uploads, and how many are in flight at once: the
/// memory a transfer holds stays near their product.
const PART: usize = 5 << 20;
const IN_FLIGHT: usize = 2;
/// Files smaller than this are uploaded in one request.
const SMALL: u64 = 8 << 20;

/// An object's size and version tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub size: u64,
    pub e_tag: Option<String>,
}

/// An artifacts folder in an object store.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    runtime: tokio::runtime::Runtime,
    /// The URL as written, for messages.
    url: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// Why a remote operation failed, credentials never included.
fn failed(what: &str, error: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {error}"))
}

impl Remote {
    /// Opens the store that `url` names, configured from the environment.
    pub fn open(url: &str) -> io::Result<Self> {
        // rustls needs one crypto provider for the whole process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let prefix = rest.split_once('/').map_or("", |(_bucket, prefix)| prefix);
        let store: Arc<dyn ObjectStore> = match scheme {
            "s3" | "s3a" => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env().with_url(url);
                // The variable the AWS tools read for another endpoint.
                if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
                    builder = builder
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_endpoint(endpoint);
                }
                Arc::new(
                    builder
                        .build()
                        .map_err(|e| failed(&format!("cannot open {url}"), e))?,
                )
            }
            "gs" => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(|e| failed(&format!("cannot open {url}"), e))?,
            ),
            "az" | "abfs" | "azure" => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(|e| failed(&format!("cannot open {url}"), e))?,
            ),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{url} is not an object store URL ({})", SCHEMES.join(", ")),
                ));
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(Self {
            store,
            prefix: ObjectPath::from(prefix.trim_matches('/')),
            runtime,
            url: url.trim_end_matches('/').to_owned(),
        })
    }

    /// `s3://bucket/prefix/NAME`, for messages.
    pub fn url_of(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }

    fn path(&self, name: &str) -> ObjectPath {
        let mut path = self.prefix.clone();
        for part in name.split('/').filter(|p| !p.is_empty()) {
            path = path.join(part);
        }
        path
    }

    /// The object `name`'s size and tag; `None` when there is none.
    pub fn head(&self, name: &str) -> io::Result<Option<Meta>> {
        let path = self.path(name);
        match self.runtime.block_on(self.store.head(&path)) {
            Ok(meta) => Ok(Some(Meta {
                size: meta.size,
                e_tag: meta.e_tag,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed(&format!("cannot look at {}", self.url_of(name)), e)),
        }
    }

    /// Every object below `name` (a folder artifact) or `name` itself, with
    /// names relative to the prefix.
    pub fn list(&self, name: &str) -> io::Result<Vec<(String, Meta)>> {
        let path = self.path(name);
        let prefix = self.prefix.clone();
        let store = self.store.clone();
        self.runtime.block_on(async move {
            let mut found = Vec::new();
            let mut listing = store.list(Some(&path));
            while let Some(item) = listing.next().await {
                let meta = item.map_err(|e| failed("cannot list the store", e))?;
                let relative = meta
                    .location
                    .prefix_match(&prefix)
                    .map(|parts| {
                        parts
                            .map(|p| p.as_ref().to_owned())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .unwrap_or_else(|| meta.location.to_string());
                found.push((
                    relative,
                    Meta {
                        size: meta.size,
                        e_tag: meta.e_tag,
                    },
                ));
            }
            Ok(found)
        })
    }

    /// Puts `bytes` as `name`, replacing what was there; its new tag.
    pub fn put_bytes(&self, name: &str, bytes: &[u8]) -> io::Result<Option<String>> {
        let path = self.path(name);
        self.runtime
            .block_on(self.store.put(&path, PutPayload::from(bytes.to_vec())))
            .map(|put| put.e_tag)
            .map_err(|e| failed(&format!("cannot write {}", self.url_of(name)), e))
    }

    /// Puts `bytes` as `name` only if there is no such object: whether it
    /// was created.
    pub fn create(&self, name: &str, bytes: &[u8]) -> io::Result<bool> {
        let path = self.path(name);
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.runtime.block_on(self.store.put_opts(
            &path,
            PutPayload::from(bytes.to_vec()),
            options,
        )) {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(failed(&format!("cannot create {}", self.url_of(name)), e)),
        }
    }

    /// The whole of a small object; `None` when there is none.
    pub fn get_bytes(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        let path = self.path(name);
        let store = self.store.clone();
        match self
            .runtime
            .block_on(async move { store.get(&path).await?.bytes().await })
        {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed(&format!("cannot read {}", self.url_of(name)), e)),
        }
    }

    pub fn delete(&self, name: &str) -> io::Result<()> {
        let path = self.path(name);
        match self.runtime.block_on(self.store.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed(&format!("cannot delete {}", self.url_of(name)), e)),
        }
    }

    /// Uploads the local file `local` as `name`: one request for a small
    /// file, a multipart upload for a large one, which becomes visible only
    /// when it completes. Memory stays within a few parts. Its new tag.
    pub fn upload_file(&self, local: &Path, name: &str) -> io::Result<Option<String>> {
        let size = std::fs::metadata(local)?.len();
        if size < SMALL {
            return self.put_bytes(name, &std::fs::read(local)?);
        }
        let mut upload = self.upload(name)?;
        let mut file = File::open(local)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            upload.write_all(&buf[..n])?;
        }
        upload.finish()
    }

    /// A writer that uploads `name` as it is written; the object appears
    /// when [`Upload::finish`] completes it, and never if the writer is
    /// dropped before.
    pub fn upload(&self, name: &str) -> io::Result<Upload<'_>> {
        let path = self.path(name);
        let upload = self
            .runtime
            .block_on(self.store.put_multipart(&path))
            .map_err(|e| failed(&format!("cannot start uploading {}", self.url_of(name)), e))?;
        Ok(Upload {
            remote: self,
            writer: Some(WriteMultipart::new_with_chunk_size(upload, PART)),
            name: name.to_owned(),
        })
    }

    /// Downloads `name` into `local` (through `local.partial`), returning
    /// its SHA-256 and size; `None` when there is no such object.
    pub fn download(&self, name: &str, local: &Path) -> io::Result<Option<(String, u64)>> {
        let path = self.path(name);
        let partial = partial_path(local);
        if let Some(parent) = local.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let store = self.store.clone();
        let url = self.url_of(name);
        let result = self.runtime.block_on(async {
            let got = match store.get(&path).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(failed(&format!("cannot read {url}"), e)),
            };
            let mut sink = HashingWriter::new(io::BufWriter::new(create_private(&partial)?));
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| failed(&format!("cannot read {url}"), e))?;
                sink.write_all(&chunk)?;
            }
            let (buffered, sha, bytes) = sink.finish();
            buffered
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
            Ok(Some((sha, bytes)))
        });
        match result {
            Ok(Some(found)) => {
                std::fs::rename(&partial, local)?;
                Ok(Some(found))
            }
            other => {
                let _ = std::fs::remove_file(&partial);
                other
            }
        }
    }
}

/// An upload in progress.
pub struct Upload<'a> {
    remote: &'a Remote,
    writer: Option<WriteMultipart>,
    name: String,
}

impl Upload<'_> {
    /// Completes the upload: only now does the object exist. Its tag.
    pub fn finish(mut self) -> io::Result<Option<String>> {
        let Some(writer) = self.writer.take() else {
            return Ok(None);
        };
        let url = self.remote.url_of(&self.name);
        self.remote
            .runtime
            .block_on(writer.finish())
            .map(|put| put.e_tag)
            .map_err(|e| failed(&format!("cannot complete {url}"), e))
    }
}

impl Write for Upload<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(io::Error::other("the upload is over"));
        };
        let runtime = &self.remote.runtime;
        runtime
            .block_on(writer.wait_for_capacity(IN_FLIGHT))
            .map_err(|e| {
                failed(
                    &format!("cannot upload {}", self.remote.url_of(&self.name)),
                    e,
                )
            })?;
        let _inside = runtime.enter();
        writer.write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            // Never completed: nothing appears under the name.
            let _ = self.remote.runtime.block_on(writer.abort());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_are_told_from_folders() {
        assert!(is_store_url("s3://bucket/nightly"));
        assert!(is_store_url("gs://bucket"));
        assert!(is_store_url("az://container/x"));
        assert!(!is_store_url(".replicate"));
        assert!(!is_store_url("/srv/artifacts"));
    }
}
