//! The shell build's allocator: one free list per power-of-two size class, fed by a bump pointer
//! over pages taken with `memory.grow`. Allocation and release are O(1) (a list head, or the bump);
//! a block is never split or merged, so memory is bounded by the peak of each class: at most twice
//! what was live at once in that class, plus alignment padding of fresh blocks. rlsf's TLSF costs
//! ~1 KB more wasm for merging neighbours, which a page's allocations (tokens, URLs, commands, each
//! of a few sizes over and over) do not need. Single-threaded: wasm32 without atomics.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::memory_grow;
use core::cell::UnsafeCell;
use core::ptr::null_mut;

const PAGE: usize = 65536;

/// The allocator; `static` with `#[global_allocator]`.
pub struct Heap(UnsafeCell<State>);

struct State {
    /// Class `k` (blocks of `2^k` bytes): the first free block, which holds the next one.
    free: [*mut u8; usize::BITS as usize],
    /// Where fresh blocks are cut, and the end of the pages taken.
    next: usize,
    end: usize,
}

// wasm32 without atomics has one thread (the crate refuses the atomics feature).
unsafe impl Sync for Heap {}

impl Heap {
    /// An empty heap: pages are taken on the first allocation.
    pub const fn new() -> Heap {
        Heap(UnsafeCell::new(State { free: [null_mut(); usize::BITS as usize], next: 0, end: 0 }))
    }
}

/// The class of `layout`: blocks of at least its size and alignment, and of a pointer (8 bytes).
fn class(layout: Layout) -> usize {
    let size = layout.size().max(layout.align()).max(8);
    (usize::BITS - (size - 1).leading_zeros()) as usize
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let s = &mut *self.0.get();
        let k = class(layout);
        if k >= usize::BITS as usize - 1 {
            return null_mut();
        }
        let head = s.free[k];
        if !head.is_null() {
            s.free[k] = *(head as *mut *mut u8);
            return head;
        }
        // A fresh block, aligned to its size (to a page at most): every block of a class then
        // serves any layout of that class, whatever its alignment.
        let size = 1 << k;
        let align = size.min(PAGE);
        loop {
            let at = (s.next + align - 1) & !(align - 1);
            if s.end - at >= size {
                s.next = at + size;
                return at as *mut u8;
            }
            let pages = (size + PAGE - 1) / PAGE;
            let first = memory_grow(0, pages);
            // (Failed, or all 4 GiB: the end would not fit in a usize.)
            if first == usize::MAX || first + pages >= PAGE {
                return null_mut();
            }
            // Pages right after ours extend them; others (memory grown elsewhere) start anew.
            if first * PAGE != s.end {
                s.next = first * PAGE;
            }
            s.end = (first + pages) * PAGE;
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let s = &mut *self.0.get();
        let k = class(layout);
        *(ptr as *mut *mut u8) = s.free[k];
        s.free[k] = ptr;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(new_size, layout.align());
        if class(new) == class(layout) {
            return ptr;
        }
        let p = self.alloc(new);
        if !p.is_null() {
            core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        p
    }
}
