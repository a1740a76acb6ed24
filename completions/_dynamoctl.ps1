
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'dynamoctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'dynamoctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'dynamoctl' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print the Kubernetes objects a graph becomes, without a cluster')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what apply (and the operator) would change, or diff two revisions offline')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Convert graphs between nvidia.com/v1alpha1 and nvidia.com/v1beta1, offline and losslessly')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Server-side apply graphs and other objects, in dependency order')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Restart a graph''s pods (a fresh `spec.restart.id`), one service at a time or all at once')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show graphs and their health; with a name, one graph in detail')
            [CompletionResult]::new('leases', 'leases', [CompletionResultType]::ParameterValue, 'List namespace-scope markers and leader-election Leases: who holds them, until when')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install or upgrade the operator (CRDs, RBAC, Deployment); `--dry-run` prints it')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove the operator; the CRDs (and every graph) only with `--crds`')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the cluster, the CRDs, the operator and its Leases, linkerd style')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a long-lived process: `dynamoctl run controller` is the operator')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamoctl;render' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'More files to render, kubectl style (`-f -` reads standard input)')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'More files to render, kubectl style (`-f -` reads standard input)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--operator-config', '--operator-config', [CompletionResultType]::ParameterName, 'The operator configuration to render with (upstream''s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('--workloads-only', '--workloads-only', [CompletionResultType]::ParameterName, 'Print only core Kubernetes objects (no DynamoGraphDeployment or DynamoComponentDeployment), for clusters without the CRDs or an operator')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;diff' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'More files, kubectl style')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'More files, kubectl style')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Compare with this old revision instead of a cluster: renders both and diffs the rendered objects, no cluster needed')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--operator-config', '--operator-config', [CompletionResultType]::ParameterName, 'The operator configuration to render with (upstream''s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields other managers own in the dry run, as `apply --force-conflicts` would')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;convert' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Files to convert (`-f -` reads standard input); multi-document YAML or JSON')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'Files to convert (`-f -` reads standard input); multi-document YAML or JSON')
            [CompletionResult]::new('--output-version', '--output-version', [CompletionResultType]::ParameterName, 'The version to convert the Dynamo objects to')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;apply' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'More files, kubectl style')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'More files, kubectl style')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Dry run: `server` asks the API server, `client` only validates locally')
            [CompletionResult]::new('--field-manager', '--field-manager', [CompletionResultType]::ParameterName, 'Field manager of the applied documents')
            [CompletionResult]::new('--applyset', '--applyset', [CompletionResultType]::ParameterName, 'Record the applied documents as the ApplySet whose parent is this Secret (KEP-3659, compatible with `kubectl apply --applyset`)')
            [CompletionResult]::new('--operator-config', '--operator-config', [CompletionResultType]::ParameterName, 'The operator configuration to render with (upstream''s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long `--wait` waits')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields that other field managers own')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'Delete members of the --applyset that are no longer in the files')
            [CompletionResult]::new('--reconcile', '--reconcile', [CompletionResultType]::ParameterName, 'Also run the controller''s reconcile for each graph from here (children and status), for clusters where no operator runs')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait until every graph reports Ready for its current generation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;restart' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('--strategy', '--strategy', [CompletionResultType]::ParameterName, 'Restart strategy (default: Sequential)')
            [CompletionResult]::new('--order', '--order', [CompletionResultType]::ParameterName, 'Service names in restart order, comma-separated, every service once (Sequential only)')
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'The restart id (default: the current time); a new id is what requests a restart')
            [CompletionResult]::new('--operator-config', '--operator-config', [CompletionResultType]::ParameterName, 'The operator configuration to render with (upstream''s OperatorConfiguration file, as `run controller --config` reads it). diff and apply default to the configuration of the operator that manages the namespace; render to the defaults')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long `--wait` waits')
            [CompletionResult]::new('--reconcile', '--reconcile', [CompletionResultType]::ParameterName, 'Also run the controller''s reconcile from here, for clusters where no operator runs')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait until the restart completed and the graph is Ready again')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;status' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Only graphs with these labels, e.g. `team=a,tier!=dev`')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Only graphs with these labels, e.g. `team=a,tier!=dev`')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Graphs of every namespace')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Graphs of every namespace')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Keep watching and print again on every change')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Keep watching and print again on every change')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;leases' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Leases of every namespace')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Leases of every namespace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;install' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'The operator image, REPO[:TAG] (default: this version''s published image)')
            [CompletionResult]::new('--operator-version', '--operator-version', [CompletionResultType]::ParameterName, 'Version the operator reports in its marker (default: the image''s tag)')
            [CompletionResult]::new('--lease-duration', '--lease-duration', [CompletionResultType]::ParameterName, 'How long the namespace-scope marker stays valid without renewal [default: 30s, or the --operator-config file''s namespace.scope.leaseDuration]')
            [CompletionResult]::new('--lease-renew-interval', '--lease-renew-interval', [CompletionResultType]::ParameterName, 'How often the marker is renewed, shorter than --lease-duration [default: 10s, or the file''s namespace.scope.leaseRenewInterval]')
            [CompletionResult]::new('--operator-config', '--operator-config', [CompletionResultType]::ParameterName, 'A base operator configuration (upstream''s OperatorConfiguration file); the flags below override its keys')
            [CompletionResult]::new('--etcd-address', '--etcd-address', [CompletionResultType]::ParameterName, 'etcd the runtime uses (infrastructure.etcdAddress): host:port or http(s)://host:port')
            [CompletionResult]::new('--nats-address', '--nats-address', [CompletionResultType]::ParameterName, 'NATS the runtime uses (infrastructure.natsAddress): nats://host:port')
            [CompletionResult]::new('--etcd-storage', '--etcd-storage', [CompletionResultType]::ParameterName, 'Keep the bundled etcd''s data in a PersistentVolumeClaim of this size (default: an emptyDir, lost when the pod moves)')
            [CompletionResult]::new('--nats-storage', '--nats-storage', [CompletionResultType]::ParameterName, 'Keep the bundled NATS''s JetStream data in a PersistentVolumeClaim of this size')
            [CompletionResult]::new('--model-express-url', '--model-express-url', [CompletionResultType]::ParameterName, 'Model Express server (infrastructure.modelExpressURL): an http(s):// URL')
            [CompletionResult]::new('--prometheus-endpoint', '--prometheus-endpoint', [CompletionResultType]::ParameterName, 'Prometheus the planner reads (infrastructure.prometheusEndpoint): an http(s):// URL')
            [CompletionResult]::new('--discovery-backend', '--discovery-backend', [CompletionResultType]::ParameterName, 'The runtime''s default discovery backend (discovery.backend): kubernetes or etcd')
            [CompletionResult]::new('--ingress-class', '--ingress-class', [CompletionResultType]::ParameterName, 'Give frontends a default Ingress of this IngressClass (ingress.controllerClassName)')
            [CompletionResult]::new('--ingress-tls-secret', '--ingress-tls-secret', [CompletionResultType]::ParameterName, 'TLS Secret of the default Ingress (ingress.controllerTLSSecretName)')
            [CompletionResult]::new('--ingress-host-suffix', '--ingress-host-suffix', [CompletionResultType]::ParameterName, 'Serve frontends at <graph>.<SUFFIX> (ingress.hostSuffix)')
            [CompletionResult]::new('--pod-monitors-release', '--pod-monitors-release', [CompletionResultType]::ParameterName, 'The PodMonitors'' `release` label, which Prometheus'' default selector matches [default: dynamo-platform]')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Operator replicas; one leader reconciles')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of --dry-run')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of --dry-run')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long --wait waits')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The operator''s namespace [default: dynamo-system]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The operator''s namespace [default: dynamo-system]')
            [CompletionResult]::new('--namespace-scoped', '--namespace-scoped', [CompletionResultType]::ParameterName, 'Manage only the operator''s namespace: a Role instead of a ClusterRole, and the namespace-scope marker Lease so a cluster-wide operator leaves the namespace alone')
            [CompletionResult]::new('--with-etcd', '--with-etcd', [CompletionResultType]::ParameterName, 'Install a single-node etcd (StatefulSet + Services) and point the configuration at it unless --etcd-address is given')
            [CompletionResult]::new('--with-nats', '--with-nats', [CompletionResultType]::ParameterName, 'Install a single-node NATS with JetStream and point the configuration at it unless --nats-address is given')
            [CompletionResult]::new('--pod-monitors', '--pod-monitors', [CompletionResultType]::ParameterName, 'Install PodMonitors for frontends, workers and planners (needs the Prometheus Operator''s monitoring.coreos.com API)')
            [CompletionResult]::new('--skip-crds', '--skip-crds', [CompletionResultType]::ParameterName, 'Do not install or upgrade the CRDs (they must exist): lets a namespace admin install')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the objects instead of applying them; contacts no cluster')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait until the operator Deployment is available')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;uninstall' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The operator''s namespace [default: dynamo-system]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The operator''s namespace [default: dynamo-system]')
            [CompletionResult]::new('--crds', '--crds', [CompletionResultType]::ParameterName, 'Also delete the CRDs, and with them every graph in the cluster')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'With --crds: delete them even while graphs exist')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;check' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The operator''s namespace [default: dynamo-system]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The operator''s namespace [default: dynamo-system]')
            [CompletionResult]::new('--pre', '--pre', [CompletionResultType]::ParameterName, 'Before an install: check that `dynamoctl install` can proceed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;run' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('controller', 'controller', [CompletionResultType]::ParameterValue, 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamoctl;run;controller' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The operator configuration file (upstream''s OperatorConfiguration): infrastructure addresses, ingress defaults, discovery backend, namespace mode, leases, servers, logging')
            [CompletionResult]::new('--restricted-namespace', '--restricted-namespace', [CompletionResultType]::ParameterName, 'Namespace-scoped mode: manage only this namespace and hold its marker Lease [config: namespace.restricted]')
            [CompletionResult]::new('--namespace-scope-lease-duration', '--namespace-scope-lease-duration', [CompletionResultType]::ParameterName, 'How long the namespace-scope marker stays valid without renewal [default: 30s] [config: namespace.scope.leaseDuration]')
            [CompletionResult]::new('--namespace-scope-lease-renew-interval', '--namespace-scope-lease-renew-interval', [CompletionResultType]::ParameterName, 'How often the marker is renewed [default: 10s] [config: namespace.scope.leaseRenewInterval]')
            [CompletionResult]::new('--operator-version', '--operator-version', [CompletionResultType]::ParameterName, 'Version recorded in the marker''s holderIdentity')
            [CompletionResult]::new('--leader-elect', '--leader-elect', [CompletionResultType]::ParameterName, 'Elect a leader among replicas; only the leader reconciles. On by default, so a second replica (or a rollout''s surge pod) is safe; `--leader-elect=false` turns it off [config: leaderElection.enabled]')
            [CompletionResult]::new('--leader-election-id', '--leader-election-id', [CompletionResultType]::ParameterName, 'Name of the leader-election Lease [default: dynamo-operator-leader] [config: leaderElection.id]')
            [CompletionResult]::new('--leader-election-namespace', '--leader-election-namespace', [CompletionResultType]::ParameterName, 'Namespace of the leader-election Lease (default: the restricted namespace, else $POD_NAMESPACE, else kube-system) [config: leaderElection.namespace]')
            [CompletionResult]::new('--leader-election-lease-duration', '--leader-election-lease-duration', [CompletionResultType]::ParameterName, 'How long a leader''s claim lasts without renewal (client-go''s LeaseDuration)')
            [CompletionResult]::new('--leader-election-renew-deadline', '--leader-election-renew-deadline', [CompletionResultType]::ParameterName, 'How long a leader keeps leading without a successful renewal (RenewDeadline)')
            [CompletionResult]::new('--leader-election-retry-period', '--leader-election-retry-period', [CompletionResultType]::ParameterName, 'How often the leader renews and standbys look (RetryPeriod)')
            [CompletionResult]::new('--health-probe-bind-address', '--health-probe-bind-address', [CompletionResultType]::ParameterName, 'Address of /healthz and /readyz [default: :8081] [config: server.healthProbe]')
            [CompletionResult]::new('--metrics-bind-address', '--metrics-bind-address', [CompletionResultType]::ParameterName, 'Address of /metrics [default: :8080] [config: server.metrics]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format [default: text] [config: logging.format]')
            [CompletionResult]::new('--resync', '--resync', [CompletionResultType]::ParameterName, 'Reconcile everything again after this long without a change')
            [CompletionResult]::new('--webhook-service-name', '--webhook-service-name', [CompletionResultType]::ParameterName, 'Serve the v1alpha1 <-> v1beta1 conversion webhook behind this Service (in the operator''s namespace) and point the CRDs at it; cluster-wide operators only [config: server.webhook.serviceName]')
            [CompletionResult]::new('--webhook-url', '--webhook-url', [CompletionResultType]::ParameterName, 'Run outside the cluster: serve the conversion webhook and point the CRDs at this https URL (e.g. https://127.0.0.1:9443/convert) instead of a Service')
            [CompletionResult]::new('--webhook-bind-address', '--webhook-bind-address', [CompletionResultType]::ParameterName, 'Address of the conversion webhook''s HTTPS server [default: :9443] [config: server.webhook.host, server.webhook.port]')
            [CompletionResult]::new('--webhook-secret-name', '--webhook-secret-name', [CompletionResultType]::ParameterName, 'Secret (in the operator''s namespace) holding the webhook''s CA and certificate [default: dynamo-operator-webhook-cert] [config: server.webhook.secretName]')
            [CompletionResult]::new('--webhook-only', '--webhook-only', [CompletionResultType]::ParameterName, 'Serve only the conversion webhook (certificates, CRD CA bundle, storage migration): no controller, no leader election')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;run;help' {
            [CompletionResult]::new('controller', 'controller', [CompletionResultType]::ParameterValue, 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamoctl;run;help;controller' {
            break
        }
        'dynamoctl;run;help;help' {
            break
        }
        'dynamoctl;completion' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;generate' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Repository root to write into')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of objects that name none (default: the context''s namespace)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for a single API request, e.g. 30s or 1m (0: no limit)')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Only check that the files are up to date (exit 1 when not)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamoctl;help' {
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print the Kubernetes objects a graph becomes, without a cluster')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what apply (and the operator) would change, or diff two revisions offline')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Convert graphs between nvidia.com/v1alpha1 and nvidia.com/v1beta1, offline and losslessly')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Server-side apply graphs and other objects, in dependency order')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Restart a graph''s pods (a fresh `spec.restart.id`), one service at a time or all at once')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show graphs and their health; with a name, one graph in detail')
            [CompletionResult]::new('leases', 'leases', [CompletionResultType]::ParameterValue, 'List namespace-scope markers and leader-election Leases: who holds them, until when')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install or upgrade the operator (CRDs, RBAC, Deployment); `--dry-run` prints it')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove the operator; the CRDs (and every graph) only with `--crds`')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the cluster, the CRDs, the operator and its Leases, linkerd style')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a long-lived process: `dynamoctl run controller` is the operator')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamoctl;help;render' {
            break
        }
        'dynamoctl;help;diff' {
            break
        }
        'dynamoctl;help;convert' {
            break
        }
        'dynamoctl;help;apply' {
            break
        }
        'dynamoctl;help;restart' {
            break
        }
        'dynamoctl;help;status' {
            break
        }
        'dynamoctl;help;leases' {
            break
        }
        'dynamoctl;help;install' {
            break
        }
        'dynamoctl;help;uninstall' {
            break
        }
        'dynamoctl;help;check' {
            break
        }
        'dynamoctl;help;run' {
            [CompletionResult]::new('controller', 'controller', [CompletionResultType]::ParameterValue, 'The operator: reconciles DynamoGraphDeployments and DynamoComponentDeployments')
            break
        }
        'dynamoctl;help;run;controller' {
            break
        }
        'dynamoctl;help;completion' {
            break
        }
        'dynamoctl;help;generate' {
            break
        }
        'dynamoctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
