//! The DynamoModel controller, part of `dynamoctl run controller`: a LoRA model is loaded
//! onto every worker endpoint of its base model and unloaded (finalizer) when it is deleted;
//! any model's endpoints and conditions are reported in its status. Decisions are
//! `status::model`'s; this module does the I/O around them.
//!
//! - Endpoints come from the EndpointSlices labelled `nvidia.com/dynamo-base-model-hash`
//!   with the base model's hash (the model Service `dynamo-model-<hash>` and its slices carry
//!   it), read from a watch cache. A slice changing re-reconciles the models of its hash.
//! - A model is reconciled when its generation changes or its deletion starts (as upstream's
//!   generation predicate: its own status writes trigger nothing), when a slice of its base
//!   model changes, and again after `retry` while the LoRA is not loaded everywhere.
//! - Namespaces this process may not write to (another operator's, hybrid exclusion, no
//!   leadership) are looked at again after `retry`, so a namespace that comes back is
//!   picked up within that time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

use super::events::{Event, EventType, Recorder};
use super::lora::LoraClient;
use crate::api::consts::{API_VERSION, FIELD_MANAGER_STATUS, LABEL_BASE_MODEL_HASH};
use crate::api::model::{
    CONDITION_ENDPOINTS_READY, DynamoModel, DynamoModelStatus, FINALIZER,
    base_model_hash as model_hash,
};
use crate::cluster::retry;
use crate::status::model::{
    Discovered, REASON_ENDPOINTS_DISCOVERED, REASON_NO_ENDPOINTS, REASON_NOT_READY, discover,
    model_status, needs_retry,
};

/// How long a pass waits for the first listing of EndpointSlices.
const SLICES_LISTED: Duration = Duration::from_secs(10);

/// Why a DynamoModel pass failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A request to the API server failed.
    #[error("failed to {what}: {source}")]
    Api {
        /// What was being done.
        what: String,
        /// The API server's error.
        #[source]
        source: kube::Error,
    },
    /// The EndpointSlices were not listed in time (no permission to list them?).
    #[error(
        "EndpointSlices not listed yet (check the operator's RBAC for discovery.k8s.io endpointslices)"
    )]
    SlicesNotListed,
}

/// How the DynamoModel controller runs.
pub struct ModelConfig {
    /// Namespace-scoped mode: only this namespace.
    pub namespace: Option<String>,
    /// Whether this process may write to a namespace now.
    pub may_write: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    /// Where Events go.
    pub recorder: Recorder,
    /// How soon a model whose LoRA is not loaded everywhere (or whose namespace this
    /// process may not write to) is looked at again; upstream waits 30 s.
    pub retry: Duration,
}

struct Context {
    client: Client,
    config: ModelConfig,
    lora: LoraClient,
    slices: Store<EndpointSlice>,
    failures: Mutex<HashMap<String, u32>>,
}

/// The controller, until `stop` resolves.
pub async fn run(
    client: Client,
    config: ModelConfig,
    stop: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let wc = || watcher::Config::default().any_semantic();
    let (models, slices): (Api<DynamoModel>, Api<EndpointSlice>) = match &config.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let (model_store, model_writer) = reflector::store();
    let model_stream = reflector(
        model_writer,
        watcher(models, wc())
            .modify(|m| super::cache::trim_metadata(m.meta_mut()))
            .default_backoff(),
    )
    .applied_objects()
    .predicate_filter(spec_or_deletion, Default::default());
    let (slice_store, slice_writer) = reflector::store();
    let slice_stream = reflector(
        slice_writer,
        watcher(slices, wc().labels(LABEL_BASE_MODEL_HASH))
            .modify(|s| super::cache::trim_metadata(s.meta_mut()))
            .default_backoff(),
    )
    .touched_objects();
    let ctx = Arc::new(Context {
        client,
        config,
        lora: LoraClient::default(),
        slices: slice_store,
        failures: Mutex::default(),
    });
    let known = model_store.clone();
    Controller::for_stream(model_stream, model_store)
        .watches_stream(slice_stream, move |slice: EndpointSlice| {
            models_of(&known, &slice)
        })
        .graceful_shutdown_on(stop)
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "model controller");
            }
        })
        .await;
}

