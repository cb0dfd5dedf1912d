//! Compression of artifacts: the choice, a writer that compresses (or not)
//! on the way to disk, and a reader that undoes it.

use std::io::{self, Read, Write};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Compression of the dump and the media archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression: the fastest on a local network and a small machine.
    None,
    /// gzip.
    Gzip,
    /// Zstandard (pg_dump 16 or later for the dump).
    Zstd,
}

impl Compression {
    /// The file name suffix this compression adds (`""`, `".gz"`, `".zst"`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Gzip => ".gz",
            Self::Zstd => ".zst",
        }
    }

    /// The word a manifest spells it with.
    pub fn word(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }

    /// `reader` with this compression undone.
    pub fn decoder<'a, R: Read + 'a>(self, reader: R) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Self::None => Box::new(reader),
            Self::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Self::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
        })
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// Compresses (or not) into `W`: gzip at level 1 for speed, zstd at level 3
/// on every core.
pub enum CompressingWriter<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> CompressingWriter<W> {
    pub fn new(inner: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Self::Plain(inner),
            Compression::Gzip => Self::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::fast(),
            )),
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(inner, 3)?;
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let _ = encoder.multithread(u32::try_from(threads).unwrap_or(1));
                Self::Zstd(encoder)
            }
        })
    }

    /// Ends the compressed stream and gives the inner writer back.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Self::Plain(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Self::Gzip(e) => e.finish(),
            Self::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for CompressingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(buf),
            Self::Gzip(w) => w.write(buf),
            Self::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Gzip(w) => w.flush(),
            Self::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_compressed_reads_back() {
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let mut w = CompressingWriter::new(Vec::new(), compression).unwrap();
            w.write_all(b"replicate ".repeat(100).as_slice()).unwrap();
            let packed = w.finish().unwrap();
            let mut back = Vec::new();
            compression
                .decoder(packed.as_slice())
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, b"replicate ".repeat(100), "{compression}");
        }
    }
}
