//! What every world module has: the host imports with friendlier signatures.

/// Expands, inside a world module whose bindings live in `self::bindings`, to the host
/// helpers (`log`, `info`, `warn`, `error`, `debug`, `now_ms`, `config`) and the shared
/// type re-exports.
macro_rules! world_common {
    () => {
        pub use self::bindings::causeway::plugin::host::Level;
        pub use self::bindings::causeway::plugin::types::Fields;

        /// Write a structured log line attributed to this plugin.
        pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
            let fields: Vec<(String, String)> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            self::bindings::causeway::plugin::host::log(level, message, &fields);
        }

        /// [`log`] at debug level without fields.
        pub fn debug(message: &str) {
            log(Level::Debug, message, &[]);
        }

        /// [`log`] at info level without fields.
        pub fn info(message: &str) {
            log(Level::Info, message, &[]);
        }

        /// [`log`] at warn level without fields.
        pub fn warn(message: &str) {
            log(Level::Warn, message, &[]);
        }

        /// [`log`] at error level without fields.
        pub fn error(message: &str) {
            log(Level::Error, message, &[]);
        }

        /// Wall-clock time in milliseconds since the Unix epoch.
        pub fn now_ms() -> u64 {
            self::bindings::causeway::plugin::host::now_ms()
        }

        /// The plugin's configuration value `key` (plugin config, then stage variables).
        pub fn config(key: &str) -> Option<String> {
            self::bindings::causeway::plugin::host::config(key)
        }
    };
}

/// Expands, inside an authorizer module whose `Decision` and `Effect` are in scope, to
/// `Decision`'s builder methods (the same in every version of the world).
macro_rules! decision_helpers {
    () => {
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
            pub fn with_context(
                mut self,
                key: impl Into<String>,
                value: impl Into<String>,
            ) -> Decision {
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
    };
}
