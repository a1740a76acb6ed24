//! HTTP/1.1 serving and request routing: URL → (verb, resource, namespace,
//! name, subresource), query/body decoding, fault injection, auditing, and
//! the JSON responses (including Status errors) clients expect.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::audit::{AuditLog, AuditRecord};
use crate::discovery;
use crate::engine::{Ctx, DeleteOpts, ListOpts, State};
use crate::faults::Faults;
use crate::kubelet::KubeletControl;
use crate::openapi;
use crate::patch::PatchKind;
use crate::proto;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{self, ApiError};
use crate::table;
use crate::util::{now_micro, percent_decode};
use crate::watch::{self, WatchParams};

/// Response body type: whole JSON documents or watch streams.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Largest request body accepted (the real server's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// State shared by the server, watch tasks, kubelet and the `Simulator` handle.
#[derive(Debug)]
pub struct Shared {
    /// The cluster state, behind one lock (see `engine`).
    pub(crate) state: Mutex<State>,
    /// Audit log.
    pub(crate) audit: AuditLog,
    /// Fault configuration.
    pub(crate) faults: Faults,
    /// Simulated kubelet switches.
    pub(crate) kubelet: KubeletControl,
    /// Listening address.
    pub(crate) addr: SocketAddr,
    /// How often watches with `allowWatchBookmarks` get a BOOKMARK.
    pub(crate) bookmark_interval: Duration,
    /// Flips to true on stop.
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Shared {
    /// Locks the state (a panic elsewhere must not wedge the server: ignore poisoning).
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Accepts connections until shutdown.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => continue,
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut conn_shutdown = shared.shutdown.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move {
                    // A bug must cost one request a 500, not the connection (or the test run).
                    let resp = std::panic::AssertUnwindSafe(handle(shared, req))
                        .catch_unwind()
                        .await;
                    Ok::<_, Infallible>(resp.unwrap_or_else(|_| {
                        error_response(&status::internal(
                            "kube-sim panicked while handling the request",
                        ))
                    }))
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {},
                _ = conn_shutdown.changed() => {},
            }
        });
    }
}

fn json_response(code: u16, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(bytes)).boxed_unsync())
        .expect("static response parts are valid")
}

fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(e.code, &e.body);
    if let Some(s) = e.retry_after
        && let Ok(v) = http::HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// What a request addresses.
#[derive(Debug, Clone, Default)]
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    resource: String,
    name: Option<String>,
    subresource: Option<String>,
}

enum Route {
    Version,
    Health,
    CoreVersions,
    Groups,
    Group(String),
    ResourceList(String, String),
    OpenApiV3Root,
    OpenApiV3(Vec<String>),
    OpenApiOther,
    Resource(Target),
    NotFound,
}

