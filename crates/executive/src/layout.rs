//! The storage-layout check of a contract upgrade: the new code must read the storage the old
//! code wrote. Both layouts come from the code itself (the `jjj-storage-layout` custom section
//! that `jjj contract build` embeds), so the check needs nothing but the two code hashes; it
//! runs when the upgrade is proposed (refused before anyone approves) and again when it executes.
use crate::gov::Refusal;
use crate::TxError;
use jjj_layout::{read_layout_section, StorageLayout, LAYOUT_SECTION};
use jjj_primitives::Hash;
use jjj_state::{keys, Overlay};

/// Whether code `new` can read the storage that code `old` wrote.
///
/// - both carry a layout: every item the old code kept must keep its kind and the shapes of
///   its key and value ([`jjj_layout::check_upgrade`]); a refusal names each item;
/// - the old code carries none (built without `storage!`, or before layouts): nothing to
///   compare against, so the upgrade is allowed and the new layout is checked from then on;
/// - the old code carries one and the new none: refused — nothing would protect the storage
///   any more, and a build by `jjj contract build` always embeds it;
/// - a section that does not decode, in either: refused, with the decoder's reason.
pub fn check_upgrade(overlay: &Overlay, old: &Hash, new: &Hash) -> Result<Result<(), Refusal>, TxError> {
    let old_layout = match layout_of(overlay, old)? {
        Ok(layout) => layout,
        Err(e) => return Ok(Err(format!("the running code {old}: {e}"))),
    };
    let new_layout = match layout_of(overlay, new)? {
        Ok(layout) => layout,
        Err(e) => return Ok(Err(format!("the new code {new}: {e}"))),
    };
    let (old_layout, new_layout) = match (old_layout, new_layout) {
        (None, _) => return Ok(Ok(())),
        (Some(_), None) => {
            return Ok(Err(format!(
                "the new code {new} carries no storage layout (custom section `{LAYOUT_SECTION}`) while the \
                 running code does: build it with `jjj contract build`"
            )))
        }
        (Some(o), Some(n)) => (o, n),
    };
    match jjj_layout::check_upgrade(&old_layout, &new_layout) {
        Ok(()) => Ok(Ok(())),
        Err(problems) => {
            let items: Vec<String> = problems.iter().map(ToString::to_string).collect();
            Ok(Err(format!("the new code cannot read the contract's storage: {}", items.join("; "))))
        }
    }
}

/// The layout code `hash` carries (`Ok(None)` without one), or why its section is unreadable.
fn layout_of(overlay: &Overlay, hash: &Hash) -> Result<Result<Option<StorageLayout>, String>, TxError> {
    let Some(code) = overlay.get(&keys::code(hash))? else {
        return Ok(Err("no such code".into()));
    };
    Ok(read_layout_section(&code).map_err(|e| format!("storage layout section: {e}")))
}
