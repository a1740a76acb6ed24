
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
            cand completion 'Print a shell completion script'
            cand generate 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamoctl;help;render'= {
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