fn route(path: &str) -> Route {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["openapi", "v3"] => Route::OpenApiV3Root,
        ["openapi", "v3", rest @ ..] => {
            Route::OpenApiV3(rest.iter().map(|s| s.to_string()).collect())
        }
        ["openapi", ..] => Route::OpenApiOther,
        ["api"] => Route::CoreVersions,
        ["api", "v1"] => Route::ResourceList(String::new(), "v1".into()),
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::ResourceList(g.to_string(), v.to_string()),
        ["api", "v1", rest @ ..] => resource_route("", "v1", rest),
        ["apis", g, v, rest @ ..] => resource_route(g, v, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let mut t = Target {
        group: group.into(),
        version: version.into(),
        ..Default::default()
    };
    let own = |x: Option<&&str>| x.map(|s| s.to_string());
    match rest {
        // The Namespace object's own subresources look like a namespaced path.
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            t.resource = "namespaces".into();
            t.name = Some(name.to_string());
            t.subresource = Some(sub.to_string());
        }
        ["namespaces", ns, res, tail @ ..] if tail.len() <= 2 => {
            t.namespace = Some(ns.to_string());
            t.resource = res.to_string();
            t.name = own(tail.first());
            t.subresource = own(tail.get(1));
        }
        [res, tail @ ..] if tail.len() <= 2 => {
            t.resource = res.to_string();
            t.name = own(tail.first());
            t.subresource = own(tail.get(1));
        }
        _ => return Route::NotFound,
    }
    Route::Resource(t)
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn audit_verb(method: &Method, t: &Target, q: &HashMap<String, String>) -> &'static str {
    let watch = q.get("watch").is_some_and(|v| v == "true" || v == "1");
    match (method, t.name.is_some()) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if watch => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => "get",
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query());
    let header_str = |h: header::HeaderName| {
        req.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let user_agent = header_str(header::USER_AGENT);
    let accept = header_str(header::ACCEPT);
    let content_type = header_str(header::CONTENT_TYPE);
    let r = route(&path);
    let target = match &r {
        Route::Resource(t) => t.clone(),
        _ => Target::default(),
    };
    let verb = audit_verb(&method, &target, &query);
    let dry_run_q = query.get("dryRun").cloned();
    let mut record = AuditRecord {
        ts: now_micro(),
        verb: verb.into(),
        group: target.group.clone(),
        resource: target.resource.clone(),
        subresource: target.subresource.clone().unwrap_or_default(),
        // Like upstream RequestInfo: a Namespace object's own requests carry its
        // name as their namespace.
        namespace: match (
            &target.namespace,
            target.group.is_empty() && target.resource == "namespaces",
        ) {
            (Some(ns), _) => ns.clone(),
            (None, true) => target.name.clone().unwrap_or_default(),
            (None, false) => String::new(),
        },
        name: target.name.clone().unwrap_or_default(),
        field_manager: query.get("fieldManager").cloned().unwrap_or_default(),
        user_agent: user_agent.clone(),
        dry_run: dry_run_q.as_deref() == Some("All"),
        code: 0,
    };
    let faults = shared.faults.config();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let resp = if let Some(e) = shared.faults.sample(verb, &target.resource) {
        error_response(&e)
    } else {
        let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                let e = ApiError::new(
                    413,
                    "RequestEntityTooLarge",
                    "the request body is too large",
                    None,
                );
                record.code = e.code;
                shared.audit.push(record);
                return error_response(&e);
            }
        };
        if verb.starts_with("delete")
            && serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|b| b.get("dryRun").cloned())
                .and_then(|d| d.as_array().cloned())
                .is_some_and(|a| a.iter().any(|v| v == "All"))
        {
            record.dry_run = true;
        }
        let req = Req {
            method,
            query,
            user_agent,
            accept,
            content_type,
            body,
        };
        match r {
            Route::Version => json_response(200, &discovery::version()),
            Route::Health => Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Full::new(Bytes::from_static(b"ok")).boxed_unsync())
                .expect("valid"),
            Route::OpenApiV3Root => json_response(200, &openapi::root(&shared.state().registry)),
            Route::OpenApiV3(rest) => {
                let parts: Vec<&str> = rest.iter().map(String::as_str).collect();
                match openapi::group_version(&shared.state().registry, &parts) {
                    Some(d) => json_response(200, &d),
                    None => error_response(&status::no_such_resource()),
                }
            }
            // OpenAPI v2 is not served: clients (kubectl, helm) prefer v3 and
            // a 404 is what a server without the document answers.
            Route::OpenApiOther => error_response(&status::no_such_resource()),
            Route::CoreVersions => match discovery::wants_aggregated(&req.accept) {
                Some(ct) => with_content_type(
                    json_response(
                        200,
                        &discovery::aggregated(&shared.state().registry, true, ct),
                    ),
                    ct,
                ),
                None => json_response(200, &discovery::core_versions(&shared.addr.to_string())),
            },
            Route::Groups => match discovery::wants_aggregated(&req.accept) {
                Some(ct) => with_content_type(
                    json_response(
                        200,
                        &discovery::aggregated(&shared.state().registry, false, ct),
                    ),
                    ct,
                ),
                None => json_response(200, &discovery::api_group_list(&shared.state().registry)),
            },
            Route::Group(g) => match discovery::api_group(&shared.state().registry, &g) {
                Some(d) => json_response(200, &d),
                None => error_response(&status::no_such_resource()),
            },
            Route::ResourceList(g, v) => {
                match discovery::resource_list(&shared.state().registry, &g, &v) {
                    Some(d) => json_response(200, &d),
                    None => error_response(&status::no_such_resource()),
                }
            }
            Route::NotFound => error_response(&status::no_such_resource()),
            Route::Resource(t) => match resource_request(&shared, &t, verb, &req) {
                Ok(Reply::Json(code, v)) => {
                    // A create names its object in the body (or via generateName), not the URL.
                    if record.name.is_empty()
                        && verb == "create"
                        && let Some(n) = v.pointer("/metadata/name").and_then(Value::as_str)
                    {
                        record.name = n.to_string();
                    }
                    json_response(code, &v)
                }
                Ok(Reply::Watch(p)) => {
                    let rx = watch::start(shared.clone(), *p);
                    let stream = futures::stream::unfold(rx, |mut rx| async move {
                        rx.recv()
                            .await
                            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
                    });
                    Response::builder()
                        .status(200)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(BodyExt::boxed_unsync(StreamBody::new(stream)))
                        .expect("valid")
                }
                Err(e) => error_response(&e),
            },
        }
    };
    record.code = resp.status().as_u16();
    shared.audit.push(record);
    resp
}

