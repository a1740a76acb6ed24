//! Watch streams: newline-delimited `{"type": ..., "object": ...}` events over
//! a chunked HTTP response, resuming from a resourceVersion, with bookmarks,
//! `sendInitialEvents`, 410 Gone for compacted versions, and selector-aware
//! ADDED/DELETED when an object enters or leaves the selection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::engine::{Ctx, ListOpts, as_version};
use crate::server::Shared;
use crate::store::{Event, EventType};

/// What a watch request asked for.
#[derive(Debug, Clone)]
pub struct WatchParams {
    /// Resource and namespace.
    pub ctx: Ctx,
    /// Selectors.
    pub list: ListOpts,
    /// `resourceVersion` (None or `0`: start with the current state).
    pub resource_version: Option<String>,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// `sendInitialEvents=true`.
    pub send_initial: bool,
    /// `timeoutSeconds`.
    pub timeout: Duration,
    /// Send each object as a one-row Table (`kubectl get -w`), with this `includeObject`.
    pub table: Option<String>,
    /// The simulated clock's offset, for Table ages.
    pub clock_offset: Duration,
}

/// The event's object as this watch presents it (version, shared storage, Table).
fn present(p: &WatchParams, obj: &Value) -> Value {
    let o = as_version(obj, &p.ctx.rt, &p.ctx.version);
    match &p.table {
        Some(include) => crate::table::table(
            &p.ctx.rt,
            &p.ctx.version,
            &[o],
            json!({}),
            include,
            &crate::util::rfc3339_at(p.clock_offset),
        ),
        None => o,
    }
}

fn line(etype: &str, object: &Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({ "type": etype, "object": object })).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// The ERROR event the server sends when a watch starts from a compacted version.
pub fn expired_event(requested: &str, oldest: u64) -> Bytes {
    line(
        "ERROR",
        &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": format!("too old resource version: {requested} ({oldest})"), "reason": "Expired", "code": 410 }),
    )
}

fn matches(p: &WatchParams, obj: &Value) -> bool {
    if p.ctx.rt.storage.is_some() {
        // Selectors see the object as this API presents it.
        let o = as_version(obj, &p.ctx.rt, &p.ctx.version);
        return p.list.label.matches(&o) && p.list.field.matches(&o);
    }
    p.list.label.matches(obj) && p.list.field.matches(obj)
}

fn in_scope(p: &WatchParams, ev: &Event) -> bool {
    ev.group == p.ctx.rt.storage_key().0
        && ev.plural == p.ctx.rt.storage_key().1
        && p.ctx
            .namespace
            .as_deref()
            .is_none_or(|ns| !p.ctx.rt.namespaced || ev.namespace == ns)
}

/// Whether `ev` removes the CRD serving this watch's kind.
fn crd_of_watch_deleted(p: &WatchParams, ev: &Event) -> bool {
    p.ctx.rt.custom
        && ev.etype == EventType::Deleted
        && crate::engine::crd_target(&ev.group, &ev.plural, &ev.object)
            == Some((p.ctx.rt.group.clone(), p.ctx.rt.plural.clone()))
}

/// Translates a store event into what this watch should see, if anything.
fn translate(p: &WatchParams, ev: &Event) -> Option<Bytes> {
    if !in_scope(p, ev) {
        return None;
    }
    let now = matches(p, &ev.object);
    let before = ev.prev.as_ref().is_some_and(|o| matches(p, o));
    let t = match ev.etype {
        EventType::Added if now => "ADDED",
        EventType::Modified if now && before => "MODIFIED",
        EventType::Modified if now => "ADDED",
        EventType::Modified if before => "DELETED",
        EventType::Deleted if now || before => "DELETED",
        _ => return None,
    };
    if p.ctx.version == p.ctx.rt.preferred_version()
        && p.ctx.rt.storage.is_none()
        && p.table.is_none()
    {
        // Fast path: splice the shared encoding into the event envelope.
        let obj = ev.encoded_object();
        let mut b = Vec::with_capacity(obj.len() + 32);
        b.extend_from_slice(b"{\"type\":\"");
        b.extend_from_slice(t.as_bytes());
        b.extend_from_slice(b"\",\"object\":");
        b.extend_from_slice(obj);
        b.extend_from_slice(b"}\n");
        return Some(Bytes::from(b));
    }
    Some(line(t, &present(p, &ev.object)))
}

