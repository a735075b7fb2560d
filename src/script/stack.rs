//! How much native stack an evaluation may need, and how much the current thread has left.
//!
//! Rhai's evaluator, and its clone/drop/size checks of nested arrays and maps, recurse on the
//! native stack: a script nesting function calls `call_depth` deep, each inside expressions
//! `expr_depth` deep, or building data nested `array_size + map_size` levels deep, can need far
//! more than the 2 MiB of a default Rust or tokio thread. Running out of stack aborts the whole
//! process, so the sandbox evaluates on the calling thread only when it has enough stack left,
//! and otherwise on a helper thread with a stack of [`required_stack_size`].

use crate::script::ScriptLimits;
use std::cell::Cell;

/// Native stack used by the evaluator before the script nests anything (debug builds).
const BASE: usize = 1 << 20;
/// Per expression nesting level.
const PER_EXPR: usize = 2 << 10;
/// Per script function call level, besides the expressions it sits in.
const PER_CALL: usize = 16 << 10;
/// Per level of nested arrays/maps (clone, drop and the size checks recurse over them).
const PER_NESTING: usize = 512;
/// Nesting assumed when a size limit is 0 (unlimited).
const UNLIMITED_NESTING: usize = 1_000_000;
/// What the caller's own frames (tokio, the engine) may already use of a thread given
/// [`required_stack_size`]: evaluations run on such a thread when this much less is left.
pub(crate) const CALLER_ALLOWANCE: usize = 2 << 20;
/// Never ask for more than this.
const MAX: usize = 256 << 20;
/// Never ask for less than this.
const MIN: usize = 8 << 20;

/// The native stack an evaluation under `limits` may need: what a thread running evaluations
/// should have (e.g. tokio's `Builder::thread_stack_size`) so they run on it directly.
///
/// About 110 MiB with the default limits; it is only reserved address space, the memory is
/// used only as deep as a script actually goes.
pub fn required_stack_size(limits: &ScriptLimits) -> usize {
    let expr = match limits.max_expr_depth {
        0 => 1000,
        n => n,
    };
    let size = |n: usize| if n == 0 { UNLIMITED_NESTING } else { n };
    let nesting = size(limits.max_array_size).saturating_add(size(limits.max_map_size));
    let per_call = PER_CALL.saturating_add(expr.saturating_mul(PER_EXPR));
    BASE.saturating_add(expr.saturating_mul(PER_EXPR))
        .saturating_add(limits.max_call_depth.saturating_mul(per_call))
        .saturating_add(nesting.saturating_mul(PER_NESTING))
        .clamp(MIN, MAX)
}

thread_local! {
    /// Lowest address of this thread's stack (0 = not known yet, 1 = unknowable).
    static STACK_LOW: Cell<usize> = const { Cell::new(0) };
}

/// Bytes of stack left below the caller's frame, when the platform tells.
pub(crate) fn remaining() -> Option<usize> {
    let low = STACK_LOW.with(|cell| {
        if cell.get() == 0 {
            cell.set(query_stack_low().unwrap_or(1));
        }
        cell.get()
    });
    if low == 1 {
        return None;
    }
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    here.checked_sub(low)
}

#[cfg(target_os = "linux")]
fn query_stack_low() -> Option<usize> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `attr` is initialized by pthread_getattr_np when it returns 0, and destroyed once.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut address: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let result = libc::pthread_attr_getstack(attr.as_ptr(), &mut address, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        if result != 0 || address.is_null() {
            return None;
        }
        // Keep clear of the guard page(s) at the bottom.
        Some(address as usize + (64 << 10))
    }
}

#[cfg(target_os = "macos")]
fn query_stack_low() -> Option<usize> {
    // SAFETY: both calls only read the current thread's attributes.
    unsafe {
        let thread = libc::pthread_self();
        let top = libc::pthread_get_stackaddr_np(thread) as usize;
        let size = libc::pthread_get_stacksize_np(thread);
        top.checked_sub(size).map(|low| low + (64 << 10))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn query_stack_low() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let default = required_stack_size(&ScriptLimits::default());
        assert!(default > 64 << 20 && default < 160 << 20, "{default}");
        let small = ScriptLimits {
            max_call_depth: 8,
            max_expr_depth: 16,
            max_array_size: 1000,
            max_map_size: 1000,
            ..ScriptLimits::default()
        };
        assert_eq!(required_stack_size(&small), MIN);
        let unlimited =
            ScriptLimits { max_array_size: 0, max_map_size: 0, max_expr_depth: 0, ..ScriptLimits::default() };
        assert_eq!(required_stack_size(&unlimited), MAX);
    }

    #[test]
    fn remaining_is_known_and_shrinks_with_depth() {
        #[cfg(any(target_os = "linux", target_os = "macos"))]
        {
            let outer = remaining().unwrap_or(0);
            assert!(outer > 0);
            fn deeper(n: usize) -> usize {
                let pad = [0u8; 4096];
                std::hint::black_box(&pad);
                if n == 0 {
                    remaining().unwrap_or(0)
                } else {
                    deeper(n - 1)
                }
            }
            assert!(deeper(8) < outer);
            // A thread with a big stack has it.
            let big = std::thread::Builder::new()
                .stack_size(64 << 20)
                .spawn(|| remaining().unwrap_or(0))
                .ok()
                .and_then(|h| h.join().ok())
                .unwrap_or(0);
            assert!(big > 60 << 20, "{big}");
        }
    }
}
