//! Sending a checked archive to a program that unpacks it somewhere else
//! (`tar -x` on a host or in a container): the tar stream, decompressed,
//! written out as it is read, every entry compared on the way with the
//! ones [`super::check`] found safe. An archive changed since is stopped at
//! the first entry that differs.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use tar::EntryType;

use super::entries::{Kind, safe_relative};
use super::error::{MediaError, check_interrupt, io_at};
use super::unpack::{CheckedArchive, ExtractReport};
use crate::io::compression::Compression;
use crate::io::tally::{Tally, TallyReader};

/// Writes the tar stream of `archive` into `out`; what it holds. The
/// archive's bytes read are added to `tally` as they are.
pub fn send(
    archive: &Path,
    compression: Compression,
    checked: &CheckedArchive,
    out: &mut impl Write,
    tally: &Tally,
) -> Result<ExtractReport, MediaError> {
    let file = File::open(archive).map_err(io_at(archive))?;
    let stream = compression
        .decoder(BufReader::with_capacity(
            1 << 20,
            TallyReader::new(file, tally.clone()),
        ))
        .map_err(io_at(archive))?;
    let mut tar = tar::Archive::new(Copying { from: stream, out });
    let mut report = ExtractReport::default();
    let mut expected = checked.0.iter();
    let changed = |entry: &str| MediaError::Unsafe {
        entry: entry.to_owned(),
        reason: "changed after it was checked".into(),
    };
    for entry in tar.entries().map_err(io_at(archive))? {
        check_interrupt()?;
        let mut entry = entry.map_err(io_at(archive))?;
        let raw = entry.path().map_err(io_at(archive))?.into_owned();
        let shown = raw.display().to_string();
        let Ok(Some(path)) = safe_relative(&raw) else {
            if entry.header().entry_type() == EntryType::Directory {
                continue; // `./`, the folder itself
            }
            return Err(changed(&shown));
        };
        let planned = expected
            .next()
            .filter(|e| e.path == path)
            .ok_or_else(|| changed(&shown))?;
        let header = entry.header();
        let same = match &planned.kind {
            Kind::Folder => header.entry_type() == EntryType::Directory,
            Kind::File { size } => {
                matches!(
                    header.entry_type(),
                    EntryType::Regular | EntryType::Continuous
                ) && header.size().ok() == Some(*size)
            }
            Kind::Link { target } => {
                header.entry_type() == EntryType::Symlink
                    && entry.link_name().ok().flatten().as_deref() == Some(target.as_path())
            }
        };
        if !same {
            return Err(changed(&shown));
        }
        // Its data goes through to `out` as it is read.
        let bytes = io::copy(&mut entry, &mut io::sink()).map_err(io_at(archive))?;
        match planned.kind {
            Kind::Folder => report.folders += 1,
            Kind::Link { .. } => report.links += 1,
            Kind::File { .. } => {
                report.files += 1;
                report.bytes += bytes;
            }
        }
    }
    if expected.next().is_some() {
        return Err(changed(&archive.display().to_string()));
    }
    // The end-of-archive blocks and the padding after them too.
    let mut rest = tar.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(io_at(archive))?;
    rest.out.flush().map_err(io_at(archive))?;
    Ok(report)
}

/// A reader that writes everything it reads into `out`.
struct Copying<'a, R, W> {
    from: R,
    out: &'a mut W,
}

impl<R: Read, W: Write> Read for Copying<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.from.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}
