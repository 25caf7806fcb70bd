#!/usr/bin/env bash
# The live Kubernetes controller against a real API server: builds
# kube-apiserver (k8s.io/kubernetes v1.37.2) and etcd (go.etcd.io/etcd
# v3.7.3) from the Go module proxy, then runs test/conformance/
# kube-apiserver/live, which starts them on 127.0.0.1, installs the
# Gateway API v1.6.3 CRDs and the GatehousePolicy CRD, and runs two
# gatehouse replicas with `run --kubernetes` (statuses written through the
# real status subresource, leader election on a real Lease, Secret
# rotation, failover). Not part of .ci/run: the first build of
# kube-apiserver takes minutes on two cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/test/conformance/kube-apiserver"
bin="${GATEHOUSE_KUBE_BIN:-$(mktemp -d)}"
mkdir -p "$bin"

echo "building kube-apiserver, etcd and gatehouse into $bin"
start=$(date +%s)
go build -C "$here/tools/apiserver" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -C "$here/tools/etcd" -o "$bin/etcd" .
go build -C "$root" -o "$bin/gatehouse" ./cmd/gatehouse
echo "built in $(( $(date +%s) - start )) s: $("$bin/kube-apiserver" --version)"

crds="$(go list -C "$here/live" -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)/config/crd/standard"
KUBE_APISERVER="$bin/kube-apiserver" ETCD="$bin/etcd" GATEHOUSE="$bin/gatehouse" \
GATEWAY_API_CRDS="$crds" GATEHOUSE_POLICY_CRD="$root/deploy/kubernetes/crd-gatehousepolicy.yaml" \
  go test -C "$here/live" -count=1 -v -timeout 10m ./...
