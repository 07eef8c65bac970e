//! Keeps the newest installed image as the last good file, off the control thread.
//!
//! A durable write of a large image takes tens of milliseconds; doing it on the control thread
//! would delay the next install by as much. The keeper thread writes only the newest image it
//! was handed (older ones still queued are skipped) and stops when its sender is dropped.

use std::{
    path::PathBuf,
    sync::{Arc, mpsc},
    thread,
};

use strait_shm::MappedImage;
use strait_table::Image;
use tracing::{debug, warn};

/// Hands images to the keeper thread.
#[derive(Debug)]
pub(crate) struct Keeper {
    tx: mpsc::Sender<Arc<Image<MappedImage>>>,
}

impl Keeper {
    /// Starts the keeper thread writing to `path`.
    pub(crate) fn start(path: PathBuf) -> std::io::Result<(Keeper, thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Arc<Image<MappedImage>>>();
        let handle = thread::Builder::new().name("image-keeper".into()).spawn(move || {
            while let Ok(mut image) = rx.recv() {
                while let Ok(newer) = rx.try_recv() {
                    image = newer;
                }
                match strait_shm::write_atomic(&path, image.bytes()) {
                    Ok(()) => debug!(generation = image.generation(), "kept as the last good image"),
                    Err(e) => warn!(path = %path.display(), error = %e, "could not keep the image as last good"),
                }
            }
        })?;
        Ok((Keeper { tx }, handle))
    }

    /// Queues `image` to be kept.
    pub(crate) fn keep(&self, image: Arc<Image<MappedImage>>) {
        // The thread only ends when this sender is dropped.
        let _ = self.tx.send(image);
    }
}