fn with_content_type(mut r: Response<Body>, ct: &str) -> Response<Body> {
    if let Ok(v) = http::HeaderValue::from_str(ct) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

struct Req {
    method: Method,
    query: HashMap<String, String>,
    user_agent: String,
    accept: String,
    content_type: String,
    body: Bytes,
}

enum Reply {
    Json(u16, Value),
    Watch(Box<WatchParams>),
}

fn decode_body(req: &Req, allow_yaml: bool) -> Result<Value, ApiError> {
    if req.body.is_empty() {
        return Err(status::bad_request("the body of the request was empty"));
    }
    if req.content_type.starts_with(proto::MEDIA_TYPE) {
        return proto::decode(&req.body)
            .map_err(|m| ApiError::new(415, "UnsupportedMediaType", m, Some(json!({}))));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v) => Ok(v),
        Err(e) if allow_yaml => {
            let text = std::str::from_utf8(&req.body)
                .map_err(|_| status::bad_request(format!("error decoding YAML: {e}")))?;
            serde_saphyr::from_str::<Value>(text)
                .map_err(|e| status::bad_request(format!("error decoding YAML: {e}")))
        }
        Err(e) => Err(status::bad_request(format!(
            "couldn't get version/kind; json parse error: {e}"
        ))),
    }
}

