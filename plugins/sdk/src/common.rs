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
