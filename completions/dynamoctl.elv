
use builtin;
use str;

set edit:completion:arg-completer[dynamoctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'dynamoctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'dynamoctl'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand render 'Print the Kubernetes objects a graph becomes, without a cluster'
            cand diff 'Show what apply (and the operator) would change, or diff two revisions offline'
            cand convert 'Convert graphs between nvidia.com/v1alpha1 and nvidia.com/v1beta1, offline and losslessly'
            cand apply 'Server-side apply graphs and other objects, in dependency order'
            cand restart 'Restart a graph''s pods (a fresh `spec.restart.id`), one service at a time or all at once'
            cand status 'Show graphs and their health; with a name, one graph in detail'
            cand leases 'List namespace-scope markers and leader-election Leases: who holds them, until when'
            cand install 'Install or upgrade the operator (CRDs, RBAC, Deployment); `--dry-run` prints it'
            cand uninstall 'Remove the operator; the CRDs (and every graph) only with `--crds`'
            cand check 'Check the cluster, the CRDs, the operator and its Leases, linkerd style'
            cand run 'Run a long-lived process: `dynamoctl run controller` is the operator'
            cand completion 'Print a shell completion script'
            cand generate 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamoctl;render'= {
            cand -f 'More files to render, kubectl style (`-f -` reads standard input)'
            cand --filename 'More files to render, kubectl style (`-f -` reads standard input)'
            cand -n 'Namespace of objects that name none'
            cand --namespace 'Namespace of objects that name none'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --operator-config 'The operator configuration to render with (upstream''s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand --workloads-only 'Print only core Kubernetes objects (no DynamoGraphDeployment or DynamoComponentDeployment), for clusters without the CRDs or an operator'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;diff'= {
            cand -f 'More files, kubectl style'
            cand --filename 'More files, kubectl style'
            cand --from 'Compare with this old revision instead of a cluster: renders both and diffs the rendered objects, no cluster needed'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --operator-config 'The operator configuration to render with (upstream''s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults'
            cand --force-conflicts 'Take over fields other managers own in the dry run, as `apply --force-conflicts` would'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;convert'= {
            cand -f 'Files to convert (`-f -` reads standard input); multi-document YAML or JSON'
            cand --filename 'Files to convert (`-f -` reads standard input); multi-document YAML or JSON'
            cand --output-version 'The version to convert the Dynamo objects to'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;apply'= {
            cand -f 'More files, kubectl style'
            cand --filename 'More files, kubectl style'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand --dry-run 'Dry run: `server` asks the API server, `client` only validates locally'
            cand --field-manager 'Field manager of the applied documents'
            cand --applyset 'Record the applied documents as the ApplySet whose parent is this Secret (KEP-3659, compatible with `kubectl apply --applyset`)'
            cand --operator-config 'The operator configuration to render with (upstream''s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults'
            cand --timeout 'How long `--wait` waits'
            cand --force-conflicts 'Take over fields that other field managers own'
            cand --prune 'Delete members of the --applyset that are no longer in the files'
            cand --reconcile 'Also run the controller''s reconcile for each graph from here (children and status), for clusters where no operator runs'
            cand --wait 'Wait until every graph reports Ready for its current generation'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;restart'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand --strategy 'Restart strategy (default: Sequential)'
            cand --order 'Service names in restart order, comma-separated, every service once (Sequential only)'
            cand --id 'The restart id (default: the current time); a new id is what requests a restart'
            cand --operator-config 'The operator configuration to render with (upstream''s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults'
            cand --timeout 'How long `--wait` waits'
            cand --reconcile 'Also run the controller''s reconcile from here, for clusters where no operator runs'
            cand --wait 'Wait until the restart completed and the graph is Ready again'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;status'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -l 'Only graphs with these labels, e.g. `team=a,tier!=dev`'
            cand --selector 'Only graphs with these labels, e.g. `team=a,tier!=dev`'
            cand -o 'Output format'
            cand --output 'Output format'
            cand -A 'Graphs of every namespace'
            cand --all-namespaces 'Graphs of every namespace'
            cand -w 'Keep watching and print again on every change'
            cand --watch 'Keep watching and print again on every change'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;leases'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand -A 'Leases of every namespace'
            cand --all-namespaces 'Leases of every namespace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;install'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand --image 'The operator image, REPO[:TAG] (default: this version''s published image)'
            cand --operator-version 'Version the operator reports in its marker (default: the image''s tag)'
            cand --lease-duration 'How long the namespace-scope marker stays valid without renewal [default: 30s, or the --operator-config file''s namespace.scope.leaseDuration]'
            cand --lease-renew-interval 'How often the marker is renewed, shorter than --lease-duration [default: 10s, or the file''s namespace.scope.leaseRenewInterval]'
            cand --operator-config 'A base operator configuration (upstream''s OperatorConfiguration file); the flags below override its keys'
            cand --etcd-address 'etcd the runtime uses (infrastructure.etcdAddress): host:port or http(s)://host:port'
            cand --nats-address 'NATS the runtime uses (infrastructure.natsAddress): nats://host:port'
            cand --etcd-storage 'Keep the bundled etcd''s data in a PersistentVolumeClaim of this size (default: an emptyDir, lost when the pod moves)'
            cand --nats-storage 'Keep the bundled NATS''s JetStream data in a PersistentVolumeClaim of this size'
            cand --model-express-url 'Model Express server (infrastructure.modelExpressURL): an http(s):// URL'
            cand --prometheus-endpoint 'Prometheus the planner reads (infrastructure.prometheusEndpoint): an http(s):// URL'
            cand --discovery-backend 'The runtime''s default discovery backend (discovery.backend): kubernetes or etcd'
            cand --ingress-class 'Give frontends a default Ingress of this IngressClass (ingress.controllerClassName)'
            cand --ingress-tls-secret 'TLS Secret of the default Ingress (ingress.controllerTLSSecretName)'
            cand --ingress-host-suffix 'Serve frontends at <graph>.<SUFFIX> (ingress.hostSuffix)'
            cand --pod-monitors-release 'The PodMonitors'' `release` label, which Prometheus'' default selector matches [default: dynamo-platform]'
            cand --replicas 'Operator replicas; one leader reconciles'
            cand -o 'Output format of --dry-run'
            cand --output 'Output format of --dry-run'
            cand --timeout 'How long --wait waits'
            cand -n 'The operator''s namespace [default: dynamo-system]'
            cand --namespace 'The operator''s namespace [default: dynamo-system]'
            cand --namespace-scoped 'Manage only the operator''s namespace: a Role instead of a ClusterRole, and the namespace-scope marker Lease so a cluster-wide operator leaves the namespace alone'
            cand --with-etcd 'Install a single-node etcd (StatefulSet + Services) and point the configuration at it unless --etcd-address is given'
            cand --with-nats 'Install a single-node NATS with JetStream and point the configuration at it unless --nats-address is given'
            cand --pod-monitors 'Install PodMonitors for frontends, workers and planners (needs the Prometheus Operator''s monitoring.coreos.com API)'
            cand --skip-crds 'Do not install or upgrade the CRDs (they must exist): lets a namespace admin install'
            cand --dry-run 'Print the objects instead of applying them; contacts no cluster'
            cand --wait 'Wait until the operator Deployment is available'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;uninstall'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -n 'The operator''s namespace [default: dynamo-system]'
            cand --namespace 'The operator''s namespace [default: dynamo-system]'
            cand --crds 'Also delete the CRDs, and with them every graph in the cluster'
            cand --force 'With --crds: delete them even while graphs exist'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;check'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand -n 'The operator''s namespace [default: dynamo-system]'
            cand --namespace 'The operator''s namespace [default: dynamo-system]'
            cand --pre 'Before an install: check that `dynamoctl install` can proceed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;run'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand controller 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamoctl;run;controller'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand --config 'The operator configuration file (upstream''s OperatorConfiguration): infrastructure addresses, ingress defaults, discovery backend, namespace mode, leases, servers, logging'
            cand --restricted-namespace 'Namespace-scoped mode: manage only this namespace and hold its marker Lease [config: namespace.restricted]'
            cand --namespace-scope-lease-duration 'How long the namespace-scope marker stays valid without renewal [default: 30s] [config: namespace.scope.leaseDuration]'
            cand --namespace-scope-lease-renew-interval 'How often the marker is renewed [default: 10s] [config: namespace.scope.leaseRenewInterval]'
            cand --operator-version 'Version recorded in the marker''s holderIdentity'
            cand --leader-elect 'Elect a leader among replicas; only the leader reconciles. On by default, so a second replica (or a rollout''s surge pod) is safe; `--leader-elect=false` turns it off [config: leaderElection.enabled]'
            cand --leader-election-id 'Name of the leader-election Lease [default: dynamo-operator-leader] [config: leaderElection.id]'
            cand --leader-election-namespace 'Namespace of the leader-election Lease (default: the restricted namespace, else $POD_NAMESPACE, else kube-system) [config: leaderElection.namespace]'
            cand --leader-election-lease-duration 'How long a leader''s claim lasts without renewal (client-go''s LeaseDuration)'
            cand --leader-election-renew-deadline 'How long a leader keeps leading without a successful renewal (RenewDeadline)'
            cand --leader-election-retry-period 'How often the leader renews and standbys look (RetryPeriod)'
            cand --health-probe-bind-address 'Address of /healthz and /readyz [default: :8081] [config: server.healthProbe]'
            cand --metrics-bind-address 'Address of /metrics [default: :8080] [config: server.metrics]'
            cand --log-format 'Log format [default: text] [config: logging.format]'
            cand --resync 'Reconcile everything again after this long without a change'
            cand --webhook-service-name 'Serve the v1alpha1 <-> v1beta1 conversion webhook behind this Service (in the operator''s namespace) and point the CRDs at it; cluster-wide operators only [config: server.webhook.serviceName]'
            cand --webhook-url 'Run outside the cluster: serve the conversion webhook and point the CRDs at this https URL (e.g. https://127.0.0.1:9443/convert) instead of a Service'
            cand --webhook-bind-address 'Address of the conversion webhook''s HTTPS server [default: :9443] [config: server.webhook.host, server.webhook.port]'
            cand --webhook-secret-name 'Secret (in the operator''s namespace) holding the webhook''s CA and certificate [default: dynamo-operator-webhook-cert] [config: server.webhook.secretName]'
            cand --webhook-only 'Serve only the conversion webhook (certificates, CRD CA bundle, storage migration): no controller, no leader election'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;run;help'= {
            cand controller 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamoctl;run;help;controller'= {
        }
        &'dynamoctl;run;help;help'= {
        }
        &'dynamoctl;completion'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;generate'= {
            cand --dir 'Repository root to write into'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'The kubeconfig context to use'
            cand -n 'Namespace of objects that name none (default: the context''s namespace)'
            cand --namespace 'Namespace of objects that name none (default: the context''s namespace)'
            cand --request-timeout 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)'
            cand --check 'Only check that the files are up to date (exit 1 when not)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;help'= {
            cand render 'Print the Kubernetes objects a graph becomes, without a cluster'
            cand diff 'Show what apply (and the operator) would change, or diff two revisions offline'
            cand convert 'Convert graphs between nvidia.com/v1alpha1 and nvidia.com/v1beta1, offline and losslessly'
            cand apply 'Server-side apply graphs and other objects, in dependency order'
            cand restart 'Restart a graph''s pods (a fresh `spec.restart.id`), one service at a time or all at once'
            cand status 'Show graphs and their health; with a name, one graph in detail'
            cand leases 'List namespace-scope markers and leader-election Leases: who holds them, until when'
            cand install 'Install or upgrade the operator (CRDs, RBAC, Deployment); `--dry-run` prints it'
            cand uninstall 'Remove the operator; the CRDs (and every graph) only with `--crds`'
            cand check 'Check the cluster, the CRDs, the operator and its Leases, linkerd style'
            cand run 'Run a long-lived process: `dynamoctl run controller` is the operator'
            cand completion 'Print a shell completion script'
            cand generate 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamoctl;help;render'= {
        }
        &'dynamoctl;help;diff'= {
        }
        &'dynamoctl;help;convert'= {
        }
        &'dynamoctl;help;apply'= {
        }
        &'dynamoctl;help;restart'= {
        }
        &'dynamoctl;help;status'= {
        }
        &'dynamoctl;help;leases'= {
        }
        &'dynamoctl;help;install'= {
        }
        &'dynamoctl;help;uninstall'= {
        }
        &'dynamoctl;help;check'= {
        }
        &'dynamoctl;help;run'= {
            cand controller 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments'
        }
        &'dynamoctl;help;run;controller'= {
        }
        &'dynamoctl;help;completion'= {
        }
        &'dynamoctl;help;generate'= {
        }
        &'dynamoctl;help;help'= {
        }
    ]
    $completions[$command]
}
