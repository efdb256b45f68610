//! Requests between two steps of the JS driver (`driver` in `js/helpers.js`): while one waits for a
//! refresh, an answer's body or the app's `isExpired`, its state stays here and JS holds only its
//! index. A slab rather than a JS object per request: nothing crosses to JS but a number, and
//! nothing needs a finaliser.

use alloc::vec::Vec;

/// Values by a reusable `u32` index.
pub struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { slots: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slab<T> {
    /// Keeps `value`; returns its index.
    pub fn insert(&mut self, value: T) -> u32 {
        if let Some(at) = self.free.pop() {
            if let Some(slot) = self.slots.get_mut(at as usize) {
                *slot = Some(value);
                return at;
            }
        }
        self.slots.push(Some(value));
        (self.slots.len() - 1) as u32
    }

    /// Takes the value at `at` out; `None` for an index that holds nothing (taken already).
    pub fn take(&mut self, at: u32) -> Option<T> {
        let value = self.slots.get_mut(at as usize)?.take()?;
        self.free.push(at);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_reused_and_taken_once() {
        let mut s = Slab::default();
        let a = s.insert("a");
        let b = s.insert("b");
        assert_eq!(s.take(a), Some("a"));
        assert_eq!(s.take(a), None, "taken already");
        assert_eq!(s.take(99), None, "never given");
        assert_eq!(s.insert("c"), a, "a freed index is reused");
        assert_eq!(s.insert("d"), 2, "a new one when none is free");
        assert_eq!((s.take(b), s.take(a)), (Some("b"), Some("c")));
    }
}
