//! The jjj SDK's macros: `#[contract]`, which turns an `impl` block into a contract's entry
//! points, and `#[derive(ContractEvent)]`, which gives an event type its name and topics.
//!
//! `#[contract]`: methods marked `#[constructor]` run at instantiation, methods marked `#[message]`
//! on calls; add `payable` (`#[message(payable)]`) to accept value, `query` (`#[message(query)]`)
//! for a message that only reads state, `query, protected` (`#[message(query, protected)]`) for
//! a read under a read policy, which runs only for a reader who signed a read request (the
//! body checks `env::caller()` against the policy; the node logs every such read). Methods take their arguments by value, no `self` (state
//! lives in storage), and return `Result<T, E>` with `E: Display` (usually `jjj_sdk::Error`, or a
//! contract's own error enum).
//!
//! Generated, beside the impl: the wasm exports `deploy` and `call` (wasm32 only), which read the
//! input, match the 4-byte selector (blake2b-256 of the method name, first four bytes), decode the
//! arguments, refuse value sent to non-payable methods, run the method and set its SCALE-encoded
//! output or revert with its error's text; a `msg` module with one function per method that
//! encodes a call; and natively `Contract::ENTRY` (for `jjj_sdk::testing::TestEnv`),
//! `Contract::metadata()`, `Contract::storage_layout()` (from the module's `storage!` block) and
//! the free function `__jjj_contract_metadata()` (the same metadata
//! under a fixed name, for `jjj contract build`).
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Error, FnArg, ImplItem, ItemImpl, Meta, Pat, Path, ReturnType, Token, Type};

struct Method {
    ident: syn::Ident,
    constructor: bool,
    payable: bool,
    /// `#[message(query)]`: reads state only (recorded in metadata; the native test host refuses
    /// its writes, the node runs it read-only).
    query: bool,
    /// `#[message(query, protected)]`: reads data under a read policy; runs only for a signed
    /// reader (the host function `protected_read`, called first), and the node logs each read.
    protected: bool,
    args: Vec<(syn::Ident, Type)>,
    ok_type: Type,
    docs: Vec<String>,
    selector: [u8; 4],
}

fn selector(name: &str) -> [u8; 4] {
    use blake2::digest::{consts::U32, Digest};
    let h: [u8; 32] = blake2::Blake2b::<U32>::digest(name.as_bytes()).into();
    [h[0], h[1], h[2], h[3]]
}

/// What the marker attribute of a method says.
#[derive(Clone, Copy)]
struct Marker {
    constructor: bool,
    payable: bool,
    query: bool,
    protected: bool,
}

