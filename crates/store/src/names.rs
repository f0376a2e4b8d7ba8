//! What may be stored: API ids and deployment ids become file names, so they are checked
//! before any path is built from them.

use causeway_model::DeploymentId;

use crate::StoreError;

pub(crate) fn check_api_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    ok.then_some(()).ok_or_else(|| StoreError::InvalidName {
        what: "API id",
        value: id.to_owned(),
        hint: "use 1-63 lowercase letters, digits and `-`",
    })
}

pub(crate) fn check_stage(stage: &str) -> Result<(), StoreError> {
    // `$default` is the HTTP APIs' stage served without a prefix.
    let ok = stage == "$default"
        || !stage.is_empty()
            && stage.len() <= 128
            && stage
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(()).ok_or_else(|| StoreError::InvalidName {
        what: "stage name",
        value: stage.to_owned(),
        hint: "use 1-128 letters, digits, `-` or `_` (or `$default`)",
    })
}

pub(crate) fn check_deployment_id(id: &DeploymentId) -> Result<(), StoreError> {
    DeploymentId::is_well_formed(&id.0)
        .then_some(())
        .ok_or_else(|| StoreError::InvalidName {
            what: "deployment id",
            value: id.0.clone(),
            hint: "a deployment id is 16 lowercase hex digits",
        })
}
