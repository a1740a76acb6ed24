//! The operator's watches of the kinds it writes and reads: each fills a cache
//! (`controller::cache`) and triggers the controller of the object's owner. One task drives
//! every child watch, so the caches fill whatever the controllers are busy with, and routes
//! each event to the graph or component controller its controller reference names.

use futures::stream::{BoxStream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, TypeMeta};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::cache::{self, Cache, Caches, Events, Keep, Recent};
use super::compact::Compact;
use crate::api::consts::{LABEL_MANAGED_BY, LABEL_PART_OF, MANAGED_BY};
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};

/// A graph as the operator keeps it.
pub(super) type Graph = Compact<DynamoGraphDeployment>;
/// A component as the operator keeps it.
pub(super) type Component = Compact<DynamoComponentDeployment>;
use crate::render::RenderOptions;

/// Whom a child's event concerns.
enum Trigger {
    Graph(ObjectRef<Graph>),
    Component(ObjectRef<Component>),
}

/// The caches and the streams that feed the controllers.
pub(super) struct Watches {
    /// Every cache, for the reconcile.
    pub caches: Caches,
    /// The components' watch (its cache is in `caches`): the component controller's input.
    pub components: (Cache<Component>, Events<Component>),
    /// Graphs whose children changed.
    pub graph_triggers: BoxStream<'static, ObjectRef<Graph>>,
    /// Components whose children changed.
    pub component_triggers: BoxStream<'static, ObjectRef<Component>>,
    /// The task driving the child watches; aborted when dropped.
    pub driver: Driver,
}

