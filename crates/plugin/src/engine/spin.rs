//! The Spin platform's imports, for `wasi:http` handlers built with spin-sdk: linked to
//! functions that trap, so a Spin component that imports key-value, SQLite, variables...
//! loads and serves every request that does not call them.
//!
//! Only imports of the Spin packages are stubbed, in a per-component copy of the linker;
//! WASI imports keep their real (semver-matched) implementations, and an import of any
//! other package still refuses the load.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, LinkerInstance, ResourceType};

use crate::state::HostState;

/// Packages of the Spin platform.
const SPIN_PLATFORM: &[&str] = &["fermyon:spin/", "spin:", "wasi:keyvalue/", "wasi:config/"];

/// Packages the shared linker provides.
const PROVIDED: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:io/",
    "wasi:filesystem/",
    "wasi:sockets/",
    "wasi:http/",
    "causeway:plugin/",
];

fn of(set: &[&str], name: &str) -> bool {
    set.iter().any(|p| name.starts_with(p))
}

/// Whether the component imports some of the Spin platform and nothing else the shared
/// linker does not know.
pub(crate) fn imports_spin(imports: &[String]) -> bool {
    imports.iter().any(|n| of(SPIN_PLATFORM, n))
        && imports
            .iter()
            .all(|n| of(SPIN_PLATFORM, n) || of(PROVIDED, n))
}

/// `linker` plus trapping stubs for the component's Spin platform imports.
pub(crate) fn linker_with_stubs(
    linker: &Linker<HostState>,
    component: &Component,
) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = linker.clone();
    let engine = component.engine().clone();
    let ty = component.component_type();
    for (name, item) in ty.imports(&engine) {
        if !of(SPIN_PLATFORM, name) {
            continue;
        }
        if let ComponentItem::ComponentInstance(instance) = item.ty {
            let mut inner = linker.instance(name)?;
            for (export, item) in instance.exports(&engine) {
                stub(&mut inner, name, export, &item.ty)?;
            }
        }
    }
    Ok(linker)
}

fn stub(
    instance: &mut LinkerInstance<'_, HostState>,
    interface: &str,
    name: &str,
    item: &ComponentItem,
) -> wasmtime::Result<()> {
    match item {
        ComponentItem::ComponentFunc(_) => {
            let what = format!("{interface}#{name}");
            instance.func_new(name, move |_, _, _, _| {
                wasmtime::bail!("`{what}` is a Spin platform API, which Causeway does not provide")
            })
        }
        ComponentItem::Resource(_) => {
            instance.resource(name, ResourceType::host::<SpinResource>(), |_, _| Ok(()))
        }
        _ => Ok(()),
    }
}

/// The host type of stubbed Spin resources (never constructed: every function that
/// could make one traps).
struct SpinResource;
