//! The constructors every packet view shares, defined once.
//!
//! Every view is a struct around a buffer `T: AsRef<[u8]>` with the same three constructors;
//! what differs is its own `check_len` (what "long enough" means for that header) and its
//! accessors, which each module writes in its own `impl` block. Invariant, for every view:
//! [`new_checked`] succeeds exactly when `check_len` does, and after that no accessor panics.
//!
//! [`new_checked`]: crate::udp::Packet::new_checked

/// Defines view struct `$name` with `new_unchecked`, `new_checked` (through the view's own
/// `check_len`) and `into_inner`; `$doc` is the struct's doc comment.
macro_rules! view {
    ($name:ident, $doc:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
            pub const fn new_unchecked(buffer: T) -> Self {
                $name { buffer }
            }

            #[doc = concat!("Wraps `buffer` after [`", stringify!($name), "::check_len`].")]
            pub fn new_checked(buffer: T) -> Result<Self, $crate::DropReason> {
                let view = Self::new_unchecked(buffer);
                view.check_len()?;
                Ok(view)
            }

            /// Returns the wrapped buffer.
            pub fn into_inner(self) -> T {
                self.buffer
            }
        }
    };
}

pub(crate) use view;