/// What re-triggers a model: a new generation or the start of its deletion, not its status.
fn spec_or_deletion(model: &DynamoModel) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    model.meta().generation.hash(&mut h);
    model.meta().deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// The models a slice's change concerns: those of its namespace whose base model hashes to
/// the slice's label.
fn models_of(models: &Store<DynamoModel>, slice: &EndpointSlice) -> Vec<ObjectRef<DynamoModel>> {
    let Some(hash) = slice.labels().get(LABEL_BASE_MODEL_HASH) else {
        return Vec::new();
    };
    let ns = slice.namespace();
    models
        .state()
        .iter()
        .filter(|m| m.namespace() == ns && &model_hash(&m.spec.base_model_name) == hash)
        .map(|m| ObjectRef::from_obj(m.as_ref()))
        .collect()
}

fn key(model: &DynamoModel) -> String {
    format!(
        "{}/{}",
        model.namespace().unwrap_or_default(),
        model.name_any()
    )
}

async fn reconcile(model: Arc<DynamoModel>, ctx: Arc<Context>) -> Result<Action, ModelError> {
    let ns = model.namespace().unwrap_or_default();
    if !(ctx.config.may_write)(&ns) {
        return Ok(Action::requeue(ctx.config.retry));
    }
    let api: Api<DynamoModel> = Api::namespaced(ctx.client.clone(), &ns);
    let has_finalizer = model.finalizers().iter().any(|f| f == FINALIZER);
    if model.meta().deletion_timestamp.is_some() {
        if has_finalizer {
            let found = endpoints(&ctx, &model).await.unwrap_or_default();
            unload(&ctx, &model, &found).await;
            set_finalizer(&api, &model, false).await?;
        }
        return Ok(Action::await_change());
    }
    if !has_finalizer {
        set_finalizer(&api, &model, true).await?;
    }
    let found = endpoints(&ctx, &model).await?;
    let loads = if model.is_lora() {
        Some(load(&ctx, &model, &found).await)
    } else {
        None
    };
    let status = model_status(&model, &found, loads.as_deref(), &now());
    let changed = model.status.as_ref() != Some(&status);
    if changed {
        write_status(&api, &model, &status).await?;
        report(&ctx, &model, &status).await;
    }
    ctx.failures
        .lock()
        .expect("backoff lock")
        .remove(&key(&model));
    Ok(if needs_retry(&model, &status) {
        Action::requeue(ctx.config.retry)
    } else {
        Action::await_change()
    })
}

