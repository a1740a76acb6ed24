package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigFor builds a self-contained kubeconfig (certificates embedded) for one identity.
func kubeconfigFor(server string, caPEM, certPEM, keyPEM []byte, user string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["control-plane"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts["control-plane"] = &clientcmdapi.Context{Cluster: "control-plane", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = "control-plane"
	return cfg
}

// writeKubeconfig writes a kubeconfig for the certificate pair NAME.crt/NAME.key of the PKI.
// It writes a temporary file and renames it, so a reader never sees half a file.
func writeKubeconfig(path, server string, p *pki, name, user string) error {
	ca, err := os.ReadFile(p.path("ca.crt"))
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(p.path(name + ".crt"))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.path(name + ".key"))
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := clientcmd.WriteToFile(*kubeconfigFor(server, ca, cert, key, user), tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// runKubeconfig prints a kubeconfig for a user (and groups) authenticated by a client
// certificate signed by the running control plane's CA: how tests make least-privileged users.
func runKubeconfig(args []string) int {
	fs := flag.NewFlagSet("kubeconfig", flag.ContinueOnError)
	user := fs.String("user", "", "user name (the certificate's CN)")
	var groups repeated
	fs.Var(&groups, "group", "group (the certificate's O); repeat for several")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *user == "" || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: control-plane kubeconfig --user NAME [--group GROUP]... DIR")
		return 2
	}
	dir := fs.Arg(0)
	admin, err := clientcmd.LoadFromFile(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeconfig: no running control plane in %s: %v\n", dir, err)
		return 1
	}
	p, err := loadPKI(filepath.Join(dir, "pki"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeconfig: %v\n", err)
		return 1
	}
	certPEM, keyPEM, err := p.sign(*user, groups, false, nil, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeconfig: sign: %v\n", err)
		return 1
	}
	caPEM, _ := os.ReadFile(p.path("ca.crt"))
	out, err := clientcmd.Write(*kubeconfigFor(admin.Clusters["control-plane"].Server, caPEM, certPEM, keyPEM, *user))
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeconfig: %v\n", err)
		return 1
	}
	os.Stdout.Write(out)
	return 0
}
