//! The `mapper` world: `map-request` and `map-response`, mapping templates in code.

#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/causeway-plugin-0.1.0",
        world: "causeway:plugin/mapper@0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_mapper",
        default_bindings_module: "::causeway_plugin_sdk::mapper::bindings",
        runtime_path: "::causeway_plugin_sdk::__rt",
    });
}

pub use bindings::Guest as Mapper;
pub use bindings::causeway::plugin::types::{HttpRequest, HttpResponse, MappingError};

world_common!();

/// Export `$ty` (which implements [`Mapper`]) as this component's `map-request` and
/// `map-response`.
#[macro_export]
macro_rules! export_mapper {
    ($ty:ident) => {
        $crate::mapper::bindings::__export_mapper!($ty with_types_in $crate::mapper::bindings);
    };
}

/// Replace (or add) header `name`, matching case-insensitively.
fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    fields.push((name.to_ascii_lowercase(), value.to_owned()));
}

impl HttpRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::field(&self.headers, name)
    }

    /// Every value of query parameter `name`, in order.
    pub fn query_all<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        crate::all_fields(&self.query, name)
    }

    /// Replace header `name`.
    pub fn set_header(&mut self, name: &str, value: &str) {
        set_field(&mut self.headers, name, value);
    }
}

impl HttpResponse {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::field(&self.headers, name)
    }

    /// Replace header `name`.
    pub fn set_header(&mut self, name: &str, value: &str) {
        set_field(&mut self.headers, name, value);
    }
}

impl MappingError {
    /// Refuse with `status` and `{"message": message}`.
    pub fn new(status: u16, message: impl Into<String>) -> MappingError {
        MappingError {
            status,
            message: message.into(),
        }
    }
}
