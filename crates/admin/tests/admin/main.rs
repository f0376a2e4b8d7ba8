//! The control plane and its HTTP API against a temporary config and data directory.

mod control;
mod garbage;
mod http;
mod token;

use std::path::Path;
use std::sync::Arc;

use causeway_admin::Control;
use causeway_gateway::Gateway;
use causeway_model::{ApiSpec, ConfigSet, load_dir, parse_api};

/// A PetStore-like HTTP API whose `GET /` answers `body`.
pub fn api_toml(id: &str, body: &str) -> String {
    format!(
        r#"
version = 1
id = "{id}"
name = "Pets"
type = "HTTP"

[[stages]]
name = "prod"
description = "Production"
variables = {{ color = "blue" }}

[[stages]]
name = "dev"

[[routes]]
key = "GET /"
integration = {{ type = "MOCK", body = "{body} ${{stageVariables.color}}" }}

[[routes]]
key = "GET /pets/{{petId}}"
integration = {{ type = "MOCK", body = "pet" }}
"#
    )
}

pub fn api(id: &str, body: &str) -> ApiSpec {
    parse_api("test.toml", &api_toml(id, body)).expect("valid API")
}

/// A config directory with `apis` (id, mock body) and a data directory inside it.
pub fn config(dir: &Path, apis: &[(&str, &str)]) -> ConfigSet {
    std::fs::create_dir_all(dir.join("apis")).expect("apis dir");
    std::fs::write(
        dir.join("causeway.toml"),
        "version = 1\n[node]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"secret\"\n",
    )
    .expect("node file");
    for (id, body) in apis {
        std::fs::write(dir.join(format!("apis/{id}.toml")), api_toml(id, body)).expect("api file");
    }
    load_dir(dir).expect("valid config")
}

pub fn open(set: &ConfigSet) -> (Arc<Control>, Gateway) {
    let gateway = Gateway::new(&set.node);
    let control = Control::open(set, gateway.clone()).expect("open control");
    (Arc::new(control), gateway)
}