/// Aborts the child watches' task when dropped.
pub(super) struct Driver(tokio::task::JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A child watch turned into triggers.
type Triggers = BoxStream<'static, Vec<Trigger>>;

fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Triggers for the owner (graph or component) named by an object's controller reference.
fn owner_of<K: Resource>(obj: &K) -> Vec<Trigger> {
    let ns = obj.namespace().unwrap_or_default();
    obj.owner_references()
        .iter()
        .filter(|r| r.controller == Some(true) && r.api_version == crate::api::consts::API_VERSION)
        .filter_map(|r| match r.kind.as_str() {
            "DynamoGraphDeployment" => Some(Trigger::Graph(ObjectRef::new(&r.name).within(&ns))),
            "DynamoComponentDeployment" => {
                Some(Trigger::Component(ObjectRef::new(&r.name).within(&ns)))
            }
            _ => None,
        })
        .collect()
}

/// The graph a Grove PodClique or PodCliqueScalingGroup belongs to: the PodCliqueSet that
/// owns it (directly, or through a scaling group) is named after the graph, and Grove labels
/// every object it makes with that name.
fn grove_graph_of(obj: &DynamicObject) -> Vec<Trigger> {
    let Some(ns) = obj.namespace() else {
        return Vec::new();
    };
    obj.owner_references()
        .iter()
        .find(|r| r.kind == "PodCliqueSet")
        .map(|r| r.name.clone())
        .or_else(|| obj.labels().get(LABEL_PART_OF).cloned())
        .map(|graph| vec![Trigger::Graph(ObjectRef::new(&graph).within(&ns))])
        .unwrap_or_default()
}

fn triggers<K>(events: Events<K>, route: fn(&K) -> Vec<Trigger>) -> Triggers
where
    K: Resource + Send + 'static,
{
    events
        .touched_objects()
        .filter_map(move |o| futures::future::ready(o.ok().map(|o| route(&o))))
        .boxed()
}

/// What the API resource of a foreign kind is, for `render`'s multinode and Istio kinds.
pub(super) fn foreign_resource(kind: &str) -> ApiResource {
    use crate::render::orchestrator::{grove, lws};
    let (api_version, plural) = match kind {
        "PodCliqueSet" => (grove::API_VERSION, "podcliquesets"),
        "VirtualService" => (
            crate::render::VIRTUAL_SERVICE_API_VERSION,
            "virtualservices",
        ),
        "PodClique" => (grove::API_VERSION, "podcliques"),
        "PodCliqueScalingGroup" => (grove::API_VERSION, "podcliquescalinggroups"),
        "PodGroup" => (lws::PODGROUP_API_VERSION, "podgroups"),
        _ => (lws::LWS_API_VERSION, "leaderworkersets"),
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

impl Watches {
    /// Starts the watches for the operator's scope (`namespace`: namespace-scoped mode) and
    /// the kinds its configuration renders.
    pub fn start(client: &Client, namespace: Option<&str>, render: &RenderOptions) -> Watches {
        let recent = Recent::default();
        let all = || watcher::Config::default().any_semantic();
        // Only the operator's own children: the cluster's other Deployments and Services stay
        // out of memory. A child stripped of the label leaves the cache and is applied again.
        let ours = || all().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY}"));

        let components = cache::watch(
            scoped::<Component>(client, namespace),
            all(),
            (),
            Keep::Typed,
            &recent,
            |_| {},
        );
        let mut caches = Caches::new(components.0.clone(), recent.clone());
        let mut children: Vec<Triggers> = Vec::new();

        fn typed<K>(
            caches: &mut Caches,
            children: &mut Vec<Triggers>,
            api: Api<K>,
            config: watcher::Config,
            recent: &Recent,
            strip: fn(&mut K),
        ) where
            K: Resource<DynamicType = ()>
                + Clone
                + Serialize
                + DeserializeOwned
                + std::fmt::Debug
                + Send
                + Sync
                + 'static,
        {
            let (cache, events) = cache::watch(api, config, (), Keep::Json, recent, strip);
            caches.add(&K::api_version(&()), &K::kind(&()), cache);
            children.push(triggers(events, owner_of::<K>));
        }
        // The status of a Service or an Ingress is its load balancer's: never read.
        typed::<Deployment>(
            &mut caches,
            &mut children,
            scoped(client, namespace),
            ours(),
            &recent,
            |_| {},
        );
        typed::<Service>(
            &mut caches,
            &mut children,
            scoped(client, namespace),
            ours(),
            &recent,
            |s| s.status = None,
        );
        typed::<Ingress>(
            &mut caches,
            &mut children,
            scoped(client, namespace),
            ours(),
            &recent,
            |i| i.status = None,
        );
        typed::<ServiceAccount>(
            &mut caches,
            &mut children,
            scoped(client, namespace),
            ours(),
            &recent,
            |_| {},
        );
        typed::<Role>(
            &mut caches,
            &mut children,
            scoped(client, namespace),
            ours(),
            &recent,
            |_| {},
        );
        typed::<RoleBinding>(
            &mut caches,
            &mut children,
            scoped(client, namespace),
            ours(),
            &recent,
            |_| {},
        );

        // Foreign kinds are watched only where the configuration says they are installed:
        // watching an unserved kind fails forever.
        let mut dynamic = |kind: &str,
                           config: watcher::Config,
                           route: fn(&DynamicObject) -> Vec<Trigger>| {
            let ar = foreign_resource(kind);
            let api: Api<DynamicObject> = match namespace {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
                None => Api::all_with(client.clone(), &ar),
            };
            let types = TypeMeta {
                api_version: ar.api_version.clone(),
                kind: ar.kind.clone(),
            };
            // List items carry no kind; the reconcile reads it.
            let (cache, events) = cache::watch(api, config, ar, Keep::Json, &recent, move |o| {
                o.types = Some(types.clone());
            });
            caches.add_dynamic(cache);
            children.push(triggers(events, route));
        };
        let o = &render.orchestrators;
        if o.grove {
            dynamic("PodCliqueSet", ours(), owner_of::<DynamicObject>);
            // Made by Grove, not labelled by us.
            dynamic("PodClique", all(), grove_graph_of);
            dynamic("PodCliqueScalingGroup", all(), grove_graph_of);
        }
        if o.lws {
            dynamic("LeaderWorkerSet", ours(), owner_of::<DynamicObject>);
            dynamic("PodGroup", ours(), owner_of::<DynamicObject>);
        }
        // As upstream: VirtualServices are watched only when the configuration names an Istio
        // gateway, which says Istio is installed.
        if render.virtual_service_gateway.is_some() {
            dynamic("VirtualService", ours(), owner_of::<DynamicObject>);
        }

        let (graph_tx, graph_rx) = mpsc::unbounded_channel();
        let (component_tx, component_rx) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut all = futures::stream::select_all(children);
            while let Some(batch) = all.next().await {
                for t in batch {
                    // A closed receiver: its controller stopped; nothing left to trigger.
                    let _ = match t {
                        Trigger::Graph(r) => graph_tx.send(r).map_err(|_| ()),
                        Trigger::Component(r) => component_tx.send(r).map_err(|_| ()),
                    };
                }
            }
        });
        Watches {
            caches,
            components,
            graph_triggers: receiver_stream(graph_rx),
            component_triggers: receiver_stream(component_rx),
            driver: Driver(driver),
        }
    }
}

fn receiver_stream<T: Send + 'static>(rx: mpsc::UnboundedReceiver<T>) -> BoxStream<'static, T> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) }).boxed()
}
