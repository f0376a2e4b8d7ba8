//! The `authorizer` world: `authorize(request) -> decision`, a Lambda authorizer.

#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/causeway-plugin-0.1.0",
        world: "causeway:plugin/authorizer@0.1.0",
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

impl Decision {
    fn new(effect: Effect, principal_id: String) -> Decision {
        Decision {
            effect,
            principal_id,
            context: Vec::new(),
            usage_identifier_key: None,
            ttl_seconds: 0,
            routes: Vec::new(),
            message: None,
        }
    }

    /// Allow the request as `principal_id`.
    pub fn allow(principal_id: impl Into<String>) -> Decision {
        Decision::new(Effect::Allow, principal_id.into())
    }

    /// Deny (403) with `message` for the client.
    pub fn deny(principal_id: impl Into<String>, message: impl Into<String>) -> Decision {
        Decision::new(Effect::Deny, principal_id.into()).with_message(message)
    }

    /// Missing or invalid credentials (401 `Unauthorized`).
    pub fn unauthorized() -> Decision {
        Decision::new(Effect::Unauthorized, String::new())
    }

    /// Add a `$context.authorizer.KEY` entry.
    pub fn with_context(mut self, key: impl Into<String>, value: impl Into<String>) -> Decision {
        self.context.push((key.into(), value.into()));
        self
    }

    /// Let the gateway cache this decision for `seconds` (at most 3600).
    pub fn with_ttl(mut self, seconds: u32) -> Decision {
        self.ttl_seconds = seconds;
        self
    }

    /// Route-id patterns (`*` and `?` wildcards) this decision covers.
    pub fn with_routes<I, S>(mut self, routes: I) -> Decision
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.routes.extend(routes.into_iter().map(Into::into));
        self
    }

    /// The API key used for usage plans.
    pub fn with_usage_identifier_key(mut self, key: impl Into<String>) -> Decision {
        self.usage_identifier_key = Some(key.into());
        self
    }

    /// The client-facing message.
    pub fn with_message(mut self, message: impl Into<String>) -> Decision {
        self.message = Some(message.into());
        self
    }
}
