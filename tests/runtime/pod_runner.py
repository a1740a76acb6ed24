"""Run the pods of rendered Kubernetes manifests as local processes, as a kubelet would.

Usage (as root, with the Python of the environment that stands for the container image):

    python3 pod_runner.py --manifests RENDERED.yaml --subnet 10.201.7.0/24 \
        --prefix d1234a --work DIR [--etcd-url http://10.201.7.1:2379] [--timeout 150]

For every Deployment (x replicas) in the manifests the runner starts the pod's main
container (the first container) as a process, exactly as rendered:
  - argv is `command` + `args` with kubelet's `$(VAR)` expansion (`$$` escapes) and no
    shell; the image has no entrypoint, so a container without `command` is an error;
  - the environment is the image's (PATH with this Python's bin first, HOME, HOSTNAME,
    offline switches for the model hub) overlaid by `envFrom`, then `env` in order, with
    `valueFrom` filled in as a kubelet does (downward-API fieldRefs, Secret/ConfigMap keys
    from Secret/ConfigMap objects found in the manifests);
  - each pod has its own network namespace with one address in SUBNET (the bridge in the
    root namespace takes .1), its own /etc/hosts and hostname (the pod name), its own
    root filesystem (the host's directories bind-mounted, emptyDir volumes mounted, the
    working directory created), so two pods may both listen on the port their spec names.
The runner probes like a kubelet (startupProbe, then readinessProbe and livenessProbe;
httpGet to the pod IP, a named port resolved through the container's ports), prints one
line `READY <json>` on stdout when every pod is ready, and then runs until stdin closes,
SIGTERM/SIGINT, or --timeout. A container that exits or fails its liveness probe makes
the runner exit non-zero (a kubelet would restart it; a test wants to know).

Pods have no default route: traffic can only reach the bridge subnet. Everything the
runner creates (processes, namespaces, links, etcd's data) is removed on every exit path.
"""

import argparse
import base64
import ctypes
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import yaml

CLONE_NEWUTS = 0x04000000
HOSTS_HEADER = "# Kubernetes-managed hosts file (written by pod_runner).\n"


class Fatal(Exception):
    """A problem that ends the run with a message for the person who started it."""


