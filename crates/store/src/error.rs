//! What can go wrong in the store, each with where it happened and how to fix it.

use std::io;
use std::path::PathBuf;

use causeway_model::DeploymentId;

/// A store operation that failed. When a mutation fails, the store's memory state is
/// unchanged and so is what is on disk (writes are atomic).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No API key has that id.
    #[error("no API key has id `{id}`; list them with `causeway keys list`")]
    UnknownKey {
        /// The id asked for.
        id: String,
    },
    /// No usage plan has that id.
    #[error("no usage plan has id `{id}`; list them with `causeway usage-plans list`")]
    UnknownPlan {
        /// The id asked for.
        id: String,
    },
    /// A key or plan that cannot be stored as given.
    #[error("{field}: {reason}")]
    Invalid {
        /// Which input.
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A file or directory could not be read, written, synced or renamed.
    #[error(
        "cannot {action} `{}`: {source}; check that the data directory exists, is writable by this user and has free space",
        path.display()
    )]
    Io {
        /// What was being done (`write`, `create directory`, ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `stages.json` exists but cannot be understood.
    #[error(
        "the stage pointer file `{}` is unreadable: {reason}; restore it from a backup, or move it away to start with no stages (every API is then redeployed from the config at the next start)",
        path.display()
    )]
    CorruptStages {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        reason: String,
    },
    /// A deployment's id does not match its content.
    #[error(
        "deployment `{id}` of API `{api_id}` does not match its content; build it with `Deployment::snapshot` instead of editing it"
    )]
    Tampered {
        /// The API.
        api_id: String,
        /// The id it claims.
        id: DeploymentId,
    },
    /// An API id, stage name or deployment id that cannot be stored.
    #[error("`{value}` is not a valid {what}: {hint}")]
    InvalidName {
        /// `API id`, `stage name` or `deployment id`.
        what: &'static str,
        /// The offending value.
        value: String,
        /// What a valid one looks like.
        hint: &'static str,
    },
    /// No deployment of the API is stored.
    #[error(
        "API `{api_id}` has no deployments; deploy it first with `causeway deploy --api {api_id}`"
    )]
    UnknownApi {
        /// The API.
        api_id: String,
    },
    /// The API has no deployment with that id.
    #[error(
        "API `{api_id}` has no deployment `{id}`; list them with `causeway deployments --api {api_id}`"
    )]
    UnknownDeployment {
        /// The API.
        api_id: String,
        /// The missing deployment.
        id: DeploymentId,
    },
    /// The API has no stage with that name.
    #[error(
        "API `{api_id}` has no stage `{stage}`; list them with `causeway stages --api {api_id}`, or create it by deploying with `--stage {stage}`"
    )]
    UnknownStage {
        /// The API.
        api_id: String,
        /// The missing stage.
        stage: String,
    },
    /// A rollback to "the previous deployment" of a stage that has none.
    #[error(
        "stage `{stage}` of API `{api_id}` has no previous deployment to roll back to; name one with `--to <deployment-id>` (see `causeway deployments --api {api_id}`)"
    )]
    NoHistory {
        /// The API.
        api_id: String,
        /// The stage.
        stage: String,
    },
}

impl StoreError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Whether the error says that something named does not exist (an HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            StoreError::UnknownApi { .. }
                | StoreError::UnknownDeployment { .. }
                | StoreError::UnknownStage { .. }
                | StoreError::UnknownKey { .. }
                | StoreError::UnknownPlan { .. }
        )
    }
}
