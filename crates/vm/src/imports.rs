//! The host functions of the jjj ABI, linked into every instance. Each charges its gas (the
//! schedule in `limits::gas`) before it does the work, and reaches the chain only through
//! [`Host`].
use crate::frame::{
    charge_memory_pages, failed, invoke, read_only_refusal, Entry, ExecutionState, Frame, FrameEnd, HostTrap,
};
use crate::host::{Host, HostError};
use crate::limits::{gas, HostCost};
use crate::trace::TraceStep;
use crate::{ReadAccess, PROTECTED_READ_REFUSAL};
use jjj_abi::{limits::*, names, ReturnCode, NOT_FOUND};
use jjj_primitives::{AccountId, Event, Hash};
use wasmtime::{Caller, Linker, Memory, Trap};

/// A host function's view of the running instance.
type WasmCaller<'a, H> = Caller<'a, ExecutionState<H>>;
/// What a host function returns to wasmtime: a value, or the trap that ends the frame.
type HostResult<T> = Result<T, wasmtime::Error>;

fn state_err(e: HostError) -> wasmtime::Error {
    failed(format!("state: {e}"))
}

fn refuse_in_query<H: Host>(caller: &WasmCaller<'_, H>, what: &str) -> HostResult<()> {
    if caller.data().read_only {
        return Err(failed(read_only_refusal(what)));
    }
    Ok(())
}

fn charge<H: Host>(caller: &mut WasmCaller<'_, H>, amount: u64) -> Result<(), wasmtime::Error> {
    charge_memory_pages(&mut *caller)?;
    let left = caller.get_fuel()?;
    if left < amount {
        caller.set_fuel(0)?;
        return Err(wasmtime::Error::new(HostTrap::OutOfGas));
    }
    caller.set_fuel(left - amount)
}

fn charge_cost<H: Host>(caller: &mut WasmCaller<'_, H>, cost: HostCost, bytes: usize) -> Result<(), wasmtime::Error> {
    charge(caller, cost.of(bytes))
}

fn memory<H: Host>(caller: &WasmCaller<'_, H>) -> Result<Memory, wasmtime::Error> {
    caller.data().frame()?.memory.ok_or_else(|| failed("the contract has no memory"))
}

fn read<H: Host>(caller: &mut WasmCaller<'_, H>, ptr: u32, len: u32) -> Result<Vec<u8>, wasmtime::Error> {
    let mem = memory(caller)?;
    let mut buf = vec![0u8; len as usize];
    mem.read(&*caller, ptr as usize, &mut buf)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +{len}) outside its linear memory")))?;
    Ok(buf)
}

fn read_array<H: Host, const N: usize>(caller: &mut WasmCaller<'_, H>, ptr: u32) -> Result<[u8; N], wasmtime::Error> {
    let mem = memory(caller)?;
    let mut buf = [0u8; N];
    mem.read(&*caller, ptr as usize, &mut buf)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +{N}) outside its linear memory")))?;
    Ok(buf)
}

fn write<H: Host>(caller: &mut WasmCaller<'_, H>, ptr: u32, data: &[u8]) -> Result<(), wasmtime::Error> {
    let mem = memory(caller)?;
    mem.write(&mut *caller, ptr as usize, data)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +{}) outside its linear memory", data.len())))
}

/// The `(out_ptr, out_cap) -> len` convention: copy what fits, return the full length.
fn write_out<H: Host>(
    caller: &mut WasmCaller<'_, H>,
    out_ptr: u32,
    out_cap: u32,
    data: &[u8],
) -> Result<u32, wasmtime::Error> {
    let n = data.len().min(out_cap as usize);
    write(caller, out_ptr, &data[..n])?;
    Ok(data.len() as u32)
}

/// `write_out` for a buffer of the running frame: copies what fits straight from the frame
/// into linear memory, without an intermediate copy of the whole buffer.
fn copy_out<H: Host>(
    caller: &mut WasmCaller<'_, H>,
    out_ptr: u32,
    out_cap: u32,
    pick: impl Fn(&Frame) -> &[u8],
) -> Result<u32, wasmtime::Error> {
    let mem = memory(caller)?;
    let (bytes, state) = mem.data_and_store_mut(&mut *caller);
    let data = pick(state.frame()?);
    let n = data.len().min(out_cap as usize);
    let start = out_ptr as usize;
    let dst = start
        .checked_add(n)
        .and_then(|end| bytes.get_mut(start..end))
        .ok_or_else(|| failed(format!("the contract passed memory [{out_ptr}, +{n}) outside its linear memory")))?;
    dst.copy_from_slice(&data[..n]);
    Ok(data.len() as u32)
}

