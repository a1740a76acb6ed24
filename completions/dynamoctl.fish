# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dynamoctl_global_optspecs
    string join \n h/help V/version
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

complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -s h -l help -d 'Print help'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "render" -d 'Print the Kubernetes objects a graph becomes, without a cluster'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "generate" -d 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)'
complete -c dynamoctl -n "__fish_dynamoctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s f -l filename -d 'More files to render, kubectl style (`-f -` reads standard input)' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s n -l namespace -d 'Namespace of objects that name none' -r
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s o -l output -d 'Output format' -r -f -a "yaml\t'Multi-document YAML'
json\t'A JSON `v1/List`'"
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -l workloads-only -d 'Print only core Kubernetes objects (no DynamoGraphDeployment or DynamoComponentDeployment), for clusters without the CRDs or an operator'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand render" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand completion" -s h -l help -d 'Print help'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand completion" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -l dir -d 'Repository root to write into' -r -F
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -l check -d 'Only check that the files are up to date (exit 1 when not)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -s h -l help -d 'Print help'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand generate" -s V -l version -d 'Print version'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render completion generate help" -f -a "render" -d 'Print the Kubernetes objects a graph becomes, without a cluster'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render completion generate help" -f -a "completion" -d 'Print a shell completion script'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render completion generate help" -f -a "generate" -d 'Regenerate or check the generated files (CRDs, completions, man pages, API reference)'
complete -c dynamoctl -n "__fish_dynamoctl_using_subcommand help; and not __fish_seen_subcommand_from render completion generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
