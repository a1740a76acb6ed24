// Command control-plane runs a real Kubernetes control plane for dynamoctl's tests, built from
// upstream's own packages: embedded etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler, plus a small node agent standing in for kubelets.
//
// Every component runs in its own process (a subcommand of this one binary) because upstream's
// commands install process-wide signal handlers and global flag state; `up` is the supervisor
// that generates certificates, starts the components and the node agent, and stops them all.
//
//	control-plane up [--nodes N] DIR               start everything; DIR/kubeconfig is the admin's
//	control-plane kubeconfig --user U [--group G]... DIR   print a kubeconfig for a client-cert user
//	control-plane etcd|kube-apiserver|kube-controller-manager|kube-scheduler ARGS...   one component
package main

import (
	"fmt"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format, as upstream's mains register it
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream's mains register them
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as upstream's mains register it
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"

	_ "time/tzdata" // CronJob time zones, as upstream's kube-controller-manager embeds them
)

const usage = `usage:
  control-plane up [--nodes N] DIR
  control-plane down DIR
  control-plane kubeconfig --user NAME [--group GROUP]... DIR
  control-plane etcd --data-dir D --client-port P --peer-port P
  control-plane kube-apiserver|kube-controller-manager|kube-scheduler [upstream flags]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	sub, args := os.Args[1], os.Args[2:]
	switch sub {
	case "up":
		os.Exit(runUp(args))
	case "down":
		os.Exit(runDown(args))
	case "kubeconfig":
		os.Exit(runKubeconfig(args))
	case "etcd":
		os.Exit(runEtcd(args))
	case "kube-apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-controller-manager":
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-scheduler":
		cmd := scheduler.NewSchedulerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "control-plane: unknown subcommand %q\n%s", sub, usage)
		os.Exit(2)
	}
}
