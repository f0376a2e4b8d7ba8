//! OpenAPI exports of what a stage serves (API Gateway's `GetExport`).

use causeway_model::StageSpec;
use causeway_openapi::ExportOptions;

use super::Control;
use crate::AdminError;

impl Control {
    /// The deployment stage `stage` of `api_id` serves, as an OpenAPI 3 document with
    /// API Gateway's extensions, the stage (variables and settings) in `x-causeway`,
    /// its invoke URL as the server and the deployment id as `info.version`: a document
    /// `causeway openapi import` turns back into the same API file.
    pub fn export_stage(&self, api_id: &str, stage: &str) -> Result<serde_json::Value, AdminError> {
        let record = self.stage(api_id, stage)?;
        let deployment = self.deployment(api_id, &record.deployment_id.0)?;
        let mut api = deployment.api;
        causeway_openapi::exportable(&api).map_err(AdminError::BadRequest)?;
        api.stages = vec![StageSpec {
            name: record.stage.clone(),
            description: record.description.clone(),
            variables: record.variables.clone(),
            access_log: record.settings.access_log.clone(),
            cache: record.settings.cache.clone(),
            throttle: record.settings.throttle,
        }];
        // The listener that serves it (PRIVATE APIs: the private one).
        let listener = self.node().node.listener_for(api.endpoint.kind);
        let options = ExportOptions {
            server_url: listener.map(|l| {
                let port = l.port();
                format!("http://{api_id}.execute-api.localhost:{port}/{stage}")
            }),
            version: Some(deployment.id.0),
        };
        Ok(causeway_openapi::export(&api, &options))
    }
}
