package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	serviceCIDR = "10.0.0.0/24"
	serviceIP   = "10.0.0.1"
	// auditPolicy logs every write (not reads: they would drown the writes tests count) at
	// Metadata level, which records the verb, the object, the user and the userAgent.
	auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
- level: None
`
)

// child is one component process.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

// supervisor owns the component processes of one control plane in dir.
type supervisor struct {
	dir      string
	self     string
	children []*child
	exited   chan *child
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s control-plane: %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, a...))
}

// start runs `self NAME ARGS...` with output in DIR/NAME.log. The child gets SIGKILL if the
// supervisor dies (Pdeathsig), so no component outlives it, however it ends.
func (s *supervisor) start(name string, args ...string) (*child, error) {
	logFile, err := os.OpenFile(filepath.Join(s.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.self, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &child{name: name, cmd: cmd, done: make(chan error, 1)}
	s.children = append(s.children, c)
	go func() {
		err := cmd.Wait()
		logFile.Close()
		c.done <- err
		close(c.done)
		s.exited <- c
	}()
	logf("started %s (pid %d, log %s)", name, cmd.Process.Pid, logFile.Name())
	return c, nil
}

// stop ends the components newest first (the API server before etcd), politely then firmly.
func (s *supervisor) stop() {
	for i := len(s.children) - 1; i >= 0; i-- {
		c := s.children[i]
		if c.cmd.ProcessState != nil {
			continue
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freePorts(n int) ([]int, error) {
	// Hold all listeners until every port is chosen, so no two are the same.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// runUp is the supervisor: it prints READY once the control plane works, then runs until
// SIGTERM/SIGINT, `down`, its parent exiting, or a component dying.
func runUp(args []string) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	nodes := fs.Int("nodes", 2, "number of simulated Nodes")
	smoke := fs.Bool("smoke", true, "roll out a Deployment in a smoke namespace before READY")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *nodes < 1 {
		fmt.Fprintln(os.Stderr, "usage: control-plane up [--nodes N] [--smoke=false] DIR")
		return 2
	}
	dir, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(os.Stderr, "up: %v\n", err)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "up: %v\n", err)
		return 1
	}
	parent := os.Getppid()
	s := &supervisor{dir: dir, self: self, exited: make(chan *child, 8)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		select {
		case <-sig:
		case <-ctx.Done():
		}
		cancel()
	}()
	go watchParent(ctx, parent, cancel)

	defer s.stop()
	if err := s.bringUp(ctx, *nodes, *smoke); err != nil {
		logf("not started: %v", err)
		return 1
	}
	fmt.Println("READY")
	logf("ready: export KUBECONFIG=%s", filepath.Join(dir, "kubeconfig"))

	select {
	case <-ctx.Done():
		logf("stopping")
		_ = os.Remove(filepath.Join(dir, "supervisor.pid"))
		return 0
	case c := <-s.exited:
		logf("%s exited: %v (see %s.log); stopping everything", c.name, c.cmd.ProcessState, filepath.Join(dir, c.name))
		return 1
	}
}

// watchParent stops the supervisor when the process that started it goes away (it is then
// re-parented), so a killed test run or shell leaves nothing behind.
func watchParent(ctx context.Context, parent int, cancel func()) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				logf("parent %d exited", parent)
				cancel()
				return
			}
		}
	}
}

func (s *supervisor) bringUp(ctx context.Context, nodes int, smoke bool) error {
	// A fresh cluster every time: old state, certificates and logs go.
	for _, stale := range []string{"etcd", "pki", "kubeconfig", "audit.log", "kcm", "scheduler", "apiserver"} {
		if err := os.RemoveAll(filepath.Join(s.dir, stale)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.dir, "supervisor.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	p, err := newPKI(filepath.Join(s.dir, "pki"))
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	policy := filepath.Join(s.dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	etcd, err := s.start("etcd", "--data-dir", filepath.Join(s.dir, "etcd"),
		"--client-port", strconv.Itoa(etcdClient), "--peer-port", strconv.Itoa(etcdPeer))
	if err != nil {
		return err
	}
	if err := waitFor(ctx, etcd, 60*time.Second, "etcd health", func() error {
		return httpOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/health", etcdClient))
	}); err != nil {
		return err
	}

	pp := p.path
	api, err := s.start("kube-apiserver",
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort),
		// Loopback is not a routable advertise address, so the `kubernetes` Service's endpoints
		// are not reconciled (nothing in the tests dials it).
		"--advertise-address", "127.0.0.1",
		"--endpoint-reconciler-type", "none",
		"--cert-dir", filepath.Join(s.dir, "apiserver"),
		"--tls-cert-file", pp("apiserver.crt"), "--tls-private-key-file", pp("apiserver.key"),
		"--client-ca-file", pp("ca.crt"),
		"--kubelet-client-certificate", pp("apiserver-kubelet-client.crt"),
		"--kubelet-client-key", pp("apiserver-kubelet-client.key"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", pp("sa.pub"),
		"--service-account-signing-key-file", pp("sa.key"),
		"--service-cluster-ip-range", serviceCIDR,
		"--authorization-mode", "Node,RBAC",
		"--allow-privileged",
		"--audit-policy-file", policy,
		"--audit-log-path", filepath.Join(s.dir, "audit.log"),
		"--profiling=false",
		"--v", "1",
	)
	if err != nil {
		return err
	}
	adminCfg, err := restConfig(server, p, "admin")
	if err != nil {
		return err
	}
	adminHTTP, err := rest.HTTPClientFor(adminCfg)
	if err != nil {
		return err
	}
	// Authenticated: an anonymous /readyz can succeed before authentication is wired.
	if err := waitFor(ctx, api, 120*time.Second, "kube-apiserver /readyz", func() error {
		return httpOK(adminHTTP, server+"/readyz")
	}); err != nil {
		return err
	}

	kcmKubeconfig := filepath.Join(s.dir, "kube-controller-manager.kubeconfig")
	schedKubeconfig := filepath.Join(s.dir, "kube-scheduler.kubeconfig")
	if err := writeKubeconfig(kcmKubeconfig, server, p, "kube-controller-manager", "system:kube-controller-manager"); err != nil {
		return err
	}
	if err := writeKubeconfig(schedKubeconfig, server, p, "kube-scheduler", "system:kube-scheduler"); err != nil {
		return err
	}
	kcm, err := s.start("kube-controller-manager",
		"--kubeconfig", kcmKubeconfig,
		"--authentication-kubeconfig", kcmKubeconfig,
		"--authorization-kubeconfig", kcmKubeconfig,
		// No HTTPS endpoint: nothing reads it, and a port chosen here could be taken by any
		// other process (a client's ephemeral port) before the component binds it, seconds
		// later, which failed a CI run with "address already in use".
		"--secure-port", "0",
		"--cert-dir", filepath.Join(s.dir, "kcm"),
		"--client-ca-file", pp("ca.crt"),
		"--root-ca-file", pp("ca.crt"),
		"--cluster-signing-cert-file", pp("ca.crt"),
		"--cluster-signing-key-file", pp("ca.key"),
		"--service-account-private-key-file", pp("sa.key"),
		"--service-cluster-ip-range", serviceCIDR,
		// Each controller acts as its own service account, as on kubeadm clusters, so the
		// bootstrap RBAC roles are exercised as shipped.
		"--use-service-account-credentials",
		"--leader-elect",
		"--profiling=false",
		"--v", "1",
	)
	if err != nil {
		return err
	}
	sched, err := s.start("kube-scheduler",
		"--kubeconfig", schedKubeconfig,
		"--authentication-kubeconfig", schedKubeconfig,
		"--authorization-kubeconfig", schedKubeconfig,
		"--secure-port", "0",
		"--cert-dir", filepath.Join(s.dir, "scheduler"),
		"--leader-elect",
		"--profiling=false",
		"--v", "1",
	)
	if err != nil {
		return err
	}

	client, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		return err
	}
	agent := newNodeAgent(client, nodes)
	if err := agent.registerNodes(ctx); err != nil {
		return fmt.Errorf("node agent: %w", err)
	}
	go agent.run(ctx)

	for _, c := range []struct {
		proc  *child
		lease string
	}{{kcm, "kube-controller-manager"}, {sched, "kube-scheduler"}} {
		if err := waitFor(ctx, c.proc, 120*time.Second, c.lease+" leader lease", func() error {
			return leaseHeld(ctx, client, "kube-system", c.lease)
		}); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, kcm, 120*time.Second, "the default ServiceAccount (service-account controller)", func() error {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1GetOptions)
		return err
	}); err != nil {
		return err
	}
	if smoke {
		if err := smokeRollout(ctx, client, func(d time.Duration, what string, probe func() error) error {
			return waitFor(ctx, nil, d, what, probe)
		}); err != nil {
			return err
		}
	}
	// The admin kubeconfig appears last: its presence means the control plane works.
	return writeKubeconfig(filepath.Join(s.dir, "kubeconfig"), server, p, "admin", "admin")
}

func restConfig(server string, p *pki, name string) (*rest.Config, error) {
	path := filepath.Join(p.dir, "..", name+".bootstrap.kubeconfig")
	if err := writeKubeconfig(path, server, p, name, name); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "control-plane-supervisor"
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

func httpOK(client *http.Client, url string) error {
	c := *client
	c.Timeout = 5 * time.Second
	if c.Transport == nil {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{}}
	}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// waitFor polls probe until it succeeds, the deadline passes, the context ends or the
// component it waits on exits (then its log says why).
func waitFor(ctx context.Context, c *child, d time.Duration, what string, probe func() error) error {
	start := time.Now()
	deadline := start.Add(d)
	var last error
	for {
		if last = probe(); last == nil {
			logf("%s ok after %s", what, time.Since(start).Round(time.Millisecond))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not ready within %s: %v", what, d, last)
		}
		var exited <-chan error
		if c != nil {
			exited = c.done
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-exited:
			return fmt.Errorf("%s exited while waiting for %s (see its log): %v", c.name, what, c.cmd.ProcessState)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// runDown stops the supervisor of DIR and waits for it (and so every component) to end.
func runDown(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: control-plane down DIR")
		return 2
	}
	raw, err := os.ReadFile(filepath.Join(args[0], "supervisor.pid"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "down: no control plane running in %s\n", args[0])
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 1 {
		fmt.Fprintf(os.Stderr, "down: bad pid file in %s\n", args[0])
		return 1
	}
	// The pid file may be stale and its pid reused: only signal our own supervisor.
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err != nil || !strings.Contains(string(cmdline), "\x00up\x00") {
		_ = os.Remove(filepath.Join(args[0], "supervisor.pid"))
		return 0
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		_ = os.Remove(filepath.Join(args[0], "supervisor.pid"))
		return 0
	}
	for range 300 {
		if syscall.Kill(pid, 0) != nil {
			return 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return 0
}
