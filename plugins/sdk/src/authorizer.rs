//! The `authorizer` world (`causeway:plugin@0.2.0`): `authorize(request) -> decision`, a
//! Lambda authorizer. The request is a handle: each method copies one field into the
//! plugin when asked, so an authorizer pays only for what it reads (a TOKEN authorizer
//! typically reads its token alone). Plugins written against 0.1.0, where the request
//! was a record of every field, use [`crate::authorizer_v0_1`] and keep working.

#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/causeway-plugin-0.2.0",
        world: "causeway:plugin/authorizer@0.2.0",
        pub_export_macro: true,
        export_macro_name: "__export_authorizer",
        default_bindings_module: "::causeway_plugin_sdk::authorizer::bindings",
        runtime_path: "::causeway_plugin_sdk::__rt",
    });
}

pub use bindings::Guest as Authorizer;
pub use bindings::causeway::plugin::types::{AuthorizerKind, AuthorizerRequest, Decision, Effect};

world_common!();

/// Export `$ty` (which implements [`Authorizer`]) as this component's `authorize`.
#[macro_export]
macro_rules! export_authorizer {
    ($ty:ident) => {
        $crate::authorizer::bindings::__export_authorizer!($ty with_types_in $crate::authorizer::bindings);
    };
}

impl AuthorizerRequest {
    /// The caller's token: the first identity source value (a TOKEN authorizer's only
    /// one), else the `Authorization` header. One call to the host, two when the
    /// identity source is empty.
    pub fn token(&self) -> Option<String> {
        self.identity_source()
            .into_iter()
            .next()
            .filter(|t| !t.is_empty())
            .or_else(|| self.header("authorization"))
    }

    /// [`token`](Self::token) without its `Bearer ` prefix (case-insensitive); `None` when
    /// the token is missing or uses another scheme.
    pub fn bearer_token(&self) -> Option<String> {
        let token = self.token()?;
        let (scheme, rest) = token.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim().to_owned())
    }
}

decision_helpers!();