/// Reads and removes our marker attribute (`#[constructor]`, `#[message]`, with options).
fn take_marker(attrs: &mut Vec<Attribute>) -> syn::Result<Option<Marker>> {
    let mut found = None;
    let mut err = None;
    attrs.retain(|a| {
        let constructor = a.path().is_ident("constructor");
        if !(constructor || a.path().is_ident("message")) {
            return true;
        }
        match marker(a, constructor) {
            Ok(m) => found = Some(m),
            Err(e) => err = Some(e),
        }
        false
    });
    match err {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

fn marker(a: &Attribute, constructor: bool) -> syn::Result<Marker> {
    let mut m = Marker { constructor, payable: false, query: false, protected: false };
    let options = match &a.meta {
        Meta::Path(_) => return Ok(m),
        Meta::List(l) => Punctuated::<syn::Ident, Token![,]>::parse_terminated.parse2(l.tokens.clone())?,
        Meta::NameValue(nv) => {
            return Err(Error::new(nv.span(), "write #[message], #[message(payable)] or #[message(query)]"))
        }
    };
    for o in options {
        if o == "payable" {
            m.payable = true;
        } else if o == "query" && !constructor {
            m.query = true;
        } else if o == "protected" && !constructor {
            m.protected = true;
        } else if o == "query" {
            return Err(Error::new(o.span(), "a constructor always writes state: `query` is for messages"));
        } else {
            return Err(Error::new(o.span(), "the options are `payable`, `query` and `protected`"));
        }
    }
    if m.protected && !m.query {
        return Err(Error::new(
            a.span(),
            "`protected` marks a read under a read policy: write #[message(query, protected)]",
        ));
    }
    if m.payable && m.query {
        return Err(Error::new(
            a.span(),
            "a query changes no state, so it cannot accept value: drop `payable` or `query`",
        ));
    }
    Ok(m)
}

/// The `Ok` type of a method's return type, as the SDK's `MessageOutput` trait names it: any
/// `Result<T, E>` with `E: Display`, also behind a type alias (the trait checks it, not us).
fn ok_type(ret: &ReturnType) -> syn::Result<Type> {
    let ReturnType::Type(_, ty) = ret else {
        return Err(Error::new(
            ret.span(),
            "a contract method returns Result<T, E> (E: Display, e.g. jjj_sdk::Error): an Err reverts the call with \
             its text",
        ));
    };
    Ok(syn::parse_quote!(<#ty as ::jjj_sdk::__private::MessageOutput>::Ok))
}

fn docs(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let mut events: Option<Path> = None;
    let options = Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated.parse2(attr)?;
    for o in options {
        if o.path.is_ident("events") {
            match o.value {
                syn::Expr::Path(p) => events = Some(p.path),
                other => return Err(Error::new(other.span(), "expected a type: #[contract(events = MyEvent)]")),
            }
        } else {
            return Err(Error::new(o.path.span(), "the only option is `events = Type`"));
        }
    }

    let mut imp: ItemImpl = syn::parse2(item)?;
    let self_ty = imp.self_ty.clone();
    let contract_name = match &*self_ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        _ => return Err(Error::new(self_ty.span(), "#[contract] goes on `impl MyContract { … }`")),
    };

    let mut methods = Vec::new();
    for item in &mut imp.items {
        let ImplItem::Fn(f) = item else { continue };
        let Some(Marker { constructor, payable, query, protected }) = take_marker(&mut f.attrs)? else { continue };
        let mut args = Vec::new();
        for input in &f.sig.inputs {
            match input {
                FnArg::Receiver(r) => {
                    return Err(Error::new(
                        r.span(),
                        "contract methods take no `self`: keep state in storage (Item, Map)",
                    ))
                }
                FnArg::Typed(pt) => match &*pt.pat {
                    Pat::Ident(pi) => args.push((pi.ident.clone(), (*pt.ty).clone())),
                    other => return Err(Error::new(other.span(), "arguments must be plain names")),
                },
            }
        }
        let name = f.sig.ident.to_string();
        methods.push(Method {
            ident: f.sig.ident.clone(),
            constructor,
            payable,
            query,
            protected,
            args,
            ok_type: ok_type(&f.sig.output)?,
            docs: docs(&f.attrs),
            selector: selector(&name),
        });
    }
    if !methods.iter().any(|m| m.constructor) {
        return Err(Error::new(Span::call_site(), "a contract needs at least one #[constructor]"));
    }
    for (i, a) in methods.iter().enumerate() {
        for b in &methods[i + 1..] {
            if a.selector == b.selector && a.constructor == b.constructor {
                return Err(Error::new(
                    b.ident.span(),
                    format!("selector of `{}` collides with `{}`: rename one", b.ident, a.ident),
                ));
            }
        }
    }

    let dispatch = |constructor: bool| {
        let arms = methods.iter().filter(|m| m.constructor == constructor).map(|m| {
            let ident = &m.ident;
            let name = ident.to_string();
            let [s0, s1, s2, s3] = m.selector;
            let names: Vec<_> = m.args.iter().map(|(n, _)| n).collect();
            let types: Vec<_> = m.args.iter().map(|(_, t)| t).collect();
            let value_check = if m.payable { quote!() } else { quote!(::jjj_sdk::__private::refuse_value(#name);) };
            let query = if m.query { quote!(::jjj_sdk::__private::enter_query(#name);) } else { quote!() };
            let protected =
                if m.protected { quote!(::jjj_sdk::__private::backend::protected_read();) } else { quote!() };
            quote! {
                [#s0, #s1, #s2, #s3] => {
                    #value_check
                    #query
                    #protected
                    let (#(#names,)*): (#(#types,)*) = ::jjj_sdk::__private::decode_args(args, #name);
                    ::jjj_sdk::__private::finish(<#self_ty>::#ident(#(#names),*));
                }
            }
        });
        quote! {
            let input = ::jjj_sdk::__private::backend::input();
            if input.len() < 4 {
                ::jjj_sdk::__private::backend::revert("the message is shorter than its 4-byte selector");
            }
            let (selector, args) = input.split_at(4);
            match [selector[0], selector[1], selector[2], selector[3]] {
                #(#arms)*
                _ => ::jjj_sdk::__private::unknown_selector(selector),
            }
        }
    };
    let deploy_body = dispatch(true);
    let call_body = dispatch(false);

    let msg_fns = methods.iter().map(|m| {
        let ident = &m.ident;
        let sel_const = format_ident!("{}", m.ident.to_string().to_uppercase());
        let [s0, s1, s2, s3] = m.selector;
        let names: Vec<_> = m.args.iter().map(|(n, _)| n).collect();
        let types: Vec<_> = m.args.iter().map(|(_, t)| t).collect();
        let doc = format!("Encodes a call of `{}` (selector 0x{:02x}{:02x}{:02x}{:02x}).", ident, s0, s1, s2, s3);
        quote! {
            /// The selector of this method.
            pub const #sel_const: [u8; 4] = [#s0, #s1, #s2, #s3];
            #[doc = #doc]
            #[allow(clippy::too_many_arguments)]
            pub fn #ident(#(#names: #types),*) -> ::jjj_sdk::__private::Vec<u8> {
                let mut v = ::jjj_sdk::__private::Vec::from(#sel_const);
                ::jjj_sdk::__private::Encode::encode_to(&(#(&#names,)*), &mut v);
                v
            }
        }
    });

    let meta_entries = methods.iter().map(|m| {
        let name = m.ident.to_string();
        let constructor = m.constructor;
        let payable = m.payable;
        let mutates = !m.query;
        let protected = m.protected;
        let [s0, s1, s2, s3] = m.selector;
        let arg_names: Vec<_> = m.args.iter().map(|(n, _)| n.to_string()).collect();
        let arg_types: Vec<_> = m.args.iter().map(|(_, t)| t).collect();
        let ok = &m.ok_type;
        let docs = &m.docs;
        quote! {
            b.message(#constructor, #name, [#s0, #s1, #s2, #s3], #payable, #mutates, #protected,
                &[#((#arg_names, ::jjj_sdk::__private::meta_type::<#arg_types>())),*],
                ::jjj_sdk::__private::meta_type::<#ok>(), &[#(#docs),*]);
        }
    });
    let events_meta = events.map(|e| {
        quote!(b.events(
            ::jjj_sdk::__private::meta_type::<#e>(),
            <#e as ::jjj_sdk::event::ContractEvent>::SPECS,
        );)
    });

    // Constructors are conventionally `new(..) -> Result<()>`: they write storage, they do not
    // return the contract value clippy expects from a `new`.
    imp.attrs.push(syn::parse_quote!(#[allow(clippy::new_ret_no_self)]));
    Ok(quote! {
        #imp

        impl #self_ty {
            /// Entry points for the native test host.
            #[cfg(not(target_arch = "wasm32"))]
            pub const ENTRY: ::jjj_sdk::testing::ContractEntry = ::jjj_sdk::testing::ContractEntry {
                name: #contract_name,
                deploy: __jjj_deploy,
                call: __jjj_call,
            };

            /// Messages, argument and output types, events, storage: what tools need to talk
            /// to it.
            #[cfg(not(target_arch = "wasm32"))]
            pub fn metadata() -> ::jjj_sdk::metadata::ContractMetadata {
                let mut b = ::jjj_sdk::metadata::MetadataBuilder::new(#contract_name);
                #(#meta_entries)*
                #events_meta
                b.storage(__jjj_storage_items());
                b.build()
            }

            /// The storage items of this module's `storage!` block, by name, namespace, kind and
            /// key/value shapes: what the chain compares when the contract is upgraded. `None`
            /// when the module has no `storage!` block.
            #[cfg(not(target_arch = "wasm32"))]
            pub fn storage_layout() -> ::core::option::Option<::jjj_sdk::layout::StorageLayout> {
                __jjj_storage_items().map(|items| ::jjj_sdk::layout::layout_of(&items))
            }
        }

        // The `storage!` block of this module defines `__jjj_storage_items`, which shadows this
        // glob import's; without a block, the contract has no recorded layout.
        #[cfg(not(target_arch = "wasm32"))]
        #[allow(unused_imports)]
        use ::jjj_sdk::__private::no_storage_block::*;

        /// The metadata under a fixed name, for `jjj contract build`'s generated metadata
        /// binary (which cannot know the contract's type name).
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub fn __jjj_contract_metadata() -> ::jjj_sdk::metadata::ContractMetadata {
            <#self_ty>::metadata()
        }

        #[doc(hidden)]
        pub fn __jjj_deploy() { #deploy_body }

        #[doc(hidden)]
        pub fn __jjj_call() { #call_body }

        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn deploy() { __jjj_deploy() }

        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn call() { __jjj_call() }

        /// Encoders for this contract's messages: `msg::method(args…)` gives the call input.
        pub mod msg {
            #[allow(unused_imports)]
            use super::*;
            #(#msg_fns)*
        }
    })
}

#[proc_macro_attribute]
pub fn contract(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Most `#[topic]` fields of one event: the host allows 5 topics, the first names the event and
/// the last may mark it protected (`jjj_abi::limits::MAX_EVENT_TOPICS - 2`; the SDK's tests check
/// the two agree).
const MAX_TOPIC_FIELDS: usize = 3;

/// `#[derive(ContractEvent)]` on a struct or an enum of events.
///
/// The event's name is the struct's name, or the variant's name for an enum; its first topic is
/// the blake2b-256 hash of that name. Fields marked `#[topic]` (at most three per event) follow,
/// in field order, each turned into a topic by `jjj_sdk::event::Topic` (an absent `Option` adds
/// none). `#[topic(distinct)]` leaves the topic out when it equals an earlier topic of the same
/// event, so an account named in two roles is indexed once.
///
/// `#[event(protected)]` on the type makes every event of it protected: a node serves it only
/// to a signed reader whose account is one of its topics (mark the readers' accounts `#[topic]`)
/// or to an auditor, and never to subscribers.
#[proc_macro_derive(ContractEvent, attributes(topic, event))]
pub fn derive_contract_event(input: TokenStream) -> TokenStream {
    match expand_event(syn::parse_macro_input!(input as syn::DeriveInput)) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// One event kind: a struct, or one enum variant.
struct EventKind {
    name: String,
    /// How to match `self` against this kind, binding the topic fields.
    pattern: TokenStream2,
    /// (binding, distinct?) of each topic field, in order.
    topics: Vec<(syn::Ident, bool)>,
    topic_names: Vec<String>,
}

fn expand_event(input: syn::DeriveInput) -> syn::Result<TokenStream2> {
    let ty = &input.ident;
    let mut protected = false;
    for a in input.attrs.iter().filter(|a| a.path().is_ident("event")) {
        match &a.meta {
            Meta::List(l) if l.tokens.to_string() == "protected" => protected = true,
            _ => return Err(Error::new(a.span(), "write #[event(protected)]")),
        }
    }
    let mut kinds = Vec::new();
    match &input.data {
        syn::Data::Struct(s) => kinds.push(event_kind(ty.to_string(), quote!(Self), &s.fields)?),
        syn::Data::Enum(e) => {
            for v in &e.variants {
                let ident = &v.ident;
                kinds.push(event_kind(ident.to_string(), quote!(Self::#ident), &v.fields)?);
            }
        }
        syn::Data::Union(u) => return Err(Error::new(u.union_token.span(), "an event is a struct or an enum")),
    }
    let names = kinds.iter().map(|k| &k.name);
    let patterns: Vec<_> = kinds.iter().map(|k| &k.pattern).collect();
    let pushes = kinds.iter().map(|k| {
        let each = k.topics.iter().map(|(binding, distinct)| {
            if *distinct {
                quote!(::jjj_sdk::event::push_distinct_topic(&mut topics, #binding);)
            } else {
                quote!(::jjj_sdk::event::push_topic(&mut topics, #binding);)
            }
        });
        quote!(#(#each)*)
    });
    let specs = kinds.iter().map(|k| {
        let name = &k.name;
        let topics = &k.topic_names;
        quote!(::jjj_sdk::event::EventSpec { name: #name, topics: &[#(#topics),*], protected: #protected })
    });
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::jjj_sdk::event::ContractEvent for #ty #ty_generics #where_clause {
            const SPECS: &'static [::jjj_sdk::event::EventSpec] = &[#(#specs),*];
            fn name(&self) -> &'static str {
                #[allow(unused_variables)]
                match self {
                    #(#patterns => #names,)*
                }
            }
            fn protected(&self) -> bool {
                #protected
            }
            #[allow(unused_mut, unused_variables)]
            fn indexed(&self) -> ::jjj_sdk::__private::Vec<::jjj_sdk::Hash> {
                let mut topics = ::jjj_sdk::__private::Vec::new();
                match self {
                    #(#patterns => { #pushes })*
                }
                topics
            }
        }
    })
}

fn event_kind(name: String, path: TokenStream2, fields: &syn::Fields) -> syn::Result<EventKind> {
    let mut topics = Vec::new();
    let mut topic_names = Vec::new();
    let mut bindings = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let binding = format_ident!("__field_{}", i);
        let mut is_topic = None;
        for a in f.attrs.iter().filter(|a| a.path().is_ident("topic")) {
            if is_topic.is_some() {
                return Err(Error::new(a.span(), "#[topic] is given twice"));
            }
            is_topic = Some(match &a.meta {
                Meta::Path(_) => false,
                Meta::List(l) if l.tokens.to_string() == "distinct" => true,
                _ => return Err(Error::new(a.span(), "write #[topic] or #[topic(distinct)]")),
            });
        }
        if let Some(distinct) = is_topic {
            if topics.len() == MAX_TOPIC_FIELDS {
                return Err(Error::new(
                    f.span(),
                    format!(
                        "event `{name}` has more than {MAX_TOPIC_FIELDS} #[topic] fields: the host allows 5 topics, \
                         the first is the event's name and the last may mark it protected"
                    ),
                ));
            }
            topics.push((binding.clone(), distinct));
            topic_names.push(f.ident.as_ref().map(|i| i.to_string()).unwrap_or_else(|| i.to_string()));
        }
        bindings.push((f.ident.clone(), binding, is_topic.is_some()));
    }
    let pattern = match fields {
        syn::Fields::Unit => path,
        syn::Fields::Named(_) => {
            let bound = bindings.iter().filter(|b| b.2).map(|(field, binding, _)| quote!(#field: #binding));
            quote!(#path { #(#bound,)* .. })
        }
        syn::Fields::Unnamed(_) => {
            let each = bindings.iter().map(|(_, binding, topic)| if *topic { quote!(#binding) } else { quote!(_) });
            quote!(#path(#(#each),*))
        }
    };
    Ok(EventKind { name, pattern, topics, topic_names })
}
