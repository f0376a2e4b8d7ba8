//! The crate's one `bindgen!`: host-side types and the imports (`host`, and in 0.2.0 the
//! `authorizer-request` resource of `types`) of every published `causeway:plugin`
//! version, generated from a host-only world that imports them all. Exports are looked up
//! by name at load time (a plugin implements one world, never all) and type-checked
//! structurally, so 0.2.0's records, identical to 0.1.0's, are lifted into the 0.1.0
//! types re-exported here.

#[allow(missing_docs, clippy::all)]
mod generated {
    wasmtime::component::bindgen!({
        path: ["../../wit/causeway-plugin-0.1.0", "../../wit/causeway-plugin-0.2.0"],
        inline: "
            package causeway:plugin-host;

            world all-versions {
                import causeway:plugin/host@0.1.0;
                import causeway:plugin/types@0.1.0;
                import causeway:plugin/host@0.2.0;
                import causeway:plugin/types@0.2.0;
            }
        ",
        world: "causeway:plugin-host/all-versions",
        with: {
            "causeway:plugin/types@0.2.0.authorizer-request": crate::state::RequestFacts,
        },
        // A resource method on a handle the table no longer holds is a trap, not a panic.
        imports: { default: trappable },
        additional_derives: [PartialEq, Eq],
    });
}

pub use generated::causeway::plugin0_1_0::host::Level as LogLevel;
pub use generated::causeway::plugin0_1_0::types::{
    AuthorizerKind, AuthorizerRequest, Decision as AuthorizerDecision, Effect, HttpRequest,
    HttpResponse, MappingError,
};

pub(crate) use generated::causeway::plugin0_1_0::host::{
    Host, add_to_linker as add_host_to_linker,
};

/// The 0.2.0 imports: `host` (the same functions as 0.1.0's) and `types` (the
/// `authorizer-request` resource).
pub(crate) mod v0_2 {
    pub(crate) use super::generated::causeway::plugin0_2_0::host::{
        Host, Level, add_to_linker as add_host_to_linker,
    };
    pub(crate) use super::generated::causeway::plugin0_2_0::types::{
        AuthorizerKind, Host as TypesHost, HostAuthorizerRequest,
        add_to_linker as add_types_to_linker,
    };
}
