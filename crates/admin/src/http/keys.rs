//! Admin routes for API keys and usage plans:
//! `GET|POST /v1/apikeys`, `GET|PATCH|DELETE /v1/apikeys/{id}`, `GET|POST /v1/usageplans`,
//! `GET|PATCH|DELETE /v1/usageplans/{id}`, `GET /v1/usageplans/{id}/usage`.

use std::sync::Arc;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;

use super::routes::{Resp, items, method_not_allowed, not_found, read_json, run};
use crate::Control;
use crate::wire::{KeyPatch, NewKey, NewPlan, PlanPatch};

pub(super) async fn route(
    c: Arc<Control>,
    segs: &[&str],
    req: Request<Incoming>,
    full: &str,
) -> Resp {
    let method = req.method().clone();
    match (segs, &method) {
        (["apikeys"], &Method::GET) => run(StatusCode::OK, move || Ok(items(c.list_keys()))).await,
        (["apikeys"], &Method::POST) => {
            let body: NewKey = match read_json(req, false).await {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            run(StatusCode::CREATED, move || c.create_key(body)).await
        }
        (["apikeys"], _) => method_not_allowed("GET, POST"),
        (["apikeys", id], &Method::GET) => {
            let id = (*id).to_owned();
            run(StatusCode::OK, move || {
                c.list_keys()
                    .into_iter()
                    .find(|k| k.id == id)
                    .ok_or_else(|| causeway_store::StoreError::UnknownKey { id }.into())
            })
            .await
        }
        (["apikeys", id], &Method::PATCH) => {
            let id = (*id).to_owned();
            let patch: KeyPatch = match read_json(req, false).await {
                Ok(p) => p,
                Err(resp) => return resp,
            };
            run(StatusCode::OK, move || c.update_key(&id, patch)).await
        }
        (["apikeys", id], &Method::DELETE) => {
            let id = (*id).to_owned();
            run(StatusCode::OK, move || c.delete_key(&id)).await
        }
        (["apikeys", _], _) => method_not_allowed("GET, PATCH, DELETE"),
        (["usageplans"], &Method::GET) => {
            run(StatusCode::OK, move || Ok(items(c.list_plans()))).await
        }
        (["usageplans"], &Method::POST) => {
            let body: NewPlan = match read_json(req, false).await {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            run(StatusCode::CREATED, move || c.create_plan(body)).await
        }
        (["usageplans"], _) => method_not_allowed("GET, POST"),
        (["usageplans", id], &Method::GET) => {
            let id = (*id).to_owned();
            run(StatusCode::OK, move || {
                c.list_plans()
                    .into_iter()
                    .find(|p| p.id == id)
                    .ok_or_else(|| causeway_store::StoreError::UnknownPlan { id }.into())
            })
            .await
        }
        (["usageplans", id], &Method::PATCH) => {
            let id = (*id).to_owned();
            let patch: PlanPatch = match read_json(req, false).await {
                Ok(p) => p,
                Err(resp) => return resp,
            };
            run(StatusCode::OK, move || c.update_plan(&id, patch)).await
        }
        (["usageplans", id], &Method::DELETE) => {
            let id = (*id).to_owned();
            run(StatusCode::OK, move || c.delete_plan(&id)).await
        }
        (["usageplans", _], _) => method_not_allowed("GET, PATCH, DELETE"),
        (["usageplans", id, "usage"], &Method::GET) => {
            let id = (*id).to_owned();
            run(StatusCode::OK, move || c.plan_usage(&id).map(items)).await
        }
        (["usageplans", _, "usage"], _) => method_not_allowed("GET"),
        _ => not_found(&method, full),
    }
}
