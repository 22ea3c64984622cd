//! Contract metadata: what tools need to encode a call from JSON and decode its output and
//! events. Generated natively by `#[contract]` (`Contract::metadata()`), written next to the wasm
//! by `scripts/build-contracts.sh`.
use scale_info::{form::PortableForm, MetaType, PortableRegistry, Registry};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct ContractMetadata {
    pub name: String,
    pub constructors: Vec<MessageSpec>,
    pub messages: Vec<MessageSpec>,
    /// The contract's event type (an enum), if it declared one with `#[contract(events = T)]`.
    pub events: Option<u32>,
    pub types: PortableRegistry,
}

#[derive(Clone, Debug, Serialize)]
pub struct MessageSpec {
    pub name: String,
    /// The 4-byte selector, hex, as it prefixes the encoded message.
    pub selector: String,
    pub payable: bool,
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
}

impl MetadataBuilder {
    pub fn new(name: &str) -> Self {
        MetadataBuilder {
            registry: Registry::new(),
            name: name.into(),
            constructors: vec![],
            messages: vec![],
            events: None,
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
        args: &[(&str, MetaType)],
        returns: MetaType,
        docs: &[&str],
    ) {
        let args = args.iter().map(|(n, t)| ArgSpec { name: (*n).into(), ty: self.register(*t) }).collect();
        let spec = MessageSpec {
            name: name.into(),
            selector: crate::error::hex(&selector),
            payable,
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
    pub fn events(&mut self, ty: MetaType) {
        self.events = Some(self.register(ty));
    }
    pub fn build(self) -> ContractMetadata {
        let types: PortableRegistry = self.registry.into();
        let _: Option<&scale_info::Type<PortableForm>> = types.resolve(0);
        ContractMetadata {
            name: self.name,
            constructors: self.constructors,
            messages: self.messages,
            events: self.events,
            types,
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
