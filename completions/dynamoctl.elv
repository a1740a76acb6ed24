
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
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand render 'Print the Kubernetes objects a graph becomes, without a cluster'
            cand diff 'Show what apply (and the operator) would change, or diff two revisions offline'
            cand apply 'Server-side apply graphs and other objects, in dependency order'
            cand status 'Show graphs and their health; with a name, one graph in detail'
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
            cand --force-conflicts 'Take over fields other managers own in the dry run, as `apply --force-conflicts` would'
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
        &'dynamoctl;completion'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;generate'= {
            cand --dir 'Repository root to write into'
            cand --check 'Only check that the files are up to date (exit 1 when not)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamoctl;help'= {
            cand render 'Print the Kubernetes objects a graph becomes, without a cluster'
            cand diff 'Show what apply (and the operator) would change, or diff two revisions offline'
            cand apply 'Server-side apply graphs and other objects, in dependency order'
            cand status 'Show graphs and their health; with a name, one graph in detail'
            cand completion 'Print a shell completion script'
            cand generate 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamoctl;help;render'= {
        }
        &'dynamoctl;help;diff'= {
        }
        &'dynamoctl;help;apply'= {
        }
        &'dynamoctl;help;status'= {
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
