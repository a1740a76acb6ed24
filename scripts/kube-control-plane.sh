#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, for dynamoctl's tests and for trying dynamoctl
# locally: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from upstream's
# Go modules (tests/control-plane), plus a node agent that runs pods without containers.
#
#   scripts/kube-control-plane.sh build              build (or reuse) the binary; prints its path
#   scripts/kube-control-plane.sh up DIR [--nodes N] start; prints READY once it works; runs until
#                                                    `down DIR`, Ctrl-C or its parent exits
#   scripts/kube-control-plane.sh down DIR           stop the control plane started in DIR
#   scripts/kube-control-plane.sh kubeconfig --user U [--group G]... DIR
#                                                    print a kubeconfig for a client-cert user
#
# DIR gets kubeconfig (admin, system:masters), audit.log (every write, with its userAgent),
# pki/ and one log per component. Needs Go (the version tests/control-plane/go.mod names); the
# binary is cached in target/control-plane/bin and rebuilt only when its sources or Go change.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${repo_root}/tests/control-plane"
out="${CONTROL_PLANE_BIN_DIR:-${repo_root}/target/control-plane/bin}"
bin="${out}/control-plane"

die() { echo "kube-control-plane.sh: $*" >&2; exit 2; }

build() {
	command -v go >/dev/null || die "Go is not installed (needed to build the control plane; see docs/testing.md)"
	export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly
	local stamp
	stamp="$(cd "$src" && { go version; cat go.mod go.sum ./*.go; } | sha256sum | cut -d' ' -f1)"
	if [[ -x "$bin" && -f "$bin.stamp" && "$(cat "$bin.stamp")" == "$stamp" ]]; then
		echo "$bin"
		return
	fi
	# The version kube-apiserver reports (and `kubectl version` shows) is the pinned release's,
	# stamped the way upstream's hack/lib/version.sh does.
	local version major minor info date
	version="$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$src/go.mod" | head -n1)"
	[[ "$version" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]] || die "cannot read the k8s.io/kubernetes version from $src/go.mod"
	major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}"
	info="$(cd "$src" && go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"Info": "\(.*\)".*/\1/p')"
	date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)"
	local ldflags=""
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${date:-1970-01-01T00:00:00Z}"
	done
	mkdir -p "$out"
	echo "kube-control-plane.sh: building the control plane (k8s.io/kubernetes $version; GOCACHE $(go env GOCACHE))" >&2
	local start=$SECONDS
	(cd "$src" && go build -ldflags "$ldflags" -o "$bin.tmp" .)
	mv "$bin.tmp" "$bin"
	echo "$stamp" >"$bin.stamp"
	echo "kube-control-plane.sh: built $bin in $((SECONDS - start))s" >&2
	echo "$bin"
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
build)
	build
	;;
up)
	[[ $# -ge 1 ]] || die "usage: $0 up DIR [--nodes N]"
	dir="$1"
	shift
	build >/dev/null
	mkdir -p "$dir"
	# exec: the supervisor's parent is our caller, so it stops when the caller exits.
	exec "$bin" up "$@" "$dir"
	;;
down)
	[[ $# -eq 1 ]] || die "usage: $0 down DIR"
	[[ -x "$bin" ]] || exit 0
	exec "$bin" down "$1"
	;;
kubeconfig)
	exec "$(build)" kubeconfig "$@"
	;;
*)
	die "usage: $0 build | up DIR [--nodes N] | down DIR | kubeconfig --user U [--group G]... DIR"
	;;
esac