fn error_policy(model: Arc<DynamoModel>, error: &ModelError, ctx: Arc<Context>) -> Action {
    let mut failures = ctx.failures.lock().expect("backoff lock");
    let n = failures.entry(key(&model)).or_insert(0);
    *n = (*n + 1).min(10);
    let delay = (Duration::from_millis(500) * 2u32.pow(*n - 1)).min(Duration::from_secs(300));
    tracing::warn!(model = %key(&model), %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The base model's endpoints, from the slice cache once it has been listed.
async fn endpoints(ctx: &Context, model: &DynamoModel) -> Result<Discovered, ModelError> {
    match tokio::time::timeout(SLICES_LISTED, ctx.slices.wait_until_ready()).await {
        Ok(Ok(())) => {}
        _ => return Err(ModelError::SlicesNotListed),
    }
    let hash = model_hash(&model.spec.base_model_name);
    let ns = model.namespace();
    let slices = ctx.slices.state();
    let mine: Vec<&EndpointSlice> = slices
        .iter()
        .filter(|s| s.namespace() == ns && s.labels().get(LABEL_BASE_MODEL_HASH) == Some(&hash))
        .map(|s| s.as_ref())
        .collect();
    Ok(discover(&mine))
}

/// Loads the LoRA on every endpoint; a model without a source fails every endpoint (the
/// CRD's rules refuse it, but a CRD installed without them would not).
async fn load(ctx: &Context, model: &DynamoModel, found: &Discovered) -> Vec<Result<(), String>> {
    let uri = model
        .spec
        .source
        .as_ref()
        .map(|s| s.uri.as_str())
        .unwrap_or_default();
    if uri.is_empty() {
        let why = "spec.source.uri is required for LoRA models".to_string();
        return found.candidates.iter().map(|_| Err(why.clone())).collect();
    }
    ctx.lora
        .load_all(&found.candidates, &model.spec.model_name, uri)
        .await
}

/// Unloads a LoRA from every endpoint before its DynamoModel goes. Failures are reported
/// and do not hold the deletion, as upstream: a worker that is gone has nothing to unload.
async fn unload(ctx: &Context, model: &DynamoModel, found: &Discovered) {
    if !model.is_lora() || found.candidates.is_empty() {
        return;
    }
    let results = ctx
        .lora
        .unload_all(&found.candidates, &model.spec.model_name)
        .await;
    let failed: Vec<String> = found
        .candidates
        .iter()
        .zip(&results)
        .filter_map(|(c, r)| r.as_ref().err().map(|e| format!("{}: {e}", c.address)))
        .collect();
    if failed.is_empty() {
        let note = format!("Unloaded LoRA from {} endpoint(s)", results.len());
        publish(ctx, model, EventType::Normal, "LoRAUnloaded", &note).await;
    } else {
        let note = format!(
            "Failed to unload LoRA from some endpoints: {}",
            failed.join("; ")
        );
        publish(ctx, model, EventType::Warning, "LoRAUnloadFailed", &note).await;
    }
}

/// Adds or removes the finalizer. The resourceVersion makes the patch fail (and the pass
/// retry) if the finalizers changed since this copy was read, so no one else's is lost.
async fn set_finalizer(
    api: &Api<DynamoModel>,
    model: &DynamoModel,
    on: bool,
) -> Result<(), ModelError> {
    let mut finalizers: Vec<String> = model
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if on {
        finalizers.push(FINALIZER.to_string());
    }
    let body = json!({
        "metadata": { "finalizers": finalizers, "resourceVersion": model.resource_version() }
    });
    let (name, params, patch) = (
        model.name_any(),
        PatchParams::default(),
        Patch::Merge(&body),
    );
    match retry(|| api.patch(&name, &params, &patch)).await {
        Ok(_) => Ok(()),
        // Gone already: nothing left to finalize.
        Err(kube::Error::Api(s)) if s.code == 404 && !on => Ok(()),
        Err(source) => Err(ModelError::Api {
            what: format!(
                "{} {FINALIZER} on DynamoModel {}",
                if on { "add" } else { "remove" },
                key(model)
            ),
            source,
        }),
    }
}

async fn write_status(
    api: &Api<DynamoModel>,
    model: &DynamoModel,
    status: &DynamoModelStatus,
) -> Result<(), ModelError> {
    let body = json!({ "apiVersion": API_VERSION, "kind": "DynamoModel", "status": status });
    let (name, params, patch) = (
        model.name_any(),
        PatchParams::apply(FIELD_MANAGER_STATUS).force(),
        Patch::Apply(&body),
    );
    retry(|| api.patch_status(&name, &params, &patch))
        .await
        .map_err(|source| ModelError::Api {
            what: format!("write the status of DynamoModel {}", key(model)),
            source,
        })?;
    Ok(())
}

/// An Event for a changed status, named as upstream's.
async fn report(ctx: &Context, model: &DynamoModel, status: &DynamoModelStatus) {
    let Some(ready) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == CONDITION_ENDPOINTS_READY)
    else {
        return;
    };
    let (type_, reason) = match ready.reason.as_str() {
        REASON_NO_ENDPOINTS => (EventType::Warning, "NoEndpointsFound"),
        REASON_NOT_READY => (EventType::Warning, "PartialEndpointFailure"),
        REASON_ENDPOINTS_DISCOVERED => (EventType::Normal, "EndpointsDiscovered"),
        _ => (EventType::Normal, "EndpointsReady"),
    };
    publish(ctx, model, type_, reason, &ready.message).await;
}

async fn publish(ctx: &Context, model: &DynamoModel, type_: EventType, reason: &str, note: &str) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx
        .config
        .recorder
        .publish(&event, &model.object_ref(&()))
        .await
    {
        tracing::warn!(error = %e, "cannot publish event");
    }
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}
