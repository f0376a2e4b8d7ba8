//! The `authorizer` world of `causeway:plugin@0.1.0`, where the request is a record: the
//! host copies every field (every header, query parameter and stage variable) into the
//! plugin on every call. Kept for plugins written against 0.1.0; new plugins use
//! [`crate::authorizer`] (0.2.0), which reads only the fields asked for.

#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/causeway-plugin-0.1.0",
        // The 0.1.0 world under another name: wit-bindgen names its export glue after the
        // world, and `authorizer` is 0.2.0's.
        inline: "
            package causeway:sdk;

            world authorizer-v0-1 {
                include causeway:plugin/authorizer@0.1.0;
            }
        ",
        world: "causeway:sdk/authorizer-v0-1",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_authorizer_v0_1",
        default_bindings_module: "::causeway_plugin_sdk::authorizer_v0_1::bindings",
        runtime_path: "::causeway_plugin_sdk::__rt",
    });
}

pub use bindings::Guest as Authorizer;
pub use bindings::causeway::plugin::types::{AuthorizerKind, AuthorizerRequest, Decision, Effect};

world_common!();

/// Export `$ty` (which implements [`Authorizer`]) as this component's 0.1.0 `authorize`.
#[macro_export]
macro_rules! export_authorizer_v0_1 {
    ($ty:ident) => {
        $crate::authorizer_v0_1::bindings::__export_authorizer_v0_1!($ty with_types_in $crate::authorizer_v0_1::bindings);
    };
}

impl AuthorizerRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::field(&self.headers, name)
    }

    /// First value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        crate::all_fields(&self.query, name).next()
    }

    /// Stage variable `name`.
    pub fn stage_variable(&self, name: &str) -> Option<&str> {
        crate::all_fields(&self.stage_variables, name).next()
    }

    /// The caller's token: the identity source of a TOKEN authorizer, else the first
    /// identity source value, else the `Authorization` header.
    pub fn token(&self) -> Option<&str> {
        self.identity_source
            .first()
            .map(String::as_str)
            .filter(|t| !t.is_empty())
            .or_else(|| self.header("authorization"))
    }

    /// [`token`](Self::token) without its `Bearer ` prefix (case-insensitive); `None` when
    /// the token is missing or uses another scheme.
    pub fn bearer_token(&self) -> Option<&str> {
        let token = self.token()?.trim();
        let (scheme, rest) = token.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    }
}

decision_helpers!();
