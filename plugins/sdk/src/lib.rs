//! `causeway-plugin-sdk`: write Causeway gateway plugins in Rust.
//!
//! A thin layer over `wit-bindgen` for the `causeway:plugin` worlds (the WIT lives in the
//! repository's `wit/`): typed requests and responses with small helpers, the host
//! imports (`log`, `now_ms`, `config`) and one export macro per world. The authorizer
//! uses `causeway:plugin@0.2.0` (its request is read field by field);
//! [`authorizer_v0_1`] keeps 0.1.0's for plugins written against it. The mapper and the
//! function are the same in both versions and use 0.1.0.
//! It owns no policy of its own and must not grow runtime dependencies beyond
//! `wit-bindgen`: every byte here ends up in each plugin.
//!
//! # Worlds
//! One module per world: [`authorizer`], [`mapper`], [`function`] (and
//! [`authorizer_v0_1`]). A plugin implements the module's trait and invokes its export
//! macro once ([`export_authorizer!`], [`export_mapper!`], [`export_function!`],
//! [`export_authorizer_v0_1!`]); only the invoked macro embeds a world with exports, so
//! the component exports exactly that world.
//!
//! ```ignore
//! use causeway_plugin_sdk::authorizer::{Authorizer, AuthorizerRequest, Decision};
//!
//! struct AllowAll;
//! impl Authorizer for AllowAll {
//!     fn authorize(req: AuthorizerRequest) -> Decision {
//!         Decision::allow("anonymous").with_context("route", req.route_key())
//!     }
//! }
//! causeway_plugin_sdk::export_authorizer!(AllowAll);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`: the output `.wasm` is a
//! component the gateway loads directly.

// The generated glue names this crate by its absolute path (so that the export macros work
// from guest crates); this makes that path resolve inside the SDK too.
extern crate self as causeway_plugin_sdk;

#[macro_use]
mod common;

pub mod authorizer;
pub mod authorizer_v0_1;
pub mod function;
pub mod mapper;

/// The `wit-bindgen` runtime the generated glue refers to, so that guest crates need not
/// depend on `wit-bindgen` themselves.
#[doc(hidden)]
pub use wit_bindgen::rt as __rt;

/// Case-insensitive lookup of the first value of `name` in ordered name/value pairs.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Case-sensitive lookup of every value of `name` (e.g. a repeated query parameter).
pub fn all_fields<'a, 'n>(
    fields: &'a [(String, String)],
    name: &'n str,
) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
    fields
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
