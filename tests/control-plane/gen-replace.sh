#!/usr/bin/env bash
# Regenerates go.mod's replace block for k8s.io/kubernetes's staging modules.
#
# k8s.io/kubernetes points every k8s.io/* staging module at ./staging/src/... in its own go.mod;
# those replaces do not apply to a consumer, so every consumer must pin each staging module to
# the matching published v0.X.Y release itself. Reading the list from the pinned release's go.mod
# (instead of copying it by hand) keeps it exact when the pin moves.
#
# Usage: tests/control-plane/gen-replace.sh [KUBERNETES_VERSION]   (default: the version go.mod requires)
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod

version="${1:-$(go mod edit -json | sed -n '/"Path": "k8s.io\/kubernetes"/{n;s/.*"Version": "\(.*\)".*/\1/p}')}"
[[ "$version" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { echo "gen-replace.sh: bad kubernetes version '$version' (want v1.N.P)" >&2; exit 2; }
staging="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[ -f "$gomod" ] || { echo "gen-replace.sh: could not download k8s.io/kubernetes@$version's go.mod" >&2; exit 1; }

# Drop the replaces this script wrote before, then add one per staging module of $version.
for old in $(go mod edit -json | sed -n 's/.*"Path": "\(k8s.io\/[^"]*\)".*/\1/p' | sort -u); do
	go mod edit -dropreplace="$old" 2>/dev/null || true
done
count=0
while read -r module; do
	go mod edit -replace="$module=$module@$staging"
	count=$((count + 1))
done < <(sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/src/.*#\1#p' "$gomod")
[ "$count" -gt 0 ] || { echo "gen-replace.sh: no staging replaces found in $gomod" >&2; exit 1; }
go mod edit -require="k8s.io/kubernetes@$version"
echo "gen-replace.sh: $count staging modules pinned to $staging for k8s.io/kubernetes $version" >&2
