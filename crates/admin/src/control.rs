//! [`Control`]: the store, the compiled deployments and the gateway, kept in step. Every
//! operation validates first, then persists, then re-publishes the whole table at once.

mod canary;
mod export;
mod keys;
mod ops;
pub(crate) mod replica;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use causeway_gateway::{CanaryBinding, CompiledDeployment, Gateway, StageBinding, compile};
use causeway_model::{ConfigErrors, ConfigSet, Deployment, DeploymentId, NodeConfig};
use causeway_store::{StageChange, Store, StoreError};

use crate::{AdminError, check, data_dir, now_ms};

/// The control plane of one node.
#[derive(Debug)]
pub struct Control {
    inner: Mutex<Inner>,
    gateway: Gateway,
    node: NodeConfig,
    data_dir: std::path::PathBuf,
    keys: Mutex<causeway_store::KeyStore>,
    plugins: Arc<crate::PluginHost>,
    /// The mesh member, once started (`[mesh]` configured).
    mesh: std::sync::OnceLock<crate::mesh::MeshLink>,
}

/// Everything mutable, behind one lock so that publishes happen in the order of changes.
#[derive(Debug)]
struct Inner {
    store: Store,
    plugins: Arc<crate::PluginHost>,
    /// Deployments referenced by a stage, compiled once.
    compiled: HashMap<DeploymentId, Arc<CompiledDeployment>>,
    /// Stored deployments that do not compile with this build, with why.
    broken: HashMap<DeploymentId, ConfigErrors>,
}

impl Control {
    /// Open the store in the config's data directory, deploy every configured stage that
    /// has never been deployed (first boot), and publish every stage to `gateway`.
    ///
    /// A stored deployment that no longer compiles is logged and its stages are not
    /// served; it does not stop the node. A configured API that does not compile on first
    /// boot is an error.
    pub fn open(set: &ConfigSet, gateway: Gateway) -> Result<Control, AdminError> {
        Control::open_with_plugins(set, gateway, Arc::new(Control::plugin_host(set)))
    }

    /// The plugin host a node serving `set` uses: artifacts cached in
    /// `<data_dir>/artifacts`, bounded by `node.artifact_cache_mb`, at most
    /// `node.plugin_instances` instances alive; with
    /// `CAUSEWAY_PERF_MAP=1` in the environment it writes a perf map for profiling.
    pub fn plugin_host(set: &ConfigSet) -> crate::PluginHost {
        crate::PluginHost::new(Some(data_dir(set).join("artifacts")))
            .with_cache_bound(set.node.node.artifact_cache_mb.saturating_mul(1 << 20))
            .with_max_instances(set.node.node.plugin_instances)
            .with_perf_map(std::env::var_os("CAUSEWAY_PERF_MAP").is_some_and(|v| v == "1"))
    }

    /// [`Control::open`] with plugins loaded into `plugins` (see [`Control::plugin_host`]),
    /// which may already hold them: `causeway serve` validates the config with the same
    /// host, so every plugin is loaded and warmed once.
    pub fn open_with_plugins(
        set: &ConfigSet,
        gateway: Gateway,
        plugins: Arc<crate::PluginHost>,
    ) -> Result<Control, AdminError> {
        let store = Store::open(&data_dir(set))?;
        let mut inner = Inner {
            store,
            plugins: plugins.clone(),
            compiled: HashMap::new(),
            broken: HashMap::new(),
        };
        let now = now_ms();
        for (file, api) in &set.apis {
            let missing: Vec<_> = api
                .stages
                .iter()
                // A stage deleted with `causeway delete-stage` stays deleted over a
                // restart; `causeway deploy` brings it back.
                .filter(|s| {
                    inner.store.stage(&api.id, &s.name).is_none()
                        && inner.store.deleted_stage(&api.id, &s.name).is_none()
                })
                .collect();
            if missing.is_empty() {
                continue;
            }
            let deployment =
                Deployment::snapshot(api, format!("initial deployment of {file}"), now);
            // The config's components go into the store, so the deployment can be served
            // again after a restart without the config directory.
            for p in &api.plugins {
                let bytes = check::config_plugin_bytes(set, api, p.sha256.as_deref().unwrap_or(""))
                    .map_err(|e| {
                        ConfigErrors(vec![causeway_model::ConfigError::new(file, "plugins", e)])
                    })?;
                inner.store.put_blob(&bytes)?;
            }
            let store = &inner.store;
            let loaded =
                plugins.load(file, api, &|sha| store.blob(sha).map_err(|e| e.to_string()))?;
            let compiled = check::check_api(file, api, &deployment, &loaded)?;
            let id = deployment.id.clone();
            inner.store.put_deployment(deployment)?;
            let changes = missing
                .iter()
                .map(|s| {
                    let change = StageChange {
                        deployment_id: Some(id.clone()),
                        variables: Some(s.variables.clone()),
                        description: Some(s.description.clone()),
                        settings: Some(s.settings()),
                        canary: None,
                    };
                    (s.name.clone(), change)
                })
                .collect();
            inner.store.update_stages(&api.id, changes, now)?;
            inner.compiled.insert(id.clone(), Arc::new(compiled));
            let stages: Vec<&str> = missing.iter().map(|s| s.name.as_str()).collect();
            tracing::info!(api = %api.id, deployment = %id, ?stages, "first deployment from the config");
        }
        let control = Control {
            inner: Mutex::new(inner),
            gateway,
            node: set.node.clone(),
            data_dir: data_dir(set),
            plugins,
            keys: Mutex::new(causeway_store::KeyStore::open(&data_dir(set))?),
            mesh: std::sync::OnceLock::new(),
        };
        control.publish(&mut control.lock());
        {
            let ks = control.keys.lock().unwrap_or_else(PoisonError::into_inner);
            control.publish_keys(&ks);
            control.restore_usage(&ks);
        }
        Ok(control)
    }

