#!/usr/bin/env bash
# The test suite, as .ci/run runs it: everything on the API server simulator, then the
# cluster-facing tests again on real control planes (DYNAMOCTL_TEST_CLUSTER=real: one control
# plane per test, built from tests/control-plane; see docs/testing.md). Extra arguments go to
# both cargo test runs (e.g. a test-name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

# The test files written against tests/common/cluster.rs (TestCluster). A new cluster-facing
# test file belongs here too.
real_backend=(cluster_apply cluster_diff controller controller_fidelity controller_refused controller_requests install leases model operator_config)

echo "== cargo test --workspace (the simulator backend)"
cargo test --workspace "$@"

echo "== the cluster tests again on real control planes"
args=()
for t in "${real_backend[@]}"; do args+=(--test "$t"); done
DYNAMOCTL_TEST_CLUSTER=real cargo test "${args[@]}" "$@"
