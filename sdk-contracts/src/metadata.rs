//! Contract metadata: what tools need to encode a call from JSON and decode its output and
//! events. Generated natively by `#[contract]` (`Contract::metadata()`), written next to the wasm
//! by `scripts/build-contracts.sh`.
use crate::layout::{ItemTypeIds, StorageItemSpec, StorageLayout};
use parity_scale_codec::Encode;
use scale_info::{form::PortableForm, MetaType, PortableRegistry, Registry};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct ContractMetadata {
    pub name: String,
    pub constructors: Vec<MessageSpec>,
    pub messages: Vec<MessageSpec>,
    /// The contract's event type (an enum), if it declared one with `#[contract(events = T)]`.
    pub events: Option<u32>,
    /// Each kind of event (a variant of the event enum) and the fields that are its topics, in
    /// topic order after the name topic. Empty when the event type does not derive
    /// `ContractEvent` (a hand-written impl has no field list).
    pub event_topics: Vec<EventTopics>,
    /// The storage items of the contract's `storage!` block, in order; `None` when its module
    /// has no such block.
    pub storage: Option<Vec<StorageSpec>>,
    /// The same layout SCALE-encoded (a `jjj_layout::StorageLayout`), hex: the bytes
    /// `jjj contract build` embeds in the wasm as its `jjj-storage-layout` section.
    pub storage_layout: Option<String>,
    pub types: PortableRegistry,
    /// The storage layout, decoded.
    #[serde(skip)]
    pub layout: Option<StorageLayout>,
}

/// One storage item, for people and tools.
#[derive(Clone, Debug, Serialize)]
pub struct StorageSpec {
    /// The static's name, e.g. `BILLS`.
    pub name: String,
    /// Its namespace as text (non-printable bytes escaped as `\xNN`).
    pub namespace: String,
    /// `Item`, `Map`, `List` or `ListMap`.
    pub kind: String,
    /// Type ids (in `types`) of the key (maps only) and of the value (a list's element).
    pub key: Option<u32>,
    pub value: u32,
    /// What the chain compares on an upgrade: the key's and value's SCALE shapes, written out
    /// (`(u64, [u8; 32], enum { 0, 1 })`).
    pub key_shape: Option<String>,
    pub value_shape: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EventTopics {
    /// The event's name; its first topic is blake2b-256 of it.
    pub name: String,
    /// The fields that are topics (a `None` option or a repeated `distinct` one adds none).
    pub topics: Vec<String>,
    /// `#[event(protected)]`: read only by the accounts among its topics and auditors (its last
    /// topic is `PROTECTED_EVENT_TOPIC`).
    pub protected: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct MessageSpec {
    pub name: String,
    /// The 4-byte selector, hex, as it prefixes the encoded message.
    pub selector: String,
    pub payable: bool,
    /// Whether it may change state: false for `#[message(query)]`, which the node may run
    /// read-only; true for every other message and every constructor.
    pub mutates: bool,
    /// `#[message(query, protected)]`: only a reader who signed a read request may run it; its
    /// body applies the read policy with the reader as the caller.
    pub protected: bool,
    pub args: Vec<ArgSpec>,
    /// Type id (in `types`) of the `Ok` output.
    pub returns: u32,
    pub docs: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ArgSpec {
    pub name: String,
    pub ty: u32,
}

/// Collects types while the generated code describes a contract.
#[doc(hidden)]
pub struct MetadataBuilder {
    registry: Registry,
    name: String,
    constructors: Vec<MessageSpec>,
    messages: Vec<MessageSpec>,
    events: Option<u32>,
    event_topics: Vec<EventTopics>,
    storage: Option<(Vec<StorageItemSpec>, Vec<ItemTypeIds>)>,
}

impl MetadataBuilder {
    pub fn new(name: &str) -> Self {
        MetadataBuilder {
            registry: Registry::new(),
            name: name.into(),
            constructors: vec![],
            messages: vec![],
            events: None,
            event_topics: vec![],
            storage: None,
        }
    }
    fn register(&mut self, ty: MetaType) -> u32 {
        self.registry.register_type(&ty).id
    }
    #[allow(clippy::too_many_arguments)]
    pub fn message(
        &mut self,
        constructor: bool,
        name: &str,
        selector: [u8; 4],
        payable: bool,
        mutates: bool,
        protected: bool,
        args: &[(&str, MetaType)],
        returns: MetaType,
        docs: &[&str],
    ) {
        let args = args.iter().map(|(n, t)| ArgSpec { name: (*n).into(), ty: self.register(*t) }).collect();
        let spec = MessageSpec {
            name: name.into(),
            selector: crate::error::hex(&selector),
            payable,
            mutates,
            protected,
            args,
            returns: self.register(returns),
            docs: docs.iter().map(|d| d.trim().to_string()).collect(),
        };
        if constructor {
            self.constructors.push(spec)
        } else {
            self.messages.push(spec)
        }
    }
    pub fn events(&mut self, ty: MetaType, specs: &[crate::event::EventSpec]) {
        self.events = Some(self.register(ty));
        self.event_topics = specs
            .iter()
            .map(|s| EventTopics {
                name: s.name.into(),
                topics: s.topics.iter().map(|t| (*t).into()).collect(),
                protected: s.protected,
            })
            .collect();
    }
    /// The items of the contract's `storage!` block (`None`: it has none).
    pub fn storage(&mut self, items: Option<Vec<StorageItemSpec>>) {
        self.storage = items.map(|items| {
            let ids = crate::layout::register(&mut self.registry, &items);
            (items, ids)
        });
    }
    pub fn build(self) -> ContractMetadata {
        let types: PortableRegistry = self.registry.into();
        let _: Option<&scale_info::Type<PortableForm>> = types.resolve(0);
        let layout = self.storage.as_ref().map(|(items, ids)| crate::layout::layout_in(&types, items, ids));
        let storage = self.storage.as_ref().zip(layout.as_ref()).map(|((_, ids), layout)| {
            layout
                .items
                .iter()
                .zip(ids)
                .map(|(item, (key, value))| StorageSpec {
                    name: item.name.clone(),
                    namespace: item.namespace_text(),
                    kind: item.kind.to_string(),
                    key: *key,
                    value: *value,
                    key_shape: item.key.as_ref().map(ToString::to_string),
                    value_shape: item.value.to_string(),
                })
                .collect()
        });
        ContractMetadata {
            name: self.name,
            constructors: self.constructors,
            messages: self.messages,
            events: self.events,
            event_topics: self.event_topics,
            storage,
            storage_layout: layout.as_ref().map(|l| crate::error::hex(&l.encode())),
            types,
            layout,
        }
    }
}

impl ContractMetadata {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
    pub fn message(&self, name: &str) -> Option<&MessageSpec> {
        self.messages.iter().chain(&self.constructors).find(|m| m.name == name)
    }
}
