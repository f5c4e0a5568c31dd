//! The thread pool of the threaded binaries (built with +atomics against one shared, imported
//! memory; each worker is an instance of this module on that memory with its own stack).
//!
//! One op at a time is shared: the calling thread publishes it in the control block, wakes
//! the workers, and then every thread claims work items with one atomic add until none are
//! left. Workers spin briefly between ops (ops follow each other within microseconds) and
//! then sleep in memory.atomic.wait32, so an idle pool costs nothing. The calling thread only
//! ever spins, never waits: a browser's main thread may not block.
#[cfg(not(feature = "train"))]
use crate::plan::run_item;
#[cfg(feature = "train")]
use crate::train::run_item;
use core::arch::wasm32::{memory_atomic_notify, memory_atomic_wait32};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};

/// Lives in shared memory, 64-byte aligned, zeroed by JS before any thread starts.
#[repr(C, align(64))]
pub struct Control {
    /// bumped for each shared op and for shutdown; workers wait on it
    generation: AtomicU32,
    /// workers blocked in wait32 (so the caller only notifies when someone sleeps)
    sleepers: AtomicU32,
    shutdown: AtomicU32,
    /// the descriptor of the op being shared
    descriptor: AtomicU32,
    /// end of the items to run << 24 | next item to claim
    work: AtomicU64,
    /// items finished
    done: AtomicU32,
}

const ITEM_MASK: u64 = (1 << 24) - 1;
/// Polls of `generation` before a worker goes to sleep (tens of microseconds).
const SPINS: u32 = 1 << 16;

/// Claims and runs items of the current op until none are left; `thread` is 0 for the
/// calling thread and 1.. for the workers.
unsafe fn drain(c: &Control, thread: usize) {
    loop {
        let v = c.work.fetch_add(1, SeqCst);
        let (next, total) = (v & ITEM_MASK, (v >> 24) & ITEM_MASK);
        if next >= total {
            return;
        }
        run_item(c.descriptor.load(SeqCst) as *const u32, next as usize, thread);
        c.done.fetch_add(1, SeqCst);
    }
}

/// Runs items [first, end) of the op at `d` on every thread; returns when all are done.
pub unsafe fn share(control: *mut Control, d: *const u32, first: usize, end: usize) {
    let c = &*control;
    let items = end - first;
    c.descriptor.store(d as u32, SeqCst);
    c.done.store(0, SeqCst);
    c.work.store((end as u64) << 24 | first as u64, SeqCst);
    c.generation.fetch_add(1, SeqCst);
    if c.sleepers.load(SeqCst) > 0 {
        memory_atomic_notify(c.generation.as_ptr() as *mut i32, u32::MAX);
    }
    drain(c, 0);
    while (c.done.load(SeqCst) as usize) < items {
        core::hint::spin_loop();
    }
}

/// A worker's whole life: returns only after `threads_shutdown`. `thread` numbers the
/// workers from 1 (the calling thread is 0).
#[no_mangle]
pub unsafe extern "C" fn threads_worker_loop(control: *mut Control, thread: u32) {
    let c = &*control;
    let mut seen = c.generation.load(SeqCst);
    loop {
        let mut spins = 0;
        loop {
            let g = c.generation.load(SeqCst);
            if g != seen {
                seen = g;
                break;
            }
            spins += 1;
            if spins >= SPINS {
                c.sleepers.fetch_add(1, SeqCst);
                memory_atomic_wait32(c.generation.as_ptr() as *mut i32, seen as i32, -1);
                c.sleepers.fetch_sub(1, SeqCst);
                spins = 0;
            }
        }
        if c.shutdown.load(SeqCst) != 0 {
            return;
        }
        drain(c, thread as usize);
    }
}

/// Makes every worker return from `threads_worker_loop`.
#[no_mangle]
pub unsafe extern "C" fn threads_shutdown(control: *mut Control) {
    let c = &*control;
    c.shutdown.store(1, SeqCst);
    c.generation.fetch_add(1, SeqCst);
    memory_atomic_notify(c.generation.as_ptr() as *mut i32, u32::MAX);
}

/// Bytes JS reserves for the control block.
#[no_mangle]
pub extern "C" fn threads_control_size() -> u32 {
    core::mem::size_of::<Control>() as u32
}
