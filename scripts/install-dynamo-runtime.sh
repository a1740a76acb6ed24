#!/usr/bin/env bash
# Install what the runtime end-to-end test (tests/runtime_e2e.rs) needs:
#   - a PINNED Dynamo runtime (ai-dynamo + ai-dynamo-runtime) in <repo>/.tools/dynamo-venv,
#     plus `tokenizers` for the offline model builder (tests/runtime/build_model.py);
#   - Debian's `etcd-server` when no `etcd` binary is on PATH.
#
# Why not `pip install ai-dynamo==X`: on Python 3.11 the dependency `aisimulate` is a stub
# that downloads from a vendor index our machines cannot reach, and it is only used by the
# planner. So the two Dynamo wheels are installed with --no-deps, and their remaining
# requirements are installed by name with the pins read from the wheels' own METADATA
# (skipping aisimulate). See ../shared/research/dynamo-runtime-local.md.
#
# Idempotent: a venv that already imports the pinned version is left alone, and etcd is
# installed only when absent. Override the pin with DYNAMO_RUNTIME_VERSION=<x.y.z>.
set -euo pipefail

version="${DYNAMO_RUNTIME_VERSION:-1.6.1}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${repo_root}/.tools/dynamo-venv"
py="${venv}/bin/python3"

installed_version() {
  "${py}" - <<'PY' 2>/dev/null
import importlib.metadata as m
import tokenizers  # noqa: F401  (the model builder needs it)
import dynamo.mocker, dynamo.frontend  # noqa: F401,E401
print(m.version("ai-dynamo"), m.version("ai-dynamo-runtime"))
PY
}

if [[ -x "${py}" && "$(installed_version || true)" == "${version} ${version}" ]]; then
  echo "dynamo runtime: ${venv} (ai-dynamo ${version}, already installed)"
else
  rm -rf "${venv}"
  mkdir -p "$(dirname "${venv}")"
  python3 -m venv "${venv}"
  pip=("${py}" -m pip --disable-pip-version-check)

  tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp}"' EXIT
  "${pip[@]}" download --quiet --no-deps --only-binary=:all: --dest "${tmp}" \
    "ai-dynamo==${version}" "ai-dynamo-runtime==${version}"
  "${pip[@]}" install --quiet --no-deps "${tmp}"/*.whl

  # Requirements of both wheels as the wheels state them, minus aisimulate and minus
  # the two Dynamo packages themselves; extras-only requirements are left out.
  "${py}" - "${tmp}" >"${tmp}/requirements.txt" <<'PY'
import sys, zipfile, glob
from email.parser import Parser

skip = {"aisimulate", "ai-dynamo", "ai-dynamo-runtime", "ai_dynamo", "ai_dynamo_runtime"}
for wheel in sorted(glob.glob(sys.argv[1] + "/*.whl")):
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        msg = Parser().parsestr(z.read(meta).decode())
    for req in msg.get_all("Requires-Dist") or []:
        spec, _, marker = req.partition(";")
        if "extra ==" in marker or "extra==" in marker:
            continue
        name = spec.strip().split("[")[0]
        for sep in "<>=!~ (":
            name = name.split(sep)[0]
        if name.lower().replace("_", "-") in skip:
            continue
        print(req.strip())
PY
  echo "dynamo runtime: requirements from the wheels' METADATA:"
  sed 's/^/  /' "${tmp}/requirements.txt"
  echo "dynamo runtime: pip will note that aisimulate is missing; that is expected (planner only)"
  "${pip[@]}" install --quiet -r "${tmp}/requirements.txt" tokenizers
  got="$(installed_version)"
  if [[ "${got}" != "${version} ${version}" ]]; then
    echo "dynamo runtime: expected ${version}, the venv reports '${got}'" >&2
    exit 1
  fi
  echo "dynamo runtime: ${venv} (ai-dynamo ${version}, $(du -sh "${venv}" | cut -f1))"
fi

if command -v etcd >/dev/null 2>&1; then
  echo "etcd: $(command -v etcd) (already installed)"
else
  if [[ "$(id -u)" != 0 ]]; then
    echo "etcd: not found and not root; install Debian's etcd-server by hand" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq etcd-server >/dev/null
  # The package's service is not wanted: the test starts its own etcd per run.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
  echo "etcd: $(command -v etcd) ($(etcd --version | head -n1))"
fi