def log(msg):
    print(f"[pod_runner {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*argv, check=True):
    res = subprocess.run(argv, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise Fatal(f"`{' '.join(argv)}` failed: {res.stderr.strip()}")
    return res


# --- kubelet semantics -----------------------------------------------------------------

_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text, env):
    """Kubernetes `$(VAR)` expansion: `$$` is a literal `$`, unknown references stay."""

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return _VAR_REF.sub(sub, text)


def field_ref(path, pod):
    """Downward-API fieldRef values as a kubelet fills them in."""
    simple = {
        "metadata.name": pod["name"],
        "metadata.namespace": pod["namespace"],
        "metadata.uid": pod["uid"],
        "spec.nodeName": pod["node"],
        "spec.serviceAccountName": pod["serviceAccount"],
        "status.podIP": pod["ip"],
        "status.podIPs": pod["ip"],
        "status.hostIP": pod["hostIP"],
        "status.hostIPs": pod["hostIP"],
    }
    if path in simple:
        return simple[path]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if m:
        return pod[m.group(1)].get(m.group(2), "")
    raise Fatal(f"pod {pod['name']}: fieldRef {path!r} is not supported by the runner")


class Objects:
    """Secrets and ConfigMaps present in the manifests, standing for the cluster's."""

    def __init__(self, docs):
        self.data = {}
        for d in docs:
            kind = d.get("kind")
            if kind not in ("Secret", "ConfigMap"):
                continue
            name = d["metadata"]["name"]
            values = {}
            for k, v in (d.get("data") or {}).items():
                values[k] = base64.b64decode(v).decode() if kind == "Secret" else str(v)
            for k, v in (d.get("stringData") or {}).items():
                values[k] = str(v)
            if kind == "ConfigMap":
                for k, v in (d.get("binaryData") or {}).items():
                    values[k] = base64.b64decode(v).decode()
            self.data[(kind, name)] = values

    def get(self, kind, name, optional, pod):
        if (kind, name) in self.data:
            return self.data[(kind, name)]
        if optional:
            return None
        raise Fatal(
            f"pod {pod}: {kind} {name!r} does not exist (a kubelet would not start the "
            f"container); add it to the manifests"
        )


def container_env(container, pod, objects, image_env):
    """The container's environment: image env, then envFrom, then env in order."""
    env = dict(image_env)
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in src:
                ref = src[key]
                values = objects.get(kind, ref["name"], ref.get("optional", False), pod["name"])
                for k, v in (values or {}).items():
                    env[prefix + k] = v
    for var in container.get("env") or []:
        name = var["name"]
        if "valueFrom" not in var:
            env[name] = expand(str(var.get("value", "")), env)
            continue
        vf = var["valueFrom"]
        if "fieldRef" in vf:
            env[name] = field_ref(vf["fieldRef"]["fieldPath"], pod)
        elif "secretKeyRef" in vf or "configMapKeyRef" in vf:
            kind, ref = (
                ("Secret", vf["secretKeyRef"])
                if "secretKeyRef" in vf
                else ("ConfigMap", vf["configMapKeyRef"])
            )
            values = objects.get(kind, ref["name"], ref.get("optional", False), pod["name"])
            if values is not None and ref["key"] in values:
                env[name] = values[ref["key"]]
            elif not ref.get("optional", False):
                raise Fatal(f"pod {pod['name']}: {kind} {ref['name']!r} has no key {ref['key']!r}")
        else:
            raise Fatal(f"pod {pod['name']}: env {name}: valueFrom {sorted(vf)} is not supported")
    return env


def container_argv(container, env, pod):
    command = container.get("command") or []
    if not command:
        raise Fatal(
            f"pod {pod}: container {container.get('name')!r} has no command and the image "
            "(the runtime's Python environment) has no entrypoint"
        )
    return [expand(str(a), env) for a in command + (container.get("args") or [])]


def probe_port(probe, container):
    port = probe["httpGet"]["port"]
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise Fatal(f"probe port {port!r} names no port of container {container.get('name')!r}")


# --- network ---------------------------------------------------------------------------


class Network:
    """A bridge in the root namespace and one namespace + veth pair per pod."""

    def __init__(self, subnet, prefix):
        self.net = ipaddress.ip_network(subnet)
        if not self.net.is_private or self.net.version != 4 or self.net.prefixlen > 28:
            raise Fatal(f"--subnet {subnet}: want a private IPv4 network of at least /28")
        self.prefix = prefix
        self.bridge = f"{prefix}br"
        self.gateway = str(self.net.network_address + 1)
        self.namespaces = []
        self.next_host = 2

    def check_free(self):
        for route in json.loads(sh("ip", "-j", "route", "show").stdout or "[]"):
            dst = route.get("dst", "")
            if dst and dst != "default":
                other = ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False)
                if other.overlaps(self.net):
                    raise Fatal(f"subnet {self.net} overlaps the route {dst}; pick another")

    def up(self):
        self.cleanup_stale()
        self.check_free()
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.gateway}/{self.net.prefixlen}", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")

    def add_pod(self, index):
        ns = f"{self.prefix}p{index}"
        host_end = f"{self.prefix}v{index}"
        ip = str(self.net.network_address + self.next_host)
        self.next_host += 1
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", host_end, "master", self.bridge)
        sh("ip", "link", "set", host_end, "up")
        sh("ip", "-n", ns, "addr", "add", f"{ip}/{self.net.prefixlen}", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        return ns, ip

    def cleanup_stale(self):
        """Remove leftovers of a killed run that used the same prefix."""
        for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
            name = line.split()[0] if line.split() else ""
            if re.fullmatch(re.escape(self.prefix) + r"p\d+", name):
                sh("ip", "netns", "del", name, check=False)
        sh("ip", "link", "del", self.bridge, check=False)

    def down(self):
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns, check=False)  # takes the veth pair with it
        sh("ip", "link", "del", self.bridge, check=False)


# --- pods ------------------------------------------------------------------------------


