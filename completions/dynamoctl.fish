# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dynamoctl_global_optspecs
    string join \n kubeconfig= context= n/namespace= request-timeout= h/help V/version
end

function __fish_dynamoctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_dynamoctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_dynamoctl_using_subcommand
    set -l cmd (__fish_dynamoctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -s h -l help -d 'Print help'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "render" -d 'Print the Kubernetes objects a graph becomes, without a cluster'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "diff" -d 'Show what apply (and the operator) would change, or diff two revisions offline'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "convert" -d 'Convert graphs between nvidia.com/v1alpha1 and nvidia.com/v1beta1, offline and losslessly'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "apply" -d 'Server-side apply graphs and other objects, in dependency order'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "restart" -d 'Restart a graph\'s pods (a fresh `spec.restart.id`), one service at a time or all at once'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "status" -d 'Show graphs and their health; with a name, one graph in detail'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "leases" -d 'List namespace-scope markers and leader-election Leases: who holds them, until when'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "install" -d 'Install or upgrade the operator (CRDs, RBAC, Deployment); `--dry-run` prints it'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "uninstall" -d 'Remove the operator; the CRDs (and every graph) only with `--crds`'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "check" -d 'Check the cluster, the CRDs, the operator and its Leases, linkerd style'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "run" -d 'Run a long-lived process: `dynamoctl run controller` is the operator'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "generate" -d 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s f -l filename -d 'More files to render, kubectl style (`-f -` reads standard input)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s n -l namespace -d 'Namespace of objects that name none' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s o -l output -d 'Output format' -r -f -a "yaml\t'Multi-document YAML'
json\t'A JSON `v1/List`'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -l operator-config -d 'The operator configuration to render with (upstream\'s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -l workloads-only -d 'Print only core Kubernetes objects (no DynamoGraphDeployment or DynamoComponentDeployment), for clusters without the CRDs or an operator'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -s f -l filename -d 'More files, kubectl style' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -l from -d 'Compare with this old revision instead of a cluster: renders both and diffs the rendered objects, no cluster needed' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -s o -l output -d 'Output format' -r -f -a "text\t'Summary table, then unified diffs'
json\t'The plan as JSON'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -l operator-config -d 'The operator configuration to render with (upstream\'s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -l force-conflicts -d 'Take over fields other managers own in the dry run, as `apply --force-conflicts` would'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand diff" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -s f -l filename -d 'Files to convert (`-f -` reads standard input); multi-document YAML or JSON' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -l output-version -d 'The version to convert the Dynamo objects to' -r -f -a "nvidia.com/v1beta1\t''
nvidia.com/v1alpha1\t''"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -s o -l output -d 'Output format' -r -f -a "yaml\t'Multi-document YAML'
json\t'A JSON `v1/List`'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand convert" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -s f -l filename -d 'More files, kubectl style' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l dry-run -d 'Dry run: `server` asks the API server, `client` only validates locally' -r -f -a "none\t'Apply for real'
server\t'Send the requests with `dryRun=All`: the server validates and computes, stores nothing'
client\t'Validate and render locally; print what would be applied; contact no cluster'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l field-manager -d 'Field manager of the applied documents' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l applyset -d 'Record the applied documents as the ApplySet whose parent is this Secret (KEP-3659, compatible with `kubectl apply --applyset`)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l operator-config -d 'The operator configuration to render with (upstream\'s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l timeout -d 'How long `--wait` waits' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l force-conflicts -d 'Take over fields that other field managers own'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l prune -d 'Delete members of the --applyset that are no longer in the files'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l reconcile -d 'Also run the controller\'s reconcile for each graph from here (children and status), for clusters where no operator runs'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -l wait -d 'Wait until every graph reports Ready for its current generation'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand apply" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l strategy -d 'Restart strategy (default: Sequential)' -r -f -a "sequential\t'One service at a time, in `--order` (default: names sorted); the next starts once the previous is available again'
parallel\t'Every service at once'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l order -d 'Service names in restart order, comma-separated, every service once (Sequential only)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l id -d 'The restart id (default: the current time); a new id is what requests a restart' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l operator-config -d 'The operator configuration to render with (upstream\'s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l timeout -d 'How long `--wait` waits' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l reconcile -d 'Also run the controller\'s reconcile from here, for clusters where no operator runs'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -l wait -d 'Wait until the restart completed and the graph is Ready again'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand restart" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -s l -l selector -d 'Only graphs with these labels, e.g. `team=a,tier!=dev`' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -s o -l output -d 'Output format' -r -f -a "table\t'Columns'
wide\t'More columns'
json\t'The objects as JSON'
yaml\t'The objects as YAML'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -s A -l all-namespaces -d 'Graphs of every namespace'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -s w -l watch -d 'Keep watching and print again on every change'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand status" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand leases" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand leases" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand leases" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand leases" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand leases" -s o -l output -d 'Output format' -r -f -a "table\t'Columns'
json\t'One JSON object per Lease, in a list'
yaml\t'The same as YAML'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand leases" -s A -l all-namespaces -d 'Leases of every namespace'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand leases" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand leases" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l image -d 'The operator image, REPO[:TAG] (default: this version\'s published image)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l operator-version -d 'Version the operator reports in its marker (default: the image\'s tag)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l lease-duration -d 'How long the namespace-scope marker stays valid without renewal [default: 30s, or the --operator-config file\'s namespace.scope.leaseDuration]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l lease-renew-interval -d 'How often the marker is renewed, shorter than --lease-duration [default: 10s, or the file\'s namespace.scope.leaseRenewInterval]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l operator-config -d 'A base operator configuration (upstream\'s OperatorConfiguration file); the flags below override its keys' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l etcd-address -d 'etcd the runtime uses (infrastructure.etcdAddress): host:port or http(s)://host:port' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l nats-address -d 'NATS the runtime uses (infrastructure.natsAddress): nats://host:port' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l etcd-storage -d 'Keep the bundled etcd\'s data in a PersistentVolumeClaim of this size (default: an emptyDir, lost when the pod moves)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l nats-storage -d 'Keep the bundled NATS\'s JetStream data in a PersistentVolumeClaim of this size' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l model-express-url -d 'Model Express server (infrastructure.modelExpressURL): an http(s):// URL' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l prometheus-endpoint -d 'Prometheus the planner reads (infrastructure.prometheusEndpoint): an http(s):// URL' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l discovery-backend -d 'The runtime\'s default discovery backend (discovery.backend): kubernetes or etcd' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l ingress-class -d 'Give frontends a default Ingress of this IngressClass (ingress.controllerClassName)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l ingress-tls-secret -d 'TLS Secret of the default Ingress (ingress.controllerTLSSecretName)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l ingress-host-suffix -d 'Serve frontends at <graph>.<SUFFIX> (ingress.hostSuffix)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l pod-monitors-release -d 'The PodMonitors\' `release` label, which Prometheus\' default selector matches [default: dynamo-platform]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l replicas -d 'Operator replicas; one leader reconciles' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -s o -l output -d 'Output format of --dry-run' -r -f -a "yaml\t'Multi-document YAML'
json\t'A JSON `v1/List`'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l timeout -d 'How long --wait waits' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -s n -l namespace -d 'The operator\'s namespace [default: dynamo-system]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l namespace-scoped -d 'Manage only the operator\'s namespace: a Role instead of a ClusterRole, and the namespace-scope marker Lease so a cluster-wide operator leaves the namespace alone'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l with-etcd -d 'Install a single-node etcd (StatefulSet + Services) and point the configuration at it unless --etcd-address is given'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l with-nats -d 'Install a single-node NATS with JetStream and point the configuration at it unless --nats-address is given'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l pod-monitors -d 'Install PodMonitors for frontends, workers and planners (needs the Prometheus Operator\'s monitoring.coreos.com API)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l skip-crds -d 'Do not install or upgrade the CRDs (they must exist): lets a namespace admin install'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l dry-run -d 'Print the objects instead of applying them; contacts no cluster'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -l wait -d 'Wait until the operator Deployment is available'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand install" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand uninstall" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand uninstall" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand uninstall" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand uninstall" -s n -l namespace -d 'The operator\'s namespace [default: dynamo-system]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand uninstall" -l crds -d 'Also delete the CRDs, and with them every graph in the cluster'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand uninstall" -l force -d 'With --crds: delete them even while graphs exist'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand uninstall" -s h -l help -d 'Print help'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand uninstall" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand check" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand check" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand check" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand check" -s o -l output -d 'Output format' -r -f -a "table\t'Grouped lines for people'
json\t'linkerd\'s JSON: `{success, categories: [{categoryName, checks: [...]}]}`'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand check" -s n -l namespace -d 'The operator\'s namespace [default: dynamo-system]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand check" -l pre -d 'Before an install: check that `dynamoctl install` can proceed'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand check" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and not __fish_seen_subcommand_from controller help" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and not __fish_seen_subcommand_from controller help" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and not __fish_seen_subcommand_from controller help" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and not __fish_seen_subcommand_from controller help" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and not __fish_seen_subcommand_from controller help" -s h -l help -d 'Print help'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and not __fish_seen_subcommand_from controller help" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and not __fish_seen_subcommand_from controller help" -f -a "controller" -d 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and not __fish_seen_subcommand_from controller help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l config -d 'The operator configuration file (upstream\'s OperatorConfiguration): infrastructure addresses, ingress defaults, discovery backend, namespace mode, leases, servers, logging' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l restricted-namespace -d 'Namespace-scoped mode: manage only this namespace and hold its marker Lease [config: namespace.restricted]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l namespace-scope-lease-duration -d 'How long the namespace-scope marker stays valid without renewal [default: 30s] [config: namespace.scope.leaseDuration]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l namespace-scope-lease-renew-interval -d 'How often the marker is renewed [default: 10s] [config: namespace.scope.leaseRenewInterval]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l operator-version -d 'Version recorded in the marker\'s holderIdentity' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l leader-elect -d 'Elect a leader among replicas; only the leader reconciles. On by default, so a second replica (or a rollout\'s surge pod) is safe; `--leader-elect=false` turns it off [config: leaderElection.enabled]' -r -f -a "true\t''
false\t''"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l leader-election-id -d 'Name of the leader-election Lease [default: dynamo-operator-leader] [config: leaderElection.id]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l leader-election-namespace -d 'Namespace of the leader-election Lease (default: the restricted namespace, else $POD_NAMESPACE, else kube-system) [config: leaderElection.namespace]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l leader-election-lease-duration -d 'How long a leader\'s claim lasts without renewal (client-go\'s LeaseDuration)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l leader-election-renew-deadline -d 'How long a leader keeps leading without a successful renewal (RenewDeadline)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l leader-election-retry-period -d 'How often the leader renews and standbys look (RetryPeriod)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l health-probe-bind-address -d 'Address of /healthz and /readyz [default: :8081] [config: server.healthProbe]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l metrics-bind-address -d 'Address of /metrics [default: :8080] [config: server.metrics]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l log-format -d 'Log format [default: text] [config: logging.format]' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line, for log collectors'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l resync -d 'Reconcile everything again after this long without a change' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l webhook-service-name -d 'Serve the v1alpha1 <-> v1beta1 conversion webhook behind this Service (in the operator\'s namespace) and point the CRDs at it; cluster-wide operators only [config: server.webhook.serviceName]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l webhook-url -d 'Run outside the cluster: serve the conversion webhook and point the CRDs at this https URL (e.g. https://127.0.0.1:9443/convert) instead of a Service' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l webhook-bind-address -d 'Address of the conversion webhook\'s HTTPS server [default: :9443] [config: server.webhook.host, server.webhook.port]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l webhook-secret-name -d 'Secret (in the operator\'s namespace) holding the webhook\'s CA and certificate [default: dynamo-operator-webhook-cert] [config: server.webhook.secretName]' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -l webhook-only -d 'Serve only the conversion webhook (certificates, CRD CA bundle, storage migration): no controller, no leader election'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from controller" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from help" -f -a "controller" -d 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand run; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand completion" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand completion" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand completion" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand completion" -s h -l help -d 'Print help'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand completion" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -l dir -d 'Repository root to write into' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -l context -d 'The kubeconfig context to use' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -s n -l namespace -d 'Namespace of objects that name none (default: the context\'s namespace)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -l check -d 'Only check that the files are up to date (exit 1 when not)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -s h -l help -d 'Print help'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "render" -d 'Print the Kubernetes objects a graph becomes, without a cluster'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "diff" -d 'Show what apply (and the operator) would change, or diff two revisions offline'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "convert" -d 'Convert graphs between nvidia.com/v1alpha1 and nvidia.com/v1beta1, offline and losslessly'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "apply" -d 'Server-side apply graphs and other objects, in dependency order'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "restart" -d 'Restart a graph\'s pods (a fresh `spec.restart.id`), one service at a time or all at once'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "status" -d 'Show graphs and their health; with a name, one graph in detail'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "leases" -d 'List namespace-scope markers and leader-election Leases: who holds them, until when'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "install" -d 'Install or upgrade the operator (CRDs, RBAC, Deployment); `--dry-run` prints it'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "uninstall" -d 'Remove the operator; the CRDs (and every graph) only with `--crds`'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "check" -d 'Check the cluster, the CRDs, the operator and its Leases, linkerd style'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "run" -d 'Run a long-lived process: `dynamoctl run controller` is the operator'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "completion" -d 'Print a shell completion script'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "generate" -d 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render diff convert apply restart status leases install uninstall check run completion generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and __fish_seen_subcommand_from run" -f -a "controller" -d 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments'