    /// The node configuration the control plane was opened with.
    pub(crate) fn attach_mesh(&self, link: crate::mesh::MeshLink) {
        let _ = self.mesh.set(link);
    }

    pub(crate) fn mesh(&self) -> Option<&crate::mesh::MeshLink> {
        self.mesh.get()
    }

    /// Shares a record with the mesh's other nodes (nothing without a mesh).
    pub(crate) fn share(&self, kind: &str, id: &str, record: &impl serde::Serialize) {
        if let Some(link) = self.mesh() {
            link.share(kind, id, record);
        }
    }

    /// Deletes `kind/id` on every other node (a tombstone the mesh keeps).
    pub(crate) fn unshare(&self, kind: &str, id: &str) {
        if let Some(link) = self.mesh() {
            link.unshare(kind, id);
        }
    }

    /// This node's view of the mesh (`None`: no `[mesh]` configured).
    pub fn mesh_status(&self) -> Option<crate::mesh::MeshStatus> {
        self.mesh().map(crate::mesh::MeshLink::status)
    }

    /// The mesh's members as this node sees them: up or down, smoothed round-trip times
    /// (empty without a mesh). An edge orders its regions by it.
    pub fn mesh_peers(&self) -> Vec<causeway_mesh::PeerInfo> {
        self.mesh().map(|l| l.peers()).unwrap_or_default()
    }

    /// Flushes a stage's response cache here and, through the mesh, on every other node.
    /// False when the stage has no cache on this node.
    pub fn flush_cache(&self, api: &str, stage: &str) -> bool {
        let flushed = self.gateway.flush_cache(api, stage);
        if flushed && let Some(link) = self.mesh() {
            link.flush(api, stage);
        }
        flushed
    }

    pub fn node(&self) -> &NodeConfig {
        &self.node
    }

    /// The gateway it publishes to.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The data directory (store, audit log, token file).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Mutations are applied only after they are persisted, so the state behind a
        // poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The compiled form of stored deployment `id`: the one already compiled, or compiled
    /// now. Like a deploy, it takes the control lock only to look things up and for each
    /// component read, not while the components compile and warm up, so other control
    /// actions and reads go on meanwhile. The caller puts the result in `compiled` under
    /// the same lock as the stage change that makes it live.
    fn compile_stored(
        &self,
        api_id: &str,
        id: &DeploymentId,
    ) -> Result<Arc<CompiledDeployment>, AdminError> {
        let deployment = match self.lock().known(api_id, id)? {
            Known::Compiled(c) => return Ok(c),
            Known::Stored(d) => d,
        };
        let compiled = load_and_compile(&self.plugins, api_id, &deployment, &|sha| {
            self.lock().store.blob(sha).map_err(|e| e.to_string())
        });
        compiled.map(Arc::new).map_err(|errors| {
            self.lock().broken.insert(id.clone(), errors.clone());
            AdminError::Invalid(errors)
        })
    }

