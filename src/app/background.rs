//! Latest-wins background computations for the map (rendering, the picking index, filters,
//! region selection, sorting): starting a new one drops the result of the previous one.
//! Small inputs run inline (microseconds; no thread, no frame of latency); large ones run on
//! a worker thread (which may use rayon) and wake the UI when done.

use std::sync::mpsc::{Receiver, channel};

use eframe::egui;

/// Inputs up to this many rows are computed on the UI thread.
pub const INLINE_ROWS: usize = 20_000;

pub struct Task<T> {
    rx: Option<Receiver<T>>,
    ready: Option<T>,
}

impl<T> Default for Task<T> {
    fn default() -> Self {
        Task {
            rx: None,
            ready: None,
        }
    }
}

impl<T: Send + 'static> Task<T> {
    /// Start `f` (inline when `inline`), replacing whatever was running.
    pub fn start(
        &mut self,
        ctx: &egui::Context,
        inline: bool,
        f: impl FnOnce() -> T + Send + 'static,
    ) {
        self.ready = None;
        self.rx = None;
        if inline {
            self.ready = Some(f());
            return;
        }
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("atlas-map-task".into())
            .spawn(move || {
                // The receiver is gone when a newer task replaced this one: nothing to do.
                if tx.send(f()).is_ok() {
                    ctx.request_repaint();
                }
            });
        if spawned.is_ok() {
            self.rx = Some(rx);
        }
    }

    /// Whether a started task has not delivered yet.
    pub fn busy(&self) -> bool {
        self.rx.is_some()
    }

    /// The result, once, when it is there.
    pub fn poll(&mut self) -> Option<T> {
        if let Some(r) = self.ready.take() {
            return Some(r);
        }
        let rx = self.rx.as_ref()?;
        match rx.try_recv() {
            Ok(r) => {
                self.rx = None;
                Some(r)
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                // The worker panicked; forget it so a new one can start.
                self.rx = None;
                None
            }
        }
    }

    /// Wait for the running task (tests and benches only).
    pub fn wait(&mut self) -> Option<T> {
        if let Some(r) = self.ready.take() {
            return Some(r);
        }
        let r = self.rx.as_ref()?.recv().ok();
        self.rx = None;
        r
    }
}
