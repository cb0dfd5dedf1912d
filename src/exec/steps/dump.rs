//! `dump`: `pg_dump` into the artifacts folder, hashed as it is written.

use std::fs;
use std::io::{self, BufWriter};

use crate::exec::follow::TreeFollower;
use crate::exec::process::{self, Output};
use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::compression::CompressingWriter;
use crate::io::files::{
    create_private, create_private_dir, describe_io, make_private, partial_path, remove_any,
};
use crate::io::hashing::HashingWriter;
use crate::io::writeback::WritebackFile;
use crate::plan::{Exec, Step};
use crate::store::Sums;

impl StepRunner<'_> {
    /// `pg_dump` into `NAME.partial`, hashed on the way (for the directory
    /// format, each file followed as `pg_dump` writes it), then renamed.
    pub(in crate::exec) fn dump(&self, step: &Step, exec: &Exec) -> StepResult {
        let artifact = step
            .produces
            .first()
            .ok_or_else(|| StepFailure::new("the dump step names no artifact"))?;
        let name = artifact.name.as_str();
        let final_path = self.artifacts.join(name);
        let partial = partial_path(&final_path);
        let io_failure = |what: &str, e: io::Error| {
            let _ = remove_any(&partial);
            StepFailure::new(format!(
                "cannot {what} {}: {}",
                partial.display(),
                describe_io(&e)
            ))
        };
        self.artifacts
            .forget(name)
            .map_err(|e| io_failure("clear the previous dump at", e))?;

        let (sums, bytes) = match &exec.stdout {
            Some(stream) => {
                let file = create_private(&partial).map_err(|e| io_failure("create", e))?;
                let mut sink = CompressingWriter::new(
                    HashingWriter::new(BufWriter::with_capacity(1 << 20, WritebackFile::new(file))),
                    stream.compression,
                )
                .map_err(|e| io_failure("write", e))?;
                if let Err(failure) = process::run(exec, self.secrets, Output::Into(&mut sink)) {
                    let _ = remove_any(&partial);
                    return Err(failure);
                }
                let (buffered, sha, bytes) =
                    sink.finish().map_err(|e| io_failure("write", e))?.finish();
                buffered
                    .into_inner()
                    .map_err(|e| io_failure("write", e.into_error()))?
                    .sync()
                    .map_err(|e| io_failure("flush", e))?;
                (Sums::from([(name.to_owned(), sha)]), bytes)
            }
            None => {
                // pg_dump accepts an empty folder; creating it first lets
                // the files be followed (and keeps the folder private).
                create_private_dir(&partial).map_err(|e| io_failure("create", e))?;
                let follower = TreeFollower::start(partial.clone(), name.to_owned());
                let ran = process::run(exec, self.secrets, Output::Discard);
                let followed = follower.finish();
                if let Err(failure) = ran {
                    let _ = remove_any(&partial);
                    return Err(failure);
                }
                make_private(&partial).map_err(|e| io_failure("protect", e))?;
                followed.map_err(|e| io_failure("hash", e))?
            }
        };
        fs::rename(&partial, &final_path).map_err(|e| io_failure("rename", e))?;
        self.artifacts
            .record(name, &sums)
            .map_err(|e| StepFailure::new(format!("cannot write SHA256SUMS: {e}")))?;
        Ok(StepReport {
            bytes,
            checksums: sums,
            note: None,
            ..StepReport::default()
        })
    }
}