    /// Swap in a table of every stage whose deployment compiles.
    fn publish(&self, inner: &mut Inner) {
        let records: Vec<_> = inner.store.stages().into_iter().cloned().collect();
        let mut bindings = Vec::with_capacity(records.len());
        for r in records {
            let deployment = match inner.compiled(&r.api_id, &r.deployment_id) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(
                        api = %r.api_id,
                        stage = %r.stage,
                        deployment = %r.deployment_id,
                        "stage is not served: {e}; point it at another deployment with \
                         `causeway rollback --api {} --stage {} --to <id>`",
                        r.api_id,
                        r.stage
                    );
                    continue;
                }
            };
            let canary =
                r.canary
                    .as_ref()
                    .and_then(|c| match inner.compiled(&r.api_id, &c.deployment_id) {
                        Ok(d) => Some(CanaryBinding {
                            deployment: d,
                            percent_traffic: c.percent_traffic,
                            variables: c.variables(&r.variables),
                            use_stage_cache: c.use_stage_cache,
                        }),
                        Err(e) => {
                            tracing::error!(
                                api = %r.api_id, stage = %r.stage, canary = %c.deployment_id,
                                "the stage's canary is not served (the stage is): {e}"
                            );
                            None
                        }
                    });
            bindings.push(StageBinding {
                api_id: r.api_id,
                stage: r.stage,
                deployment,
                variables: r.variables,
                settings: r.settings,
                canary,
            });
        }
        let live: HashSet<DeploymentId> = bindings
            .iter()
            .flat_map(|b| {
                std::iter::once(&b.deployment).chain(b.canary.as_ref().map(|c| &c.deployment))
            })
            .map(|d| d.id().clone())
            .collect();
        inner.compiled.retain(|id, _| live.contains(id));
        inner
            .plugins
            .retain_live(inner.compiled.values().map(|d| d.as_ref()));
        tracing::debug!(stages = bindings.len(), "publishing");
        self.gateway.publish(bindings, &self.node.domains);
    }
}

/// See [`Inner::known`].
enum Known {
    Compiled(Arc<CompiledDeployment>),
    Stored(Box<Deployment>),
}

/// Load a stored deployment's plugins (components read through `bytes_of`) and compile it.
fn load_and_compile(
    plugins: &crate::PluginHost,
    api_id: &str,
    deployment: &Deployment,
    bytes_of: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<CompiledDeployment, ConfigErrors> {
    let file = format!("<api:{api_id}> deployment {}", deployment.id);
    plugins
        .load(&file, &deployment.api, bytes_of)
        .and_then(|loaded| compile(deployment, &loaded))
}

impl Inner {
    /// The compiled form of a stored deployment, compiling it on first use (under the
    /// lock: at startup, or when a publish meets a stage switched meanwhile).
    fn compiled(
        &mut self,
        api_id: &str,
        id: &DeploymentId,
    ) -> Result<Arc<CompiledDeployment>, AdminError> {
        let deployment = match self.known(api_id, id)? {
            Known::Compiled(c) => return Ok(c),
            Known::Stored(d) => d,
        };
        let store = &self.store;
        let compiled = load_and_compile(&self.plugins, api_id, &deployment, &|sha| {
            store.blob(sha).map_err(|e| e.to_string())
        });
        match compiled {
            Ok(c) => {
                let c = Arc::new(c);
                self.compiled.insert(id.clone(), c.clone());
                Ok(c)
            }
            Err(errors) => {
                self.broken.insert(id.clone(), errors.clone());
                Err(AdminError::Invalid(errors))
            }
        }
    }

    /// What is known of deployment `id`: compiled already, refused already (an error), or
    /// only stored.
    fn known(&self, api_id: &str, id: &DeploymentId) -> Result<Known, AdminError> {
        if let Some(c) = self.compiled.get(id) {
            return Ok(Known::Compiled(c.clone()));
        }
        if let Some(errors) = self.broken.get(id) {
            return Err(AdminError::Invalid(errors.clone()));
        }
        let deployment = self.store.deployment(api_id, id).cloned().ok_or_else(|| {
            StoreError::UnknownDeployment {
                api_id: api_id.to_owned(),
                id: id.clone(),
            }
        })?;
        Ok(Known::Stored(Box::new(deployment)))
    }

    /// A stored deployment of `api_id` named by its id or an unambiguous prefix (4+ digits).
    fn resolve(&self, api_id: &str, given: &str) -> Result<DeploymentId, AdminError> {
        let all = self.store.deployments(api_id);
        if let Some(d) = all.iter().find(|d| d.id.0 == given) {
            return Ok(d.id.clone());
        }
        if given.len() >= 4 {
            let matching: Vec<&DeploymentId> = all
                .iter()
                .map(|d| &d.id)
                .filter(|id| id.0.starts_with(given))
                .collect();
            match matching.as_slice() {
                [one] => return Ok((*one).clone()),
                [] => {}
                many => {
                    return Err(AdminError::BadRequest(format!(
                        "`{given}` is the start of {} deployments of API `{api_id}`; give more digits (see `causeway deployments --api {api_id}`)",
                        many.len()
                    )));
                }
            }
        }
        Err(StoreError::UnknownDeployment {
            api_id: api_id.to_owned(),
            id: DeploymentId(given.to_owned()),
        }
        .into())
    }
}
