//! What a no_std wasm contract needs from its SDK: an allocator and a panic handler.

/// A bump allocator. Every call runs in a fresh instance, so memory is never reused across calls
/// and freeing is not worth its code size; a call that allocates past the memory limit traps.
/// It starts in a heap that is part of the module's initial memory (zeroed static data, so no
/// bytes in the module), so a typical call never grows memory, which would cost the engine an
/// `mprotect` at the grow and another when the instance's slot is reused; past it, it grows.
mod bump {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;

    const PAGE: usize = 65536;
    /// The heap inside the initial memory: what a bill payment or a waste manifest allocates
    /// several times over.
    const STATIC_HEAP: usize = 64 * 1024;

    #[repr(C, align(16))]
    struct Heap([u8; STATIC_HEAP]);

    pub struct Bump {
        heap: UnsafeCell<Heap>,
        next: UnsafeCell<usize>,
        end: UnsafeCell<usize>,
    }

    // SAFETY: contracts are single-threaded (the engine has threads disabled).
    unsafe impl Sync for Bump {}

    impl Bump {
        pub const fn new() -> Self {
            Bump { heap: UnsafeCell::new(Heap([0; STATIC_HEAP])), next: UnsafeCell::new(0), end: UnsafeCell::new(0) }
        }
    }

    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let next = &mut *self.next.get();
            let end = &mut *self.end.get();
            if *end == 0 {
                // First allocation: the static heap.
                *next = self.heap.get() as usize;
                *end = *next + STATIC_HEAP;
            }
            let start = (*next + layout.align() - 1) & !(layout.align() - 1);
            let Some(new_next) = start.checked_add(layout.size()) else { return core::ptr::null_mut() };
            if new_next > *end {
                // Past the static heap: fresh pages at the end of memory (the heap's tail is
                // left unused; the new pages need not follow it).
                let pages = (layout.size() + layout.align()).div_ceil(PAGE);
                let prev = core::arch::wasm32::memory_grow(0, pages);
                if prev == usize::MAX {
                    return core::ptr::null_mut();
                }
                if prev * PAGE != *end {
                    *next = prev * PAGE;
                }
                *end = (prev + pages) * PAGE;
                return self.alloc(layout);
            }
            *next = new_next;
            start as *mut u8
        }
        unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
    }
}

#[global_allocator]
static ALLOCATOR: bump::Bump = bump::Bump::new();

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let message = match info.location() {
        Some(l) => alloc::format!("panicked at {}:{}: {}", l.file(), l.line(), info.message()),
        None => alloc::format!("panicked: {}", info.message()),
    };
    crate::backend::revert(&message)
}