fn bounded(what: &str, len: u32, limit: u32) -> Result<(), wasmtime::Error> {
    if len > limit {
        return Err(failed(format!("{what} of {len} bytes is over the limit of {limit} bytes")));
    }
    Ok(())
}

/// The running contract's address and the key it passed.
fn storage_key<H: Host>(
    caller: &mut WasmCaller<'_, H>,
    key_ptr: u32,
    key_len: u32,
) -> Result<(AccountId, Vec<u8>), wasmtime::Error> {
    bounded("storage key", key_len, MAX_STORAGE_KEY_LEN)?;
    let key = read(caller, key_ptr, key_len)?;
    let address = caller.data().frame()?.address;
    Ok((address, key))
}

/// Links every function of the ABI. The names come from `jjj_abi::names`; a test checks the
/// linker defines exactly `jjj_abi::HOST_FUNCTIONS`.
/// Records a storage read when traced.
fn trace_read<H: Host>(c: &mut WasmCaller<'_, H>, contract: AccountId, key: &[u8], value: &Option<Vec<u8>>) {
    if c.data().trace.is_some() {
        let gas_left = c.get_fuel().unwrap_or(0);
        let (key, value) = (key.to_vec(), value.clone());
        c.data_mut().trace(|depth| TraceStep::StorageRead { depth, contract, key, value, gas_left });
    }
}

/// Records a storage write (`None`: a removal) with the value it replaces, when traced. Reading
/// the old value charges nothing: a traced run uses the gas the block's run did.
fn trace_write<H: Host>(c: &mut WasmCaller<'_, H>, contract: AccountId, key: &[u8], after: Option<&[u8]>) {
    if c.data().trace.is_some() {
        let gas_left = c.get_fuel().unwrap_or(0);
        let before = c.data().host.storage_get(&contract, key).ok().flatten();
        let (key, after) = (key.to_vec(), after.map(<[u8]>::to_vec));
        c.data_mut().trace(|depth| TraceStep::StorageWrite { depth, contract, key, before, after, gas_left });
    }
}

