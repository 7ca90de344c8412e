//! The two things every exported function relies on, after rustls-ffi:
//!
//! * the panic boundary: `ffi_panic_boundary!` runs a body and
//!   turns a panic into the return type's [`PanicOrDefault`] value (`ENROLLKIT_RESULT_PANIC`
//!   with the panic's text as the thread's last error, NULL, 0, `false`, or
//!   `ENROLLKIT_TIME_ABSENT` for a time), so no function unwinds into C;
//! * handle ownership: each opaque C type names the Rust type behind it ([`Castable`]); a handle
//!   C owns is a `Box` made by [`to_boxed_mut_ptr`] and released by [`free_box`] (its `_free`
//!   function), a handle C borrows (an item of a page) points into its owner ([`to_const_ptr`]),
//!   and every use goes through [`try_ref_from_ptr`], which turns NULL into `None`.

use std::any::Any;
use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::{enrollkit_result, remember_panic};

/// The value an exported function returns when its body panicked (rustls-ffi's trait of the
/// same name).
pub(crate) trait PanicOrDefault {
    /// The value for a panic whose payload is `payload`.
    fn from_panic(payload: Box<dyn Any + Send>) -> Self;
}

impl PanicOrDefault for enrollkit_result {
    fn from_panic(payload: Box<dyn Any + Send>) -> enrollkit_result {
        remember_panic(payload);
        enrollkit_result::Panic
    }
}

impl PanicOrDefault for () {
    fn from_panic(_: Box<dyn Any + Send>) {}
}

impl PanicOrDefault for bool {
    fn from_panic(_: Box<dyn Any + Send>) -> bool {
        false
    }
}

/// Counters, sizes, sequence numbers, percentages: 0 after a panic (a time accessor returns
/// [`crate::ENROLLKIT_TIME_ABSENT`] itself: its body cannot panic before choosing it).
macro_rules! panic_default_zero {
    ($($ty:ty),*) => {$(
        impl PanicOrDefault for $ty {
            fn from_panic(_: Box<dyn Any + Send>) -> $ty {
                0 as $ty
            }
        }
    )*};
}
panic_default_zero!(u32, u64, i64, usize, f64);

impl<T> PanicOrDefault for *const T {
    fn from_panic(_: Box<dyn Any + Send>) -> *const T {
        std::ptr::null()
    }
}

impl<T> PanicOrDefault for *mut T {
    fn from_panic(_: Box<dyn Any + Send>) -> *mut T {
        std::ptr::null_mut()
    }
}

/// Runs the body of an exported function, whatever it returns: a panic becomes the return
/// type's [`PanicOrDefault`] value instead of unwinding into C (undefined behaviour). Every
/// `extern "C"` function of this crate is one use of it, as in rustls-ffi.
macro_rules! ffi_panic_boundary {
    ($($body:tt)*) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($body)* })) {
            Ok(value) => value,
            Err(payload) => $crate::boundary::PanicOrDefault::from_panic(payload),
        }
    };
}

/// An opaque C type and the Rust value a pointer to it points at (rustls-ffi's `Castable`).
/// The C type is never instantiated: pointers to it are pointers to `RustType`.
pub(crate) trait Castable {
    /// What a `*const Self` really points at.
    type RustType;
}

/// Hands `value` to C as a new handle that C owns and releases with the type's `_free`
/// function ([`free_box`]).
pub(crate) fn to_boxed_mut_ptr<C: Castable>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(value)).cast()
}

/// Lends `value`, owned by another handle, to C: C must not free it, and it lives as long as
/// its owner.
pub(crate) fn to_const_ptr<C: Castable>(value: &C::RustType) -> *const C {
    (value as *const C::RustType).cast()
}

/// The value behind a handle, or `None` for NULL.
pub(crate) fn try_ref_from_ptr<'a, C: Castable>(ptr: *const C) -> Option<&'a C::RustType> {
    // SAFETY: a non-NULL handle came from to_boxed_mut_ptr or to_const_ptr for the same
    // Castable type and has not been freed (the documented contract of every function).
    unsafe { ptr.cast::<C::RustType>().as_ref() }
}

/// The value behind a handle C may change (a batch or a query), or `None` for NULL.
pub(crate) fn try_mut_from_ptr<'a, C: Castable>(ptr: *mut C) -> Option<&'a mut C::RustType> {
    // SAFETY: as for try_ref_from_ptr; C passes a handle it owns and uses it from one thread
    // at a time while changing it (documented for each mutable handle).
    unsafe { ptr.cast::<C::RustType>().as_mut() }
}

/// Releases a handle made by [`to_boxed_mut_ptr`]; NULL is ignored.
pub(crate) fn free_box<C: Castable>(ptr: *mut C) {
    if !ptr.is_null() {
        // SAFETY: `ptr` came from to_boxed_mut_ptr::<C> and is released once (documented).
        drop(unsafe { Box::from_raw(ptr.cast::<C::RustType>()) });
    }
}

/// NUL-terminated copies of a record's text fields, made the first time C reads each one and
/// kept as long as the record, so that `const char *` accessors can lend them. One slot per
/// field, NULL until the field is first read; two threads reading a field for the first time at
/// once both convert it, one of them installs its copy (compare-and-swap) and the other frees
/// its own, so a record may be read from several threads at once. A slot is one pointer: a new
/// record only zeroes its slots and dropping one frees what was made (a page of 20 enrollments
/// makes and drops 20 of them per listing).
pub(crate) struct Texts<const N: usize>([AtomicPtr<c_char>; N]);

impl<const N: usize> Texts<N> {
    /// No field converted yet.
    pub(crate) fn new() -> Texts<N> {
        Texts(std::array::from_fn(
            |_| AtomicPtr::new(std::ptr::null_mut()),
        ))
    }

    /// Lends field `slot`'s text, converting `text` the first time; NULL when it is absent.
    pub(crate) fn lend(&self, slot: usize, text: Option<&str>) -> *const c_char {
        let Some(text) = text else {
            return std::ptr::null();
        };
        let cell = &self.0[slot];
        let made = cell.load(Ordering::Acquire);
        if !made.is_null() {
            return made;
        }
        let mine = crate::c_string(text.to_owned()).into_raw();
        match cell.compare_exchange(
            std::ptr::null_mut(),
            mine,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => mine,
            Err(theirs) => {
                // SAFETY: `mine` came from CString::into_raw just above and was never shared.
                drop(unsafe { CString::from_raw(mine) });
                theirs
            }
        }
    }
}

impl<const N: usize> Drop for Texts<N> {
    fn drop(&mut self) {
        for cell in &mut self.0 {
            let made = *cell.get_mut();
            if !made.is_null() {
                // SAFETY: a non-NULL slot holds a pointer from CString::into_raw (lend), freed
                // only here.
                drop(unsafe { CString::from_raw(made) });
            }
        }
    }
}
