//! The single-flight state: is a refresh running, who waits for it, and what the last one gave.
//! This is the `isRefreshing` flag and `requests[]` queue of the classic interceptor, made
//! explicit so the failure cases have names:
//!
//! * a request records [`Coordinator::completed`] when it is sent; if it answers "expired" after a
//!   refresh finished meanwhile, it takes that refresh's outcome instead of starting another;
//! * [`Coordinator::reset`] (logout, new tokens) moves to a new epoch, so a refresh started in the
//!   old one cannot bring a cleared session back when its answer arrives late.
//!
//! Generic over the waker so the bookkeeping is tested natively; in the browser it is one promise
//! and its `resolve`, shared by every request that waits for the flight (a storm queues a thousand
//! requests; one promise each cost a promise, two closures and four calls into JS apiece).

use alloc::vec::Vec;

use crate::errors::AuthError;

/// The outcome every waiter of one refresh receives.
pub type Outcome = Result<(), AuthError>;

/// Refresh flag, waiting queue and history for one token store.
pub struct Coordinator<W> {
    /// The running flight's waker and the ids queued for it.
    flight: Option<(W, Vec<u32>)>,
    next_id: u32,
    completed: u64,
    last: Option<Outcome>,
    epoch: u64,
}

impl<W> Default for Coordinator<W> {
    fn default() -> Self {
        Coordinator { flight: None, next_id: 0, completed: 0, last: None, epoch: 0 }
    }
}

impl<W> Coordinator<W> {
    /// Whether a refresh is running now.
    pub fn is_refreshing(&self) -> bool {
        self.flight.is_some()
    }

    /// How many refreshes have finished; a request notes it when sent.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// The current epoch, to hand to [`Coordinator::finish`].
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The outcome of the newest refresh, if one finished after the caller noted `seen`.
    ///
    /// The newest, not necessarily the one a waiter queued for (issue 28 asked whether that can
    /// fail a request whose own refresh succeeded). Between a flight's end and its waiters' turn
    /// only microtasks run, so a later outcome can only come from a reset (`setTokens`,
    /// `clearTokens`, another tab's logout: meant to win) or from a flight that landed without
    /// reaching the network: held back while the browser is offline, or stopped because storage
    /// was emptied or replaced meanwhile. Each of those describes the session the replay would go
    /// out into, which is what the waiter needs; the older success no longer does.
    pub fn outcome_since(&self, seen: u64) -> Option<Outcome> {
        if self.completed > seen {
            self.last.clone()
        } else {
            None
        }
    }

    /// Raises the flag, with the waker that will wake everyone who waits for this refresh.
    /// Returns the epoch the caller must finish with, or `None` when a refresh is already running
    /// (join that one instead).
    pub fn begin(&mut self, waker: W) -> Option<u64> {
        if self.flight.is_some() {
            return None;
        }
        self.flight = Some((waker, Vec::new()));
        Some(self.epoch)
    }

    /// Queues for the running refresh: an id (to leave the queue by) and the flight's waker;
    /// `None` when none runs.
    pub fn enqueue(&mut self) -> Option<(u32, &W)> {
        let (waker, queue) = self.flight.as_mut()?;
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        queue.push(id);
        Some((id, waker))
    }

    /// Takes a waiter out (its caller aborted); false when it is not queued.
    pub fn remove(&mut self, id: u32) -> bool {
        let Some((_, queue)) = self.flight.as_mut() else {
            return false;
        };
        let at = queue.iter().position(|i| *i == id);
        at.map(|at| queue.remove(at)).is_some()
    }

    /// How many wait now.
    pub fn queued(&self) -> usize {
        self.flight.as_ref().map_or(0, |(_, queue)| queue.len())
    }

    /// Lowers the flag and hands back the waker, to wake every waiter with `outcome`, so the
    /// queue always drains. A refresh from an older epoch is stale: its waiters were already
    /// released by [`Coordinator::reset`] and its outcome is ignored (`None`).
    pub fn finish(&mut self, epoch: u64, outcome: Outcome) -> Option<(Option<W>, Outcome)> {
        if epoch != self.epoch {
            return None;
        }
        self.completed += 1;
        self.last = Some(outcome.clone());
        Some((self.flight.take().map(|(waker, _)| waker), outcome))
    }

    /// Starts a new epoch (tokens set or cleared). Any running refresh becomes stale; its waker
    /// is returned to release its waiters with `outcome` (go on with the new tokens, or fail),
    /// and so do requests already sent. Requests started afterwards see no history and may
    /// refresh again.
    pub fn reset(&mut self, outcome: Outcome) -> Option<W> {
        self.epoch += 1;
        self.last = Some(outcome);
        self.completed += 1;
        self.flight.take().map(|(waker, _)| waker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Code;

    #[test]
    fn one_flight_at_a_time_and_the_queue_drains() {
        let mut c = Coordinator::<&str>::default();
        assert_eq!(c.enqueue(), None, "no flight, no queue");
        let epoch = c.begin("first").unwrap();
        assert!(c.begin("second").is_none(), "second begin joins");
        let (a, waker) = c.enqueue().unwrap();
        assert_eq!(*waker, "first", "every waiter gets the flight's waker");
        let (b, _) = c.enqueue().unwrap();
        assert_ne!(a, b);
        assert_eq!(c.queued(), 2);
        assert!(c.remove(a));
        assert!(!c.remove(a));
        assert_eq!(c.queued(), 1);
        let (waker, outcome) = c.finish(epoch, Ok(())).unwrap();
        assert_eq!(waker, Some("first"));
        assert!(outcome.is_ok());
        assert_eq!((c.queued(), c.is_refreshing(), c.completed()), (0, false, 1));
    }

    #[test]
    fn late_answers_get_the_finished_outcome() {
        let mut c = Coordinator::<()>::default();
        let seen = c.completed();
        let e = c.begin(()).unwrap();
        let failure = AuthError::new(Code::RefreshFailed, &["x"]);
        c.finish(e, Err(failure.clone()));
        assert_eq!(c.outcome_since(seen), Some(Err(failure)), "in flight during the failure");
        assert_eq!(c.outcome_since(c.completed()), None, "started after it may try again");
    }

    #[test]
    fn reset_makes_a_running_refresh_stale() {
        let mut c = Coordinator::<u8>::default();
        let e = c.begin(7).unwrap();
        c.enqueue();
        let cleared = AuthError::new(Code::NoRefreshToken, &["cleared"]);
        assert_eq!(c.reset(Err(cleared.clone())), Some(7));
        assert!(!c.is_refreshing());
        assert!(c.finish(e, Ok(())).is_none(), "the late answer is ignored");
        assert_eq!(c.outcome_since(0), Some(Err(cleared)), "requests sent before the reset");
        assert_eq!(c.outcome_since(c.completed()), None, "requests sent after it");
    }
}