fn resource_request(
    shared: &Arc<Shared>,
    t: &Target,
    verb: &str,
    req: &Req,
) -> Result<Reply, ApiError> {
    let rt = shared
        .state()
        .registry
        .lookup(&t.group, &t.version, &t.resource)
        .ok_or_else(status::no_such_resource)?;
    if !rt.namespaced && t.namespace.is_some() {
        return Err(status::no_such_resource());
    }
    match t.subresource.as_deref() {
        None => {}
        Some("status") if rt.status => {}
        Some("scale") if rt.scale.is_some() => {}
        Some("finalize") if rt.plural == "namespaces" => {}
        Some(_) => return Err(status::no_such_resource()),
    }
    let q = &req.query;
    let dry_run = match q.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(status::bad_request(format!(
                "dryRun: Unsupported value: {other:?}: supported values: \"All\""
            )));
        }
    };
    let explicit_manager = q.get("fieldManager").cloned().filter(|m| !m.is_empty());
    if explicit_manager.as_ref().is_some_and(|m| m.len() > 128) {
        return Err(status::invalid(
            "",
            "Status",
            "",
            "fieldManager",
            "Too long: may not be more than 128 bytes",
        ));
    }
    // Like the real server: without fieldManager, the User-Agent's product token names the manager.
    let manager = explicit_manager.clone().unwrap_or_else(|| {
        match req.user_agent.split('/').next().unwrap_or_default() {
            "" => "unknown".to_string(),
            ua => ua.to_string(),
        }
    });
    let force = q.get("force").is_some_and(|v| v == "true");
    let mut ctx = Ctx {
        rt: rt.clone(),
        version: t.version.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        subresource: t.subresource.clone().filter(|s| s != "finalize"),
        dry_run,
        manager,
        force,
        field_validation: q.get("fieldValidation").cloned(),
    };
    let list_opts = || -> Result<ListOpts, ApiError> {
        Ok(ListOpts {
            label: LabelSelector::parse(
                q.get("labelSelector")
                    .map(String::as_str)
                    .unwrap_or_default(),
            )?,
            field: FieldSelector::parse(
                q.get("fieldSelector")
                    .map(String::as_str)
                    .unwrap_or_default(),
                &rt.kind,
            )?,
            limit: q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0),
            continue_token: q.get("continue").cloned().filter(|c| !c.is_empty()),
        })
    };
    let mut st = shared.state();
    let (code, v) = match verb {
        "get" => st.get(&ctx)?,
        "list" => st.list(&ctx, &list_opts()?)?,
        "watch" => {
            drop(st);
            let timeout = q
                .get("timeoutSeconds")
                .and_then(|s| s.parse::<u64>().ok())
                .map(Duration::from_secs)
                .unwrap_or(Duration::from_secs(1800));
            return Ok(Reply::Watch(Box::new(WatchParams {
                ctx,
                list: list_opts()?,
                resource_version: q.get("resourceVersion").cloned(),
                bookmarks: q.get("allowWatchBookmarks").is_some_and(|v| v == "true"),
                send_initial: q.get("sendInitialEvents").is_some_and(|v| v == "true"),
                timeout,
                table: table::wants_table(&req.accept).then(|| {
                    q.get("includeObject")
                        .cloned()
                        .unwrap_or_else(|| "Metadata".into())
                }),
                clock_offset: shared.state().clock_offset,
            })));
        }
        "create" => {
            if t.name.is_some() {
                return Err(status::method_not_allowed(
                    "the server does not allow this method on the requested resource",
                ));
            }
            st.create(&ctx, decode_body(req, false)?)?
        }
        "update" => st.update(&ctx, decode_body(req, false)?)?,
        "patch" => {
            let kind = PatchKind::from_content_type(&req.content_type)
                .ok_or_else(|| status::unsupported_media_type(&req.content_type))?;
            if kind == PatchKind::Apply && explicit_manager.is_none() {
                return Err(status::invalid(
                    "",
                    "PatchOptions",
                    "",
                    "fieldManager",
                    "Required value: is required for apply patch",
                ));
            }
            if kind != PatchKind::Apply && force {
                return Err(status::invalid(
                    "",
                    "PatchOptions",
                    "",
                    "force",
                    "Forbidden: may not be specified for non-apply patch",
                ));
            }
            st.patch(&ctx, kind, decode_body(req, kind == PatchKind::Apply)?)?
        }
        "delete" | "deletecollection" => {
            let body = if req.body.is_empty() {
                json!({})
            } else {
                decode_body(req, false)?
            };
            if body
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|v| v == "All"))
            {
                ctx.dry_run = true;
            }
            let orphan = q
                .get("orphanDependents")
                .map(|v| v == "true")
                .or_else(|| body.get("orphanDependents").and_then(Value::as_bool));
            let opts = DeleteOpts {
                propagation: q
                    .get("propagationPolicy")
                    .cloned()
                    .or_else(|| {
                        body.get("propagationPolicy")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .or_else(|| {
                        orphan.map(|o| {
                            if o {
                                "Orphan".into()
                            } else {
                                "Background".into()
                            }
                        })
                    }),
                uid: body
                    .pointer("/preconditions/uid")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                resource_version: body
                    .pointer("/preconditions/resourceVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            if verb == "delete" {
                st.delete(&ctx, &opts)?
            } else {
                st.delete_collection(&ctx, &list_opts()?, &opts)?
            }
        }
        _ => {
            return Err(status::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    let _ = &req.method;
    if matches!(verb, "get" | "list")
        && code == 200
        && ctx.subresource.is_none()
        && table::wants_table(&req.accept)
    {
        // kubectl get: server-side printing.
        let include = q
            .get("includeObject")
            .map(String::as_str)
            .unwrap_or("Metadata");
        let now = st.now();
        let v = if verb == "list" {
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let mut meta = v["metadata"].clone();
            meta.as_object_mut().map(|m| m.remove("remainingItemCount"));
            table::table(&rt, &ctx.version, &items, meta, include, &now)
        } else {
            table::table(
                &rt,
                &ctx.version,
                std::slice::from_ref(&v),
                json!({ "resourceVersion": v.pointer("/metadata/resourceVersion") }),
                include,
                &now,
            )
        };
        return Ok(Reply::Json(200, v));
    }
    Ok(Reply::Json(code, v))
}
