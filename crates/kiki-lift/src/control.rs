//! Progress and cancellation for long runs (power simulations, market
//! selection). The engine reads no clock and spawns no task of its own: it
//! reports the fraction done through a callback on the caller's thread and
//! asks a closure, between units of work, whether to stop.

use crate::error::{LiftError, Result};

/// Progress callback and cancellation check for one run. Both optional;
/// [`RunControl::none`] runs to completion silently.
pub struct RunControl<'a> {
    progress: Option<&'a mut dyn FnMut(f64)>,
    cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
    last: f64,
}

impl std::fmt::Debug for RunControl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunControl")
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel.is_some())
            .field("last", &self.last)
            .finish()
    }
}

impl<'a> RunControl<'a> {
    /// No progress reports, never cancelled.
    pub fn none() -> Self {
        RunControl {
            progress: None,
            cancel: None,
            last: 0.0,
        }
    }

    /// Reports progress (a fraction in `[0, 1]`, non-decreasing) to
    /// `progress` and stops with [`LiftError::Cancelled`] once `cancel`
    /// returns true.
    pub fn new(
        progress: Option<&'a mut dyn FnMut(f64)>,
        cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
    ) -> Self {
        RunControl {
            progress,
            cancel,
            last: 0.0,
        }
    }

    /// Reports `fraction` done (clamped to `[0, 1]`, never going back).
    pub(crate) fn report(&mut self, fraction: f64) {
        let f = fraction.clamp(0.0, 1.0).max(self.last);
        self.last = f;
        if let Some(p) = self.progress.as_mut() {
            p(f);
        }
    }

    /// Whether the caller asked to stop.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c())
    }

    /// The cancellation check alone, shareable with worker threads.
    pub(crate) fn cancel_flag(&self) -> Option<&'a (dyn Fn() -> bool + Sync)> {
        self.cancel
    }

    /// [`LiftError::Cancelled`] when the caller asked to stop.
    pub(crate) fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(LiftError::Cancelled)
        } else {
            Ok(())
        }
    }
}

impl Default for RunControl<'_> {
    fn default() -> Self {
        RunControl::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn progress_never_goes_back_and_cancel_is_seen() {
        let mut seen = Vec::new();
        let stop = AtomicBool::new(false);
        let cancel = || stop.load(Ordering::Relaxed);
        {
            let mut cb = |f: f64| seen.push(f);
            let mut rc = RunControl::new(Some(&mut cb), Some(&cancel));
            rc.report(0.5);
            rc.report(0.25);
            rc.report(2.0);
            assert!(rc.check().is_ok());
            stop.store(true, Ordering::Relaxed);
            assert_eq!(rc.check(), Err(LiftError::Cancelled));
        }
        assert_eq!(seen, [0.5, 0.5, 1.0]);
    }
}
