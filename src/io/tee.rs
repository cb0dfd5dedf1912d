//! One stream written to two places: an artifact's file and, with an
//! object store, its upload.

use std::io::{self, Write};

/// Writes everything to `first` and, when there is one, to `second`.
pub struct Tee<A, B> {
    first: A,
    second: Option<B>,
}

impl<A: Write, B: Write> Tee<A, B> {
    pub fn new(first: A, second: Option<B>) -> Self {
        Self { first, second }
    }

    pub fn into_parts(self) -> (A, Option<B>) {
        (self.first, self.second)
    }
}

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.first.write(buf)?;
        if let Some(second) = &mut self.second {
            second.write_all(&buf[..n])?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.first.flush()?;
        if let Some(second) = &mut self.second {
            second.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_get_every_byte() {
        let mut tee = Tee::new(Vec::new(), Some(Vec::new()));
        tee.write_all(b"hello ").unwrap();
        tee.write_all(b"world").unwrap();
        let (first, second) = tee.into_parts();
        assert_eq!(first, b"hello world");
        assert_eq!(second.unwrap(), b"hello world");
    }

    #[test]
    fn without_a_second_side_it_is_the_first() {
        let mut tee: Tee<Vec<u8>, Vec<u8>> = Tee::new(Vec::new(), None);
        tee.write_all(b"x").unwrap();
        assert_eq!(tee.into_parts(), (b"x".to_vec(), None));
    }
}