def pods_from(docs, args):
    """One entry per Deployment replica, with the kubelet-visible facts about the pod."""
    pods = []
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        meta, spec = d["metadata"], d["spec"]
        template = spec["template"]
        tspec = template["spec"]
        for r in range(int(spec.get("replicas", 1))):
            name = f"{meta['name']}-{uuid.uuid4().hex[:10]}-{uuid.uuid4().hex[:5]}"
            pods.append(
                {
                    "deployment": meta["name"],
                    "name": name,
                    "namespace": meta.get("namespace", "default"),
                    "uid": str(uuid.uuid4()),
                    "labels": (template.get("metadata") or {}).get("labels") or {},
                    "annotations": (template.get("metadata") or {}).get("annotations") or {},
                    "serviceAccount": tspec.get("serviceAccountName", "default"),
                    "node": "pod-runner",
                    "container": tspec["containers"][0],
                    "volumes": {v["name"]: v for v in tspec.get("volumes") or []},
                    "grace": min(int(tspec.get("terminationGracePeriodSeconds", 30)), args.grace),
                }
            )
    if not pods:
        raise Fatal("the manifests contain no Deployment")
    return pods


def container_mounts(pod, work):
    """emptyDir volumes as (mountPath, tmpfs?, host dir); other volume kinds are refused."""
    mounts = []
    for vm in pod["container"].get("volumeMounts") or []:
        vol = pod["volumes"].get(vm["name"])
        if vol is None:
            raise Fatal(f"pod {pod['name']}: volumeMount {vm['name']!r} names no volume")
        if "emptyDir" not in vol:
            raise Fatal(f"pod {pod['name']}: volume {vm['name']!r}: only emptyDir is supported")
        memory = (vol["emptyDir"] or {}).get("medium") == "Memory"
        host = os.path.join(work, "volumes", vm["name"])
        os.makedirs(host, exist_ok=True)
        mounts.append({"path": vm["mountPath"], "tmpfs": memory, "host": host})
    return mounts


def image_env(pod, home):
    venv_bin = os.path.dirname(os.path.abspath(sys.executable))
    return {
        "PATH": f"{venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": home,
        "HOSTNAME": pod["name"],
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LANG": "C.UTF-8",
    }


