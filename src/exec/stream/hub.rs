//! The stream format's dump and restore in one run: the dump publishes
//! each part as it writes it, the restore reads each table's file as it
//! grows. Nothing here is an artifact: the files are the dump's, and
//! `verify` and `check` prove them before `swap`.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, MutexGuard};

/// What the dump has written so far, shared with the restore.
#[derive(Debug, Default)]
pub struct Hub {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    pre_data: Option<Arc<Vec<u8>>>,
    post_data: Option<Arc<Vec<u8>>>,
    post_data_entries: Option<Arc<Vec<u8>>>,
    sequences: Option<Arc<Vec<u8>>>,
    /// How many tables the dump reads, once it knows.
    count: Option<usize>,
    tables: Vec<LiveTable>,
    /// Why the dump, or the restore, gave up.
    failed: Option<String>,
}

#[derive(Debug)]
struct LiveTable {
    schema: String,
    table: String,
    copy_in: String,
    file: Arc<File>,
    written: u64,
    done: bool,
}

/// A table the restore may start loading.
pub struct Started {
    pub index: usize,
    pub schema: String,
    pub table: String,
    pub copy_in: String,
}

/// Which part of the schema.
#[derive(Clone, Copy, Debug)]
pub enum Part {
    PreData,
    PostData,
    /// `post-data.json`.
    PostDataEntries,
    Sequences,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    fn change(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits until `ready` gives something, or a side gave up.
    fn wait_for<T>(&self, mut ready: impl FnMut(&State) -> Option<T>) -> Result<T, String> {
        let mut state = self.lock();
        loop {
            if let Some(found) = ready(&state) {
                return Ok(found);
            }
            if let Some(why) = &state.failed {
                return Err(why.clone());
            }
            self.changed.wait(&mut state);
        }
    }

    // The dump's side.

    pub fn publish(&self, part: Part, bytes: Vec<u8>) {
        self.change(|s| {
            let slot = match part {
                Part::PreData => &mut s.pre_data,
                Part::PostData => &mut s.post_data,
                Part::PostDataEntries => &mut s.post_data_entries,
                Part::Sequences => &mut s.sequences,
            };
            *slot = Some(Arc::new(bytes));
        });
    }

    pub fn set_count(&self, count: usize) {
        self.change(|s| s.count = Some(count));
    }

    /// A table's file is being written; `file` must be readable.
    pub fn start_table(&self, schema: &str, table: &str, copy_in: &str, file: File) -> usize {
        let mut index = 0;
        self.change(|s| {
            index = s.tables.len();
            s.tables.push(LiveTable {
                schema: schema.to_owned(),
                table: table.to_owned(),
                copy_in: copy_in.to_owned(),
                file: Arc::new(file),
                written: 0,
                done: false,
            });
        });
        index
    }

    /// `written` bytes of table `index` are in its file.
    pub fn wrote(&self, index: usize, written: u64) {
        self.change(|s| {
            if let Some(t) = s.tables.get_mut(index) {
                t.written = written;
            }
        });
    }

    pub fn finish_table(&self, index: usize) {
        self.change(|s| {
            if let Some(t) = s.tables.get_mut(index) {
                t.done = true;
            }
        });
    }

    /// A side gave up: the other stops waiting.
    pub fn fail(&self, why: &str) {
        self.change(|s| {
            if s.failed.is_none() {
                s.failed = Some(why.to_owned());
            }
        });
    }

    // The restore's side.

    pub fn part(&self, part: Part) -> Result<Arc<Vec<u8>>, String> {
        self.wait_for(|s| {
            match part {
                Part::PreData => &s.pre_data,
                Part::PostData => &s.post_data,
                Part::PostDataEntries => &s.post_data_entries,
                Part::Sequences => &s.sequences,
            }
            .clone()
        })
    }

    /// How many tables the dump reads, once it has listed them.
    pub fn count(&self) -> Result<usize, String> {
        self.wait_for(|s| s.count)
    }

    /// The table after `next - 1` in the order the dump started them, once
    /// it has; `None` when every table was handed out.
    pub fn next_table(&self, next: usize) -> Result<Option<Started>, String> {
        self.wait_for(|s| {
            if let Some(t) = s.tables.get(next) {
                return Some(Some(Started {
                    index: next,
                    schema: t.schema.clone(),
                    table: t.table.clone(),
                    copy_in: t.copy_in.clone(),
                }));
            }
            s.count.filter(|&count| next >= count).map(|_| None)
        })
    }

    /// Reads table `index`'s file as it grows, to its end.
    pub fn reader(self: &Arc<Self>, index: usize) -> LiveReader {
        LiveReader {
            hub: Arc::clone(self),
            index,
            offset: 0,
        }
    }
}

/// A table's file, read while the dump writes it.
pub struct LiveReader {
    hub: Arc<Hub>,
    index: usize,
    offset: u64,
}

impl Read for LiveReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let offset = self.offset;
        let index = self.index;
        let (file, available) = self
            .hub
            .wait_for(|s| {
                let t = s.tables.get(index)?;
                (t.written > offset || t.done).then(|| (Arc::clone(&t.file), t.written))
            })
            .map_err(io::Error::other)?;
        if available <= offset {
            return Ok(0);
        }
        let wanted = usize::try_from(available - offset)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = file.read_at(&mut buf[..wanted], offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::scratch;
    use std::io::Write;

    #[test]
    fn a_reader_follows_the_file_to_its_end() {
        let (_dir, path) = scratch::path("1.copy");
        let mut writer = File::create(&path).unwrap();
        let hub = Arc::new(Hub::default());
        hub.set_count(1);
        let index = hub.start_table(
            "public",
            "t",
            "COPY t FROM STDIN",
            File::open(&path).unwrap(),
        );
        let reading = {
            let hub = Arc::clone(&hub);
            std::thread::spawn(move || {
                let started = hub.next_table(0).unwrap().unwrap();
                assert_eq!(
                    (started.schema.as_str(), started.table.as_str()),
                    ("public", "t")
                );
                let mut text = String::new();
                hub.reader(started.index).read_to_string(&mut text).unwrap();
                assert!(hub.next_table(1).unwrap().is_none());
                text
            })
        };
        for (i, line) in ["1\ta\n", "2\tb\n", "3\tc\n"].iter().enumerate() {
            writer.write_all(line.as_bytes()).unwrap();
            hub.wrote(index, 4 * (i as u64 + 1));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        hub.finish_table(index);
        assert_eq!(reading.join().unwrap(), "1\ta\n2\tb\n3\tc\n");
    }

    #[test]
    fn a_failure_stops_the_waiting_side() {
        let hub = Arc::new(Hub::default());
        let waiting = {
            let hub = Arc::clone(&hub);
            std::thread::spawn(move || hub.part(Part::PreData).map(|_| ()))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        hub.fail("the dump failed");
        assert_eq!(waiting.join().unwrap(), Err("the dump failed".to_owned()));
    }
}
