//! Latest-wins background computations for the map (rendering, the picking index, filters,
//! region selection, sorting): starting a new one drops the result of the previous one.
//! Small inputs run inline (microseconds; no thread, no frame of latency); large ones run on
//! a worker thread (which may use rayon) and wake the UI when done. A task that panics ends
//! with its panic message (see [`Task::poll_outcome`]) instead of running for ever.

use std::sync::mpsc::{Receiver, channel};

use eframe::egui;

/// Inputs up to this many rows are computed on the UI thread.
pub const INLINE_ROWS: usize = 20_000;

/// What a task ended with: its value, or why it has none (its panic message).
pub type Outcome<T> = Result<T, String>;

pub struct Task<T> {
    rx: Option<Receiver<Outcome<T>>>,
    ready: Option<Outcome<T>>,
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
            self.ready = Some(run_caught(f));
            return;
        }
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("atlas-map-task".into())
            .spawn(move || {
                // The receiver is gone when a newer task replaced this one: nothing to do.
                if tx.send(run_caught(f)).is_ok() {
                    ctx.request_repaint();
                }
            });
        match spawned {
            Ok(_) => self.rx = Some(rx),
            Err(e) => self.ready = Some(Err(format!("could not start a worker thread: {e}"))),
        }
    }

    /// Whether a started task has not delivered yet.
    pub fn busy(&self) -> bool {
        self.rx.is_some()
    }

    /// The result, once, when it is there (a task that failed has none).
    pub fn poll(&mut self) -> Option<T> {
        self.poll_outcome().and_then(Result::ok)
    }

    /// How the task ended, once, when it has: its value or its panic message.
    pub fn poll_outcome(&mut self) -> Option<Outcome<T>> {
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
                // The worker died without a word; forget it so a new one can start.
                self.rx = None;
                Some(Err("the worker thread stopped".into()))
            }
        }
    }

    /// Block until the running task has delivered (tests and benches only); its result
    /// stays for the next `poll`.
    pub fn finish(&mut self) {
        if self.ready.is_none()
            && let Some(rx) = self.rx.take()
        {
            self.ready = Some(
                rx.recv()
                    .unwrap_or_else(|_| Err("the worker thread stopped".into())),
            );
        }
    }

    /// Wait for the running task (tests and benches only).
    pub fn wait(&mut self) -> Option<T> {
        if let Some(r) = self.ready.take() {
            return r.ok();
        }
        let r = self.rx.as_ref()?.recv().ok();
        self.rx = None;
        r.and_then(Result::ok)
    }
}

/// Run `f`, turning a panic into its message.
fn run_caught<T>(f: impl FnOnce() -> T) -> Outcome<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        format!("a background task failed: {message}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_task_ends_with_its_message() {
        let ctx = egui::Context::default();
        let mut task: Task<u32> = Task::default();
        task.start(&ctx, false, || panic!("boom"));
        let start = std::time::Instant::now();
        let outcome = loop {
            if let Some(o) = task.poll_outcome() {
                break o;
            }
            assert!(start.elapsed().as_secs() < 10);
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert!(outcome.unwrap_err().contains("boom"));
        assert!(!task.busy());
        task.start(&ctx, true, || 7);
        assert_eq!(task.poll(), Some(7));
    }
}
