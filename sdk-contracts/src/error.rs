use alloc::string::String;

/// A contract error: its message becomes the revert reason in the receipt.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

/// The result of a contract method.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error { message: message.into() }
    }
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl core::fmt::Debug for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Error({:?})", self.message)
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<&str> for Error {
    fn from(m: &str) -> Self {
        Error::new(m)
    }
}

impl From<String> for Error {
    fn from(m: String) -> Self {
        Error::new(m)
    }
}

/// Returns an error unless the condition holds: `ensure!(cond, "format {}", args…)` returns an
/// [`Error`] with that message; `ensure!(cond, MyError::Variant)` returns the contract's own error
/// (anything the function's error type converts `From`).
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $fmt:literal $($args:tt)*) => {
        if !$cond {
            return ::core::result::Result::Err(::core::convert::From::from($crate::Error::new(
                $crate::prelude::format!($fmt $($args)*),
            )));
        }
    };
    ($cond:expr, $err:expr $(,)?) => {
        if !$cond {
            return ::core::result::Result::Err(::core::convert::From::from($err));
        }
    };
}

/// Returns an error: `fail!("format {}", args…)` an [`Error`] with that message,
/// `fail!(MyError::Variant)` the contract's own error.
#[macro_export]
macro_rules! fail {
    ($fmt:literal $($args:tt)*) => {
        return ::core::result::Result::Err(::core::convert::From::from($crate::Error::new(
            $crate::prelude::format!($fmt $($args)*),
        )))
    };
    ($err:expr $(,)?) => {
        return ::core::result::Result::Err(::core::convert::From::from($err))
    };
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{:02x}", b);
    }
    s
}
