//! The `function` world: `handle(event-json) -> result<response-json, error>`, a
//! Lambda-proxy-style integration. Parse the event with the JSON library of your choice.

#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/causeway-plugin-0.1.0",
        world: "causeway:plugin/function@0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_function",
        default_bindings_module: "::causeway_plugin_sdk::function::bindings",
        runtime_path: "::causeway_plugin_sdk::__rt",
    });
}

pub use bindings::Guest as Function;

world_common!();

/// Export `$ty` (which implements [`Function`]) as this component's `handle`.
#[macro_export]
macro_rules! export_function {
    ($ty:ident) => {
        $crate::function::bindings::__export_function!($ty with_types_in $crate::function::bindings);
    };
}
