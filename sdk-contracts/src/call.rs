//! Calling another contract.
//!
//! ```ignore
//! let out: u64 = CallBuilder::new(other)
//!     .input(other_contract::msg::bump(1))
//!     .value(100)
//!     .gas_limit(1_000_000)
//!     .invoke_decode()?;
//! ```
use crate::backend;
use crate::{AccountId, Error};
use alloc::string::String;
use alloc::vec::Vec;
use jjj_abi::ReturnCode;
use parity_scale_codec::Decode;

/// Why a cross-contract call failed: the code and the callee's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    pub code: ReturnCode,
    pub message: String,
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        if e.message.is_empty() {
            Error::new(alloc::format!("cross-contract call failed: {}", e.code.describe()))
        } else {
            Error::new(alloc::format!("cross-contract call failed: {}: {}", e.code.describe(), e.message))
        }
    }
}

pub struct CallBuilder {
    to: AccountId,
    input: Vec<u8>,
    value: u64,
    gas_limit: u64,
}

impl CallBuilder {
    pub fn new(to: AccountId) -> Self {
        CallBuilder { to, input: Vec::new(), value: 0, gas_limit: 0 }
    }
    /// The encoded message (use the callee's generated `msg::…` functions).
    pub fn input(mut self, input: Vec<u8>) -> Self {
        self.input = input;
        self
    }
    /// Fen to send from this contract to the callee.
    pub fn value(mut self, value: u64) -> Self {
        self.value = value;
        self
    }
    /// The callee's own gas limit; 0 (the default) lets it use all that is left.
    pub fn gas_limit(mut self, gas_limit: u64) -> Self {
        self.gas_limit = gas_limit;
        self
    }
    /// Calls and returns the callee's raw output.
    pub fn invoke(self) -> Result<Vec<u8>, CallError> {
        let code = backend::call_contract(&self.to, &self.input, self.value, self.gas_limit);
        let data = backend::return_data();
        match code {
            ReturnCode::Success => Ok(data),
            code => Err(CallError { code, message: String::from_utf8_lossy(&data).into_owned() }),
        }
    }
    /// Calls and decodes the callee's output.
    pub fn invoke_decode<R: Decode>(self) -> Result<R, Error> {
        let out = self.invoke()?;
        R::decode(&mut &out[..]).map_err(|e| Error::new(alloc::format!("cannot decode the callee's output: {e}")))
    }
}