pub fn define<H: Host>(linker: &mut Linker<ExecutionState<H>>) -> HostResult<()> {
    let m = jjj_abi::HOST_MODULE;

    linker.func_wrap(m, names::input, |mut c: WasmCaller<'_, H>, out_ptr: u32, out_cap: u32| -> HostResult<u32> {
        // Charged on the whole input before anything is copied: a call asking for the length
        // alone must not make the host move the input for free.
        let len = c.data().frame()?.input.len();
        charge_cost(&mut c, gas::INPUT, len)?;
        copy_out(&mut c, out_ptr, out_cap, |f| &f.input)
    })?;

    linker.func_wrap(m, names::set_output, |mut c: WasmCaller<'_, H>, ptr: u32, len: u32| -> HostResult<()> {
        bounded("output", len, MAX_OUTPUT_LEN)?;
        charge_cost(&mut c, gas::SET_OUTPUT, len as usize)?;
        let data = read(&mut c, ptr, len)?;
        c.data_mut().frame_mut()?.output = data;
        Ok(())
    })?;

    linker.func_wrap(m, names::revert, |mut c: WasmCaller<'_, H>, ptr: u32, len: u32| -> HostResult<()> {
        // An over-long message is cut, not refused: the revert is what matters.
        let len = len.min(MAX_OUTPUT_LEN);
        charge_cost(&mut c, gas::REVERT, len as usize)?;
        let msg = read(&mut c, ptr, len)?;
        Err(wasmtime::Error::new(HostTrap::Revert(String::from_utf8_lossy(&msg).into_owned())))
    })?;

    linker.func_wrap(
        m,
        names::storage_get,
        |mut c: WasmCaller<'_, H>, key_ptr: u32, key_len: u32, out_ptr: u32, out_cap: u32| -> HostResult<u32> {
            charge_cost(&mut c, gas::STORAGE_GET, key_len as usize)?;
            let (contract, key) = storage_key(&mut c, key_ptr, key_len)?;
            let found = c.data().host.storage_get(&contract, &key).map_err(state_err)?;
            trace_read(&mut c, contract, &key, &found);
            match found {
                None => Ok(NOT_FOUND),
                Some(v) => {
                    charge(&mut c, gas::STORAGE_GET.per_byte.saturating_mul(v.len() as u64))?;
                    write_out(&mut c, out_ptr, out_cap, &v)
                }
            }
        },
    )?;

    linker.func_wrap(
        m,
        names::storage_set,
        |mut c: WasmCaller<'_, H>, key_ptr: u32, key_len: u32, value_ptr: u32, value_len: u32| -> HostResult<()> {
            bounded("storage value", value_len, MAX_STORAGE_VALUE_LEN)?;
            charge_cost(&mut c, gas::STORAGE_SET, key_len as usize + value_len as usize)?;
            refuse_in_query(&c, "write storage")?;
            let (contract, key) = storage_key(&mut c, key_ptr, key_len)?;
            let value = read(&mut c, value_ptr, value_len)?;
            trace_write(&mut c, contract, &key, Some(&value));
            c.data_mut().host.storage_set(&contract, &key, value);
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        names::storage_remove,
        |mut c: WasmCaller<'_, H>, key_ptr: u32, key_len: u32| -> HostResult<()> {
            charge_cost(&mut c, gas::STORAGE_REMOVE, key_len as usize)?;
            refuse_in_query(&c, "remove storage")?;
            let (contract, key) = storage_key(&mut c, key_ptr, key_len)?;
            trace_write(&mut c, contract, &key, None);
            c.data_mut().host.storage_remove(&contract, &key);
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        names::storage_contains,
        |mut c: WasmCaller<'_, H>, key_ptr: u32, key_len: u32| -> HostResult<u32> {
            charge_cost(&mut c, gas::STORAGE_CONTAINS, key_len as usize)?;
            let (contract, key) = storage_key(&mut c, key_ptr, key_len)?;
            let found = c.data().host.storage_get(&contract, &key).map_err(state_err)?;
            trace_read(&mut c, contract, &key, &found);
            Ok(u32::from(found.is_some()))
        },
    )?;

    linker.func_wrap(m, names::caller, |mut c: WasmCaller<'_, H>, out_ptr: u32| -> HostResult<()> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        let who = c.data().frame()?.caller;
        write(&mut c, out_ptr, &who.0)
    })?;

    linker.func_wrap(m, names::self_address, |mut c: WasmCaller<'_, H>, out_ptr: u32| -> HostResult<()> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        let who = c.data().frame()?.address;
        write(&mut c, out_ptr, &who.0)
    })?;

    linker.func_wrap(m, names::value_transferred, |mut c: WasmCaller<'_, H>| -> HostResult<u64> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        Ok(c.data().frame()?.value)
    })?;

    linker.func_wrap(m, names::balance, |mut c: WasmCaller<'_, H>, account_ptr: u32| -> HostResult<u64> {
        charge_cost(&mut c, gas::BALANCE, 0)?;
        let who = AccountId(read_array::<H, 32>(&mut c, account_ptr)?);
        c.data().host.balance(&who).map_err(state_err)
    })?;

    linker.func_wrap(
        m,
        names::has_role,
        |mut c: WasmCaller<'_, H>, account_ptr: u32, role_ptr: u32, role_len: u32| -> HostResult<u32> {
            charge_cost(&mut c, gas::HAS_ROLE, role_len as usize)?;
            let who = AccountId(read_array::<H, 32>(&mut c, account_ptr)?);
            if role_len as usize > jjj_primitives::gov::MAX_NAME_LEN {
                return Ok(0); // no role has so long a name
            }
            let role = read(&mut c, role_ptr, role_len)?;
            let Ok(role) = core::str::from_utf8(&role) else { return Ok(0) };
            Ok(u32::from(c.data().host.has_role(&who, role).map_err(state_err)?))
        },
    )?;

    linker.func_wrap(
        m,
        names::member_of,
        |mut c: WasmCaller<'_, H>, account_ptr: u32, out_ptr: u32, out_cap: u32| -> HostResult<u32> {
            charge_cost(&mut c, gas::MEMBER_OF, 0)?;
            let who = AccountId(read_array::<H, 32>(&mut c, account_ptr)?);
            match c.data().host.member_of(&who).map_err(state_err)? {
                None => Ok(NOT_FOUND),
                Some(member) => {
                    charge(&mut c, gas::MEMBER_OF.per_byte.saturating_mul(member.len() as u64))?;
                    write_out(&mut c, out_ptr, out_cap, member.as_bytes())
                }
            }
        },
    )?;

    linker.func_wrap(m, names::member_region, |mut c: WasmCaller<'_, H>, account_ptr: u32| -> HostResult<u32> {
        charge_cost(&mut c, gas::MEMBER_REGION, 0)?;
        let who = AccountId(read_array::<H, 32>(&mut c, account_ptr)?);
        Ok(c.data().host.member_region(&who).map_err(state_err)?.map_or(NOT_FOUND, u32::from))
    })?;

    linker.func_wrap(m, names::protected_read, |mut c: WasmCaller<'_, H>| -> HostResult<()> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        let state = c.data_mut();
        state.protected = true;
        if state.reads == ReadAccess::Anonymous {
            return Err(failed(PROTECTED_READ_REFUSAL));
        }
        Ok(())
    })?;

    linker.func_wrap(
        m,
        names::verify_receipt,
        |mut c: WasmCaller<'_, H>, proof_ptr: u32, proof_len: u32| -> HostResult<u32> {
            bounded("receipt proof", proof_len, MAX_RECEIPT_PROOF_LEN)?;
            charge_cost(&mut c, gas::VERIFY_RECEIPT, proof_len as usize)?;
            let proof = read(&mut c, proof_ptr, proof_len)?;
            let (code, data) = match c.data().host.verify_receipt(&proof).map_err(state_err)? {
                Ok((receipt, signatures)) => {
                    // The certificate's signatures, at ed25519_verify's price each: how many
                    // is known only once the record is read (at most MAX_VALIDATORS).
                    charge(&mut c, gas::ED25519_VERIFY.of(0).saturating_mul(signatures as u64))?;
                    (0, parity_scale_codec::Encode::encode(&receipt))
                }
                Err(reason) => (1, reason.into_bytes()),
            };
            c.data_mut().frame_mut()?.return_data = data;
            Ok(code)
        },
    )?;

    linker.func_wrap(m, names::transfer, |mut c: WasmCaller<'_, H>, to_ptr: u32, amount: u64| -> HostResult<u32> {
        charge_cost(&mut c, gas::TRANSFER, 0)?;
        let to = AccountId(read_array::<H, 32>(&mut c, to_ptr)?);
        let from = c.data().frame()?.address;
        refuse_in_query(&c, "transfer")?;
        let ok = c.data_mut().host.transfer(&from, &to, amount).map_err(state_err)?;
        c.data_mut().trace(|depth| TraceStep::Transfer { depth, from, to, amount, ok });
        Ok(if ok { ReturnCode::Success } else { ReturnCode::InsufficientBalance } as u32)
    })?;

    linker.func_wrap(m, names::block_height, |mut c: WasmCaller<'_, H>| -> HostResult<u64> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        Ok(c.data().ctx.height)
    })?;

    linker.func_wrap(m, names::block_time, |mut c: WasmCaller<'_, H>| -> HostResult<u64> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        Ok(c.data().ctx.timestamp)
    })?;

    linker.func_wrap(
        m,
        names::emit_event,
        |mut c: WasmCaller<'_, H>,
         topics_ptr: u32,
         topics_count: u32,
         data_ptr: u32,
         data_len: u32|
         -> HostResult<()> {
            if topics_count > MAX_EVENT_TOPICS {
                return Err(failed(format!(
                    "an event has at most {MAX_EVENT_TOPICS} topics, the contract gave {topics_count}"
                )));
            }
            bounded("event data", data_len, MAX_EVENT_DATA_LEN)?;
            if c.data().events.len() >= MAX_EVENTS_PER_TX as usize {
                return Err(failed(format!("a transaction emits at most {MAX_EVENTS_PER_TX} events")));
            }
            charge_cost(&mut c, gas::EMIT_EVENT, topics_count as usize * 32 + data_len as usize)?;
            let raw = read(&mut c, topics_ptr, topics_count * 32)?;
            let topics: Vec<Hash> = raw.chunks_exact(32).map(|t| Hash(t.try_into().unwrap_or([0; 32]))).collect();
            let data = read(&mut c, data_ptr, data_len)?;
            let contract = c.data().frame()?.address;
            if c.data().trace.is_some() {
                let (topics, data) = (topics.clone(), data.clone());
                c.data_mut().trace(|depth| TraceStep::Event { depth, contract, topics, data });
            }
            c.data_mut().events.push(Event { contract, topics, data });
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        names::call_contract,
        |mut c: WasmCaller<'_, H>,
         address_ptr: u32,
         input_ptr: u32,
         input_len: u32,
         value: u64,
         gas_limit: u64|
         -> HostResult<u32> {
            bounded("call input", input_len, MAX_INPUT_LEN)?;
            charge_cost(&mut c, gas::CALL_CONTRACT, input_len as usize)?;
            let target = AccountId(read_array::<H, 32>(&mut c, address_ptr)?);
            let input = read(&mut c, input_ptr, input_len)?;
            let me = c.data().frame()?.address;
            let refuse = |c: &mut WasmCaller<'_, H>, code: ReturnCode| -> HostResult<u32> {
                c.data_mut().frame_mut()?.return_data = code.describe().as_bytes().to_vec();
                Ok(code as u32)
            };
            if c.data().frames.len() >= MAX_CALL_DEPTH as usize {
                return refuse(&mut c, ReturnCode::CallDepthExceeded);
            }
            let Some(code) = c.data().host.contract(&target).map_err(state_err)? else {
                return refuse(&mut c, ReturnCode::NotAContract);
            };
            if c.data().frames.iter().any(|f| f.address == target) && !code.reentrant {
                return refuse(&mut c, ReturnCode::ReentrancyDenied);
            }
            if c.data().host.balance(&me).map_err(state_err)? < value {
                return refuse(&mut c, ReturnCode::InsufficientBalance);
            }
            let (end, _used) = invoke(&mut c, Entry::Call, target, me, value, input, gas_limit);
            if c.data().aborted {
                return Err(wasmtime::Error::new(Trap::Interrupt));
            }
            let (code, data) = match end {
                FrameEnd::Success(out) => (ReturnCode::Success, out),
                FrameEnd::Reverted(m) => (ReturnCode::CalleeReverted, m.into_bytes()),
                FrameEnd::Failed(m) => (ReturnCode::CalleeFailed, m.into_bytes()),
            };
            c.data_mut().frame_mut()?.return_data = data;
            Ok(code as u32)
        },
    )?;

    linker.func_wrap(
        m,
        names::return_data,
        |mut c: WasmCaller<'_, H>, out_ptr: u32, out_cap: u32| -> HostResult<u32> {
            let len = c.data().frame()?.return_data.len();
            charge_cost(&mut c, gas::RETURN_DATA, len)?;
            copy_out(&mut c, out_ptr, out_cap, |f| &f.return_data)
        },
    )?;

    linker.func_wrap(
        m,
        names::hash_blake2_256,
        |mut c: WasmCaller<'_, H>, ptr: u32, len: u32, out_ptr: u32| -> HostResult<()> {
            bounded("hash input", len, MAX_CRYPTO_INPUT_LEN)?;
            charge_cost(&mut c, gas::HASH_BLAKE2_256, len as usize)?;
            let data = read(&mut c, ptr, len)?;
            write(&mut c, out_ptr, &jjj_crypto::blake2_256(&data).0)
        },
    )?;

    linker.func_wrap(
        m,
        names::hash_sha256,
        |mut c: WasmCaller<'_, H>, ptr: u32, len: u32, out_ptr: u32| -> HostResult<()> {
            bounded("hash input", len, MAX_CRYPTO_INPUT_LEN)?;
            charge_cost(&mut c, gas::HASH_SHA256, len as usize)?;
            let data = read(&mut c, ptr, len)?;
            write(&mut c, out_ptr, &jjj_crypto::sha256(&data))
        },
    )?;

    linker.func_wrap(
        m,
        names::ed25519_verify,
        |mut c: WasmCaller<'_, H>,
         signature_ptr: u32,
         public_key_ptr: u32,
         msg_ptr: u32,
         msg_len: u32|
         -> HostResult<u32> {
            bounded("signed message", msg_len, MAX_CRYPTO_INPUT_LEN)?;
            charge_cost(&mut c, gas::ED25519_VERIFY, msg_len as usize)?;
            let sig = read_array::<H, 64>(&mut c, signature_ptr)?;
            let key = AccountId(read_array::<H, 32>(&mut c, public_key_ptr)?);
            let msg = read(&mut c, msg_ptr, msg_len)?;
            Ok(u32::from(jjj_crypto::verify(jjj_crypto::Scheme::Ed25519, &key, &msg, &sig)))
        },
    )?;

    linker.func_wrap(m, names::debug_message, |mut c: WasmCaller<'_, H>, ptr: u32, len: u32| -> HostResult<()> {
        charge_cost(&mut c, gas::DEBUG_MESSAGE, len as usize)?;
        let st = c.data();
        if st.debug.is_none() || st.debug_bytes + len as usize > MAX_DEBUG_BUFFER_LEN as usize {
            return Ok(());
        }
        let msg = read(&mut c, ptr, len)?;
        let st = c.data_mut();
        st.debug_bytes += msg.len();
        if let Some(d) = st.debug.as_mut() {
            d.push(String::from_utf8_lossy(&msg).into_owned());
        }
        Ok(())
    })?;

    linker.func_wrap(m, names::gas_left, |mut c: WasmCaller<'_, H>| -> HostResult<u64> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        c.get_fuel()
    })?;

    Ok(())
}
