//! What can go wrong with the artifacts folder.

use std::path::PathBuf;

use miette::Diagnostic;

use crate::io::files::describe_io;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum StoreError {
    #[error("another run holds {path}: {holder}")]
    #[diagnostic(
        code(replicate::locked),
        help(
            "wait for it to finish; two runs on one artifacts folder would overwrite each other's files"
        )
    )]
    Locked { path: String, holder: String },

    #[error("{message}")]
    #[diagnostic(code(replicate::artifacts_folder), help("{help}"))]
    Folder { message: String, help: String },

    #[error("{message}")]
    #[diagnostic(
        code(replicate::object_store),
        help(
            "credentials and endpoints come from the store's environment variables (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL)"
        )
    )]
    Remote { message: String },

    #[error("cannot write {}: {}", path.display(), describe_io(source))]
    #[diagnostic(code(replicate::write))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
