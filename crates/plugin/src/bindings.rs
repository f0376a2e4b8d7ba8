//! The crate's one `bindgen!`: host-side types and the `host` import interface of every
//! `causeway:plugin@0.1.0` world, generated from a host-only world that includes them all.
//! Exports are looked up by name at load time (a plugin implements one world, never all).

#[allow(missing_docs, clippy::all)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit/causeway-plugin-0.1.0",
        inline: "
            package causeway:plugin-host;

            world all-worlds {
                include causeway:plugin/authorizer@0.1.0;
                include causeway:plugin/mapper@0.1.0;
                include causeway:plugin/function@0.1.0;
            }
        ",
        world: "causeway:plugin-host/all-worlds",
        additional_derives: [PartialEq, Eq],
    });
}

pub use generated::causeway::plugin::host::Level as LogLevel;
pub use generated::causeway::plugin::types::{
    AuthorizerKind, AuthorizerRequest, Decision as AuthorizerDecision, Effect, HttpRequest,
    HttpResponse, MappingError,
};

pub(crate) use generated::causeway::plugin::host::{Host, add_to_linker as add_host_to_linker};
