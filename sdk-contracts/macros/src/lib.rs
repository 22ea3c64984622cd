//! `#[contract]`: turns an `impl` block into a jjj contract's entry points.
//!
//! Methods marked `#[constructor]` run at instantiation, methods marked `#[message]` on calls;
//! add `payable` (`#[message(payable)]`) to accept value. Methods take their arguments by value,
//! no `self` (state lives in storage), and return `jjj_sdk::Result<T>`.
//!
//! Generated, beside the impl: the wasm exports `deploy` and `call` (wasm32 only), which read the
//! input, match the 4-byte selector (blake2b-256 of the method name, first four bytes), decode the
//! arguments, refuse value sent to non-payable methods, run the method and set its SCALE-encoded
//! output or revert with its error; a `msg` module with one function per method that encodes a
//! call; and natively `Contract::ENTRY` (for `jjj_sdk::testing::TestEnv`) and
//! `Contract::metadata()`.
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

/// Reads and removes our marker attribute; returns (constructor?, payable?) if it was there.
fn take_marker(attrs: &mut Vec<Attribute>) -> syn::Result<Option<(bool, bool)>> {
    let mut found = None;
    let mut err = None;
    attrs.retain(|a| {
        let constructor = a.path().is_ident("constructor");
        if !(constructor || a.path().is_ident("message")) {
            return true;
        }
        let payable = match &a.meta {
            Meta::Path(_) => false,
            Meta::List(l) => {
                if l.tokens.to_string() == "payable" {
                    true
                } else {
                    err = Some(Error::new(l.span(), "the only option is `payable`"));
                    false
                }
            }
            Meta::NameValue(nv) => {
                err = Some(Error::new(nv.span(), "write #[message] or #[message(payable)]"));
                false
            }
        };
        found = Some((constructor, payable));
        false
    });
    match err {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

/// `Result<T>` or `Result<T, E>` → T; anything else is refused.
fn ok_type(ret: &ReturnType) -> syn::Result<Type> {
    let msg = "a contract method returns jjj_sdk::Result<T>: an Err reverts the call with its message";
    let ReturnType::Type(_, ty) = ret else { return Err(Error::new(ret.span(), msg)) };
    if let Type::Path(p) = &**ty {
        if let Some(last) = p.path.segments.last() {
            if last.ident == "Result" {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(syn::GenericArgument::Type(t)) = args.args.first() {
                        return Ok(t.clone());
                    }
                }
            }
        }
    }
    Err(Error::new(ty.span(), msg))
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
        let Some((constructor, payable)) = take_marker(&mut f.attrs)? else { continue };
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
            quote! {
                [#s0, #s1, #s2, #s3] => {
                    #value_check
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
        let [s0, s1, s2, s3] = m.selector;
        let arg_names: Vec<_> = m.args.iter().map(|(n, _)| n.to_string()).collect();
        let arg_types: Vec<_> = m.args.iter().map(|(_, t)| t).collect();
        let ok = &m.ok_type;
        let docs = &m.docs;
        quote! {
            b.message(#constructor, #name, [#s0, #s1, #s2, #s3], #payable,
                &[#((#arg_names, ::jjj_sdk::__private::meta_type::<#arg_types>())),*],
                ::jjj_sdk::__private::meta_type::<#ok>(), &[#(#docs),*]);
        }
    });
    let events_meta = events.map(|e| quote!(b.events(::jjj_sdk::__private::meta_type::<#e>());));

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

            /// Messages, argument and output types, events: what tools need to talk to it.
            #[cfg(not(target_arch = "wasm32"))]
            pub fn metadata() -> ::jjj_sdk::metadata::ContractMetadata {
                let mut b = ::jjj_sdk::metadata::MetadataBuilder::new(#contract_name);
                #(#meta_entries)*
                #events_meta
                b.build()
            }
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