class Runner:
    def __init__(self, args):
        self.args = args
        self.net = Network(args.subnet, args.prefix)
        self.procs = []  # (pod, Popen)
        self.etcd = None
        self.failed = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def fail(self, msg):
        with self.lock:
            self.failed.append(msg)
        log(msg)
        self.stop.set()

    def start_etcd(self):
        url = self.args.etcd_url
        host = re.fullmatch(r"http://([0-9.]+):(\d+)", url or "")
        if not host:
            raise Fatal(f"--etcd-url {url!r}: want http://IP:PORT")
        if host.group(1) != self.net.gateway:
            raise Fatal(f"--etcd-url {url}: etcd listens on the bridge, {self.net.gateway}")
        ip, port = host.group(1), int(host.group(2))
        data = os.path.join(self.args.work, "etcd")
        out = open(os.path.join(self.args.work, "etcd.log"), "w")
        self.etcd = subprocess.Popen(
            [
                shutil.which("etcd") or "etcd",
                "--name", f"{self.args.prefix}-etcd",
                "--data-dir", data,
                "--listen-client-urls", url,
                "--advertise-client-urls", url,
                "--listen-peer-urls", f"http://{ip}:{port + 1}",
                "--initial-advertise-peer-urls", f"http://{ip}:{port + 1}",
                "--initial-cluster", f"{self.args.prefix}-etcd=http://{ip}:{port + 1}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.etcd.poll() is not None:
                raise Fatal(f"etcd exited with {self.etcd.returncode}; see {out.name}")
            if http_ok(f"{url}/health", 1):
                log(f"etcd ready at {url}")
                return
            time.sleep(0.2)
        raise Fatal(f"etcd not healthy at {url} within 20 s; see {out.name}")

    def start_pod(self, index, pod):
        ns, ip = self.net.add_pod(index)
        pod.update(ip=ip, netns=ns, hostIP=self.net.gateway)
        work = os.path.join(self.args.work, "pods", pod["name"])
        home = os.path.join(work, "home")
        os.makedirs(home, exist_ok=True)
        c = pod["container"]
        env = container_env(c, pod, self.objects, image_env(pod, home))
        argv = container_argv(c, env, pod["name"])
        spec = {
            "hostname": pod["name"],
            "hosts": f"{HOSTS_HEADER}127.0.0.1\tlocalhost\n{ip}\t{pod['name']}\n",
            "rootfs": os.path.join(work, "rootfs"),
            "workingDir": c.get("workingDir") or "/",
            "mounts": container_mounts(pod, work),
            "argv": argv,
        }
        spec_path = os.path.join(work, "container.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        logf = open(os.path.join(work, "container.log"), "w")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
             "exec-container", spec_path],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pod["log"] = logf.name
        self.procs.append((pod, proc))
        log(f"pod {pod['name']} at {ip}: {' '.join(argv)}")

    def probe_loop(self, pod, proc):
        """kubelet's probe schedule for one pod; sets pod['ready'] once readiness passes."""
        c = pod["container"]
        start = time.monotonic()

        def run(kind, probe):
            """Run one probe kind until it settles; True = passed/ready."""
            delay = probe.get("initialDelaySeconds", 0)
            period = probe.get("periodSeconds", 10)
            timeout = probe.get("timeoutSeconds", 1)
            fail_max = probe.get("failureThreshold", 3)
            ok_needed = probe.get("successThreshold", 1)
            if "httpGet" not in probe:
                raise Fatal(f"pod {pod['name']}: {kind}Probe without httpGet is not supported")
            hg = probe["httpGet"]
            url = f"http://{pod['ip']}:{probe_port(probe, c)}{hg.get('path', '/')}"
            if self.stop.wait(max(0, start + delay - time.monotonic())):
                return False
            fails = oks = 0
            while not self.stop.is_set() and proc.poll() is None:
                if http_ok(url, timeout):
                    oks, fails = oks + 1, 0
                    if kind != "liveness" and oks >= ok_needed:
                        return True
                else:
                    oks, fails = 0, fails + 1
                    if kind != "readiness" and fails >= fail_max:
                        self.fail(f"pod {pod['name']}: {kind} probe {url} failed {fails} times")
                        return False
                if self.stop.wait(period):
                    return False
            return False

        try:
            if "startupProbe" in c and not run("startup", c["startupProbe"]):
                return
            start = time.monotonic()  # readiness/liveness delays count from here on
            if "livenessProbe" in c:
                threading.Thread(target=run, args=("liveness", c["livenessProbe"]), daemon=True).start()
            if "readinessProbe" not in c or run("readiness", c["readinessProbe"]):
                pod["ready"] = time.monotonic()
                log(f"pod {pod['name']} ready")
        except Fatal as e:
            self.fail(str(e))

    def watch(self):
        """Any container exit is a failure: the pods are meant to keep running."""
        while not self.stop.is_set():
            for pod, proc in self.procs:
                if proc.poll() is not None:
                    self.fail(
                        f"pod {pod['name']}: container exited with {proc.returncode}; "
                        f"last lines of {pod['log']}:\n{tail(pod['log'])}"
                    )
                    return
            if self.stop.wait(0.2):
                return

    def run(self):
        docs = [d for d in yaml.safe_load_all(open(self.args.manifests)) if d]
        self.objects = Objects(docs)
        pods = pods_from(docs, self.args)
        os.makedirs(self.args.work, exist_ok=True)
        self.net.up()
        if self.args.etcd_url:
            self.start_etcd()
        for i, pod in enumerate(pods):
            self.start_pod(i, pod)
        threading.Thread(target=self.watch, daemon=True).start()
        for pod, proc in self.procs:
            threading.Thread(target=self.probe_loop, args=(pod, proc), daemon=True).start()

        deadline = time.monotonic() + self.args.ready_timeout
        while not all(p.get("ready") for p, _ in self.procs):
            if self.stop.is_set():
                raise Fatal("a pod failed before all were ready: " + "; ".join(self.failed))
            if time.monotonic() > deadline:
                waiting = [p["name"] for p, _ in self.procs if not p.get("ready")]
                logs = "\n".join(f"--- {p['log']}\n{tail(p['log'])}" for p, _ in self.procs)
                raise Fatal(f"not ready within {self.args.ready_timeout} s: {waiting}\n{logs}")
            time.sleep(0.1)
        report = [
            {
                "name": p["name"],
                "deployment": p["deployment"],
                "ip": p["ip"],
                "labels": p["labels"],
                "ports": {x.get("name", str(x["containerPort"])): x["containerPort"]
                          for x in p["container"].get("ports") or []},
                "log": p["log"],
            }
            for p, _ in self.procs
        ]
        print("READY " + json.dumps({"pods": report}), flush=True)

        # Serve until stdin closes (the test is done or died), a signal, or the deadline.
        end = time.monotonic() + self.args.timeout
        while not self.stop.is_set() and time.monotonic() < end:
            r, _, _ = select.select([sys.stdin], [], [], 0.2)
            if r and not sys.stdin.buffer.read1(4096):
                break
        if self.failed:
            raise Fatal("; ".join(self.failed))
        if time.monotonic() >= end:
            raise Fatal(f"--timeout {self.args.timeout} s reached")

    def teardown(self):
        self.stop.set()
        for pod, proc in self.procs:
            if proc.poll() is None:
                killpg(proc, signal.SIGTERM)
        for pod, proc in self.procs:
            try:
                proc.wait(timeout=pod["grace"])
            except subprocess.TimeoutExpired:
                killpg(proc, signal.SIGKILL)
                proc.wait(timeout=5)
        if self.etcd and self.etcd.poll() is None:
            killpg(self.etcd, signal.SIGTERM)
            try:
                self.etcd.wait(timeout=5)
            except subprocess.TimeoutExpired:
                killpg(self.etcd, signal.SIGKILL)
                self.etcd.wait(timeout=5)
        self.net.down()
        shutil.rmtree(os.path.join(self.args.work, "etcd"), ignore_errors=True)


def killpg(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def http_ok(url, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return 200 <= r.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# --- inside the pod's namespaces ---------------------------------------------------------


def exec_container(spec_path):
    """Runs under `ip netns exec` (own network and mount namespace); never returns.

    Builds the container's root: a tmpfs holding bind mounts of the host's top-level
    directories (the image: the host's system and the runtime's Python environment),
    the pod's /etc/hosts, emptyDir volumes and the working directory, then chroots and
    execs argv with the environment it was given. The mounts live and die with this
    mount namespace; `ip netns exec` made it a slave of the host's, so nothing leaks out.
    """
    spec = json.load(open(spec_path))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUTS) != 0:
        sys.exit(f"unshare(CLONE_NEWUTS): errno {ctypes.get_errno()}")
    name = spec["hostname"].encode()
    libc.sethostname(name, len(name))

    root = spec["rootfs"]
    os.makedirs(root, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "rootfs", root], check=True)
    for entry in sorted(os.listdir("/")):
        src, dst = "/" + entry, os.path.join(root, entry)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif os.path.isdir(src):
            os.mkdir(dst)
            subprocess.run(["mount", "--rbind", src, dst], check=True)
    hosts = os.path.join(os.path.dirname(spec_path), "hosts")
    with open(hosts, "w") as f:
        f.write(spec["hosts"])
    subprocess.run(["mount", "--bind", hosts, os.path.join(root, "etc/hosts")], check=True)
    for m in spec["mounts"]:
        dst = os.path.join(root, m["path"].lstrip("/"))
        os.makedirs(dst, exist_ok=True)
        if m["tmpfs"]:
            subprocess.run(["mount", "-t", "tmpfs", "emptydir", dst], check=True)
        else:
            subprocess.run(["mount", "--bind", m["host"], dst], check=True)
    os.chroot(root)
    os.makedirs(spec["workingDir"], exist_ok=True)
    os.chdir(spec["workingDir"])
    argv = spec["argv"]
    try:
        os.execvpe(argv[0], argv, os.environ)
    except OSError as e:
        sys.exit(f"exec {argv[0]!r}: {e}")


def self_test():
    """The kubelet semantics above, checked without root (run by tests/runtime_e2e.rs)."""
    pod = {
        "name": "p-1", "namespace": "ns", "uid": "u-1", "node": "n", "serviceAccount": "sa",
        "ip": "10.9.0.2", "hostIP": "10.9.0.1", "labels": {"app": "x"}, "annotations": {},
    }
    objects = Objects([
        {"kind": "Secret", "metadata": {"name": "s"}, "data": {"TOKEN": "c2VjcmV0"}},
        {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"MODE": "fast", "A": "cm"}},
    ])
    container = {
        "envFrom": [{"configMapRef": {"name": "c"}}, {"secretRef": {"name": "s"}, "prefix": "S_"}],
        "env": [
            {"name": "A", "value": "first"},
            {"name": "B", "value": "$(A)-$(MODE)-$$(A)-$(MISSING)"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "TOKEN"}}},
            {"name": "O", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}},
        ],
        "command": ["python3", "--ip=$(IP)"],
        "args": ["$(B)", "$$(POD)"],
        "ports": [{"name": "http", "containerPort": 8000}],
    }
    env = container_env(container, pod, objects, {"PATH": "/img/bin", "A": "image"})
    want = {
        "PATH": "/img/bin", "A": "first", "MODE": "fast", "S_TOKEN": "secret",
        "B": "first-fast-$(A)-$(MISSING)", "POD": "p-1", "IP": "10.9.0.2", "APP": "x",
        "T": "secret",
    }
    assert env == want, env
    argv = container_argv(container, env, "p-1")
    assert argv == ["python3", "--ip=10.9.0.2", "first-fast-$(A)-$(MISSING)", "$(POD)"], argv
    assert probe_port({"httpGet": {"port": "http"}}, container) == 8000
    assert probe_port({"httpGet": {"port": 9090}}, container) == 9090
    for bad in (
        lambda: container_argv({"args": ["x"]}, env, "p-1"),
        lambda: container_env({"envFrom": [{"secretRef": {"name": "nope"}}]}, pod, objects, {}),
        lambda: field_ref("status.phase", pod),
        lambda: probe_port({"httpGet": {"port": "metrics"}}, container),
    ):
        try:
            bad()
        except Fatal:
            continue
        raise AssertionError("expected a Fatal error")
    print("pod_runner self-test: ok")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "exec-container":
        exec_container(sys.argv[2])
    if sys.argv[1:] == ["self-test"]:
        self_test()
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifests", required=True, help="rendered YAML (dynamoctl render)")
    ap.add_argument("--subnet", required=True, help="private IPv4 subnet for the pods")
    ap.add_argument("--prefix", required=True, help="short unique name prefix (<= 8 chars)")
    ap.add_argument("--work", required=True, help="scratch directory for logs and homes")
    ap.add_argument("--etcd-url", help="start etcd listening here (the bridge address)")
    ap.add_argument("--ready-timeout", type=float, default=90)
    ap.add_argument("--timeout", type=float, default=300, help="overall bound after ready")
    ap.add_argument("--grace", type=int, default=10, help="cap on terminationGracePeriod")
    args = ap.parse_args()
    args.work = os.path.abspath(args.work)  # HOME and mounts must not depend on a cwd
    if len(args.prefix) > 8 or not re.fullmatch(r"[a-z0-9]+", args.prefix):
        sys.exit("--prefix: at most 8 lowercase letters/digits (link names max 15 chars)")
    if os.geteuid() != 0:
        sys.exit("pod_runner needs root (network namespaces, mounts)")

    runner = Runner(args)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    code = 0
    try:
        runner.run()
    except Fatal as e:
        log(f"error: {e}")
        code = 1
    except KeyboardInterrupt as e:
        log(f"stopping: {e}")
        code = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        runner.teardown()
        log("cleaned up")
    sys.exit(code)


if __name__ == "__main__":
    main()