fn bookmark(p: &WatchParams, rv: u64, initial_end: bool) -> Bytes {
    let mut md = json!({ "resourceVersion": rv.to_string() });
    if initial_end {
        md["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    line(
        "BOOKMARK",
        &json!({ "kind": p.ctx.rt.kind, "apiVersion": p.ctx.rt.api_version(&p.ctx.version), "metadata": md }),
    )
}

/// Initial lines, the resourceVersion they bring the watch to, and the live feed.
type Setup = (Vec<Bytes>, u64, broadcast::Receiver<Arc<Event>>);

/// Starts a watch: returns a channel of encoded events, fed by a spawned task.
pub fn start(shared: Arc<Shared>, p: WatchParams) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let faults = shared.faults.config();
    let requested = p
        .resource_version
        .clone()
        .filter(|rv| !rv.is_empty() && rv != "0");
    let from_now = requested.is_none() || p.send_initial;

    // Set up under the lock, so no event falls between the snapshot and the subscription.
    let setup: Result<Setup, Bytes> = {
        let st = shared.state();
        if faults.expire_watches && requested.is_some() {
            Err(expired_event(
                requested.as_deref().unwrap_or_default(),
                st.store.current_rv(),
            ))
        } else if from_now {
            let ns = if p.ctx.rt.namespaced {
                p.ctx.namespace.as_deref()
            } else {
                None
            };
            let initial: Vec<Bytes> = st
                .store
                .iter(p.ctx.rt.storage_key().0, p.ctx.rt.storage_key().1, ns, None)
                .filter(|(_, o)| matches(&p, o))
                .map(|(_, o)| line("ADDED", &present(&p, o)))
                .collect();
            Ok((initial, st.store.current_rv(), st.store.subscribe()))
        } else {
            let rv_str = requested.clone().unwrap_or_default();
            match rv_str.parse::<u64>() {
                Err(_) => Err(line(
                    "ERROR",
                    &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": format!("invalid resource version {rv_str:?}"), "reason": "BadRequest", "code": 400 }),
                )),
                Ok(rv) => match st.store.subscribe_from(rv) {
                    Err(()) => Err(expired_event(&rv_str, st.store.compacted_rv() + 1)),
                    Ok((past, rx)) => {
                        let evs: Vec<Bytes> =
                            past.iter().filter_map(|e| translate(&p, e)).collect();
                        let last = past.last().map(|e| e.rv).unwrap_or(rv);
                        Ok((evs, last, rx))
                    }
                },
            }
        }
    };

    tokio::spawn(async move {
        let (initial, mut last_rv, mut events) = match setup {
            Ok(s) => s,
            Err(err_line) => {
                let _ = tx.send(err_line).await;
                return;
            }
        };
        for b in initial {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        if p.send_initial && p.bookmarks && tx.send(bookmark(&p, last_rv, true)).await.is_err() {
            return;
        }
        let deadline = tokio::time::Instant::now()
            + faults
                .watch_cut_after
                .map_or(p.timeout, |c| c.min(p.timeout));
        let mut shutdown = shared.shutdown.clone();
        let mut tick = tokio::time::interval(shared.bookmark_interval);
        tick.tick().await;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        // Drain whatever else is already queued into one chunk: one
                        // write per burst instead of one per event keeps hundreds of
                        // watches cheap under write load.
                        let mut batch: Vec<u8> = Vec::new();
                        // Under a burst (more already queued), wait a moment so the
                        // burst goes out as one chunk; a lone event goes at once.
                        if events.is_empty() {
                            tokio::task::yield_now().await;
                        } else {
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                        let mut next = Some(ev);
                        let mut kind_gone = false;
                        while let Some(ev) = next.take() {
                            if ev.rv > last_rv {
                                last_rv = ev.rv;
                                if let Some(b) = translate(&p, &ev) {
                                    batch.extend_from_slice(&b);
                                }
                                if crd_of_watch_deleted(&p, &ev) {
                                    kind_gone = true;
                                    break;
                                }
                            }
                            if batch.len() < 256 * 1024 {
                                match events.try_recv() {
                                    Ok(e) => next = Some(e),
                                    Err(broadcast::error::TryRecvError::Empty) => {}
                                    Err(_) => return,
                                }
                            }
                        }
                        if !batch.is_empty() && tx.send(Bytes::from(batch)).await.is_err() {
                            return;
                        }
                        if kind_gone {
                            // Upstream ends the watches of a kind whose CRD is gone.
                            return;
                        }
                    }
                    // Too slow a consumer: end the stream; the client re-watches from its last version.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick(), if p.bookmarks => {
                    // Only claim "up to date" when nothing is queued for us: sends happen under the
                    // state lock, so an empty queue while holding it means we have seen everything.
                    let rv = {
                        let st = shared.state();
                        if events.is_empty() { Some(st.store.current_rv()) } else { None }
                    };
                    if let Some(rv) = rv {
                        last_rv = last_rv.max(rv);
                        if tx.send(bookmark(&p, last_rv, false)).await.is_err() {
                            return;
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    rx
}
