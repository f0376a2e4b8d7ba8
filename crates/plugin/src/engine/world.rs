//! Checking a component against the world it is loaded as, before it ever runs.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Resource};

use crate::bindings::{
    AuthorizerDecision, AuthorizerRequest, HttpRequest, HttpResponse, MappingError,
};
use crate::engine::PluginEngine;
use crate::error::{PluginErrorKind, chain};
use crate::http::HttpHandler;
use crate::options::World;
use crate::state::{HostState, RequestFacts};

/// Where a world's functions are in the component.
pub(crate) enum Exports {
    Authorizer {
        authorize: ComponentExportIndex,
        abi: AuthorizerAbi,
    },
    Mapper {
        map_request: ComponentExportIndex,
        map_response: ComponentExportIndex,
    },
    Function {
        handle: ComponentExportIndex,
    },
    Http(HttpHandler),
}

/// How an authorizer takes its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthorizerAbi {
    /// `causeway:plugin@0.1.0`: the whole request as a record.
    Record,
    /// `causeway:plugin@0.2.0`: an `authorizer-request` resource the guest reads from.
    Resource,
}

/// A component ready to instantiate.
pub(crate) struct Prepared {
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) exports: Exports,
    pub(crate) export_names: Vec<String>,
    pub(crate) import_names: Vec<String>,
}

type Failure = (PluginErrorKind, String);

/// Find the world's exports, link the imports and type-check the exports.
pub(crate) fn prepare(
    engine: &PluginEngine,
    component: &Component,
    world: World,
) -> Result<Prepared, Failure> {
    let shared = engine.shared();
    let ty = component.component_type();
    let export_names: Vec<String> = ty
        .exports(&shared.engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let import_names: Vec<String> = ty
        .imports(&shared.engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let versioned = world == World::HttpHandler;
    for (name, signature) in world.exports().iter().filter(|_| !versioned) {
        if component.get_export_index(None, name).is_none() {
            return Err((
                PluginErrorKind::WorldMismatch,
                format!(
                    "component does not export `{name}` ({world} requires `{name}: \
                     {signature}`); its exports: {}",
                    list(&export_names)
                ),
            ));
        }
    }
    let missing = |e: &wasmtime::Error| {
        (
            PluginErrorKind::MissingImport,
            format!(
                "{}; plugins may import causeway:plugin/host and WASI 0.2 (cli, clocks, \
                 random, io, filesystem without preopens, sockets without addresses); \
                 its imports: {}",
                chain(e),
                list(&import_names)
            ),
        )
    };
    let pre = match shared.linker.instantiate_pre(component) {
        Ok(pre) => pre,
        Err(e) if world == World::HttpHandler && super::spin::imports_spin(&import_names) => {
            super::spin::linker_with_stubs(&shared.linker, component)
                .and_then(|linker| linker.instantiate_pre(component))
                .map_err(|_| missing(&e))?
        }
        Err(e) => return Err(missing(&e)),
    };
    let exports = typecheck(component, &pre, world, &import_names)?;
    Ok(Prepared {
        pre,
        exports,
        export_names,
        import_names,
    })
}

fn typecheck(
    component: &Component,
    pre: &InstancePre<HostState>,
    world: World,
    import_names: &[String],
) -> Result<Exports, Failure> {
    let ty = pre.instance_type();
    macro_rules! check {
        ($name:literal, $params:ty, $results:ty) => {{
            let signature = world
                .exports()
                .iter()
                .find(|(n, _)| *n == $name)
                .map_or("", |(_, s)| *s);
            let mismatch = |why: String| {
                (
                    PluginErrorKind::WorldMismatch,
                    format!(
                        "export `{}` does not match {world} (expected `{}: {signature}`): {why}",
                        $name, $name
                    ),
                )
            };
            match component.get_export(None, $name) {
                Some((ComponentItem::ComponentFunc(func), index)) => {
                    func.typecheck::<$params, $results>(&ty)
                        .map_err(|e| mismatch(chain(&e)))?;
                    index
                }
                Some(_) => return Err(mismatch("it is not a function".to_owned())),
                None => return Err(mismatch("it is missing".to_owned())),
            }
        }};
    }
    Ok(match world {
        // 0.2.0 if the component uses 0.2.0's `types` (where the request is a resource).
        World::Authorizer if imports_v0_2(import_names) => Exports::Authorizer {
            authorize: check!(
                "authorize",
                (Resource<RequestFacts>,),
                (AuthorizerDecision,)
            ),
            abi: AuthorizerAbi::Resource,
        },
        World::Authorizer => Exports::Authorizer {
            authorize: check!("authorize", (&AuthorizerRequest,), (AuthorizerDecision,)),
            abi: AuthorizerAbi::Record,
        },
        World::Mapper => Exports::Mapper {
            map_request: check!(
                "map-request",
                (&HttpRequest,),
                (Result<HttpRequest, MappingError>,)
            ),
            map_response: check!(
                "map-response",
                (&HttpResponse,),
                (Result<HttpResponse, MappingError>,)
            ),
        },
        World::Function => Exports::Function {
            handle: check!("handle", (&str,), (Result<String, String>,)),
        },
        World::HttpHandler => Exports::Http(HttpHandler::new(pre.clone()).map_err(|e| {
            (
                PluginErrorKind::WorldMismatch,
                format!(
                    "component does not implement wasi:http/proxy (it must export \
                     `wasi:http/incoming-handler@0.2.x`): {}",
                    chain(&e)
                ),
            )
        })?),
    })
}

/// Whether the component imports 0.2's `types` (`causeway:plugin/types@0.2.x`: the
/// linker serves any 0.2 patch version with 0.2.0's definitions).
fn imports_v0_2(import_names: &[String]) -> bool {
    import_names
        .iter()
        .any(|name| name.starts_with("causeway:plugin/types@0.2."))
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".to_owned();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
