//! A file or tree as a tar stream, written on a blocking thread into a
//! channel of chunks, so `upload` sends it while it is being read. The
//! entry is always named `payload`; modes and symbolic links are kept.

use std::io::Write;
use std::path::PathBuf;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The name of the one top-level entry of the archive.
pub const PAYLOAD: &str = "payload";

const CHUNK: usize = 64 * 1024;

/// Starts archiving `source`; the chunks arrive on the receiver, the handle
/// says whether the whole tree was read.
pub fn spawn(source: PathBuf) -> (mpsc::Receiver<Vec<u8>>, JoinHandle<Result<(), String>>) {
    let (sender, receiver) = mpsc::channel(8);
    let handle = tokio::task::spawn_blocking(move || {
        let meta =
            std::fs::symlink_metadata(&source).map_err(|error| format!("cannot read {}: {error}", source.display()))?;
        let writer = ChunkWriter { sender, buffer: Vec::with_capacity(CHUNK) };
        let mut builder = tar::Builder::new(writer);
        builder.follow_symlinks(false);
        builder.mode(tar::HeaderMode::Complete);
        let appended = if meta.is_dir() {
            builder.append_dir_all(PAYLOAD, &source)
        } else {
            builder.append_path_with_name(&source, PAYLOAD)
        };
        appended.map_err(|error| format!("cannot read {}: {error}", source.display()))?;
        let mut writer = builder.into_inner().map_err(|error| format!("cannot archive: {error}"))?;
        writer.flush().map_err(|error| format!("cannot send: {error}"))
    });
    (receiver, handle)
}

struct ChunkWriter {
    sender: mpsc::Sender<Vec<u8>>,
    buffer: Vec<u8>,
}

impl Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.sender
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the receiving side closed"))
    }
}
