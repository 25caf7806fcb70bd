#!/usr/bin/env bash
# Kubernetes Gateway API conformance: the suite of
# sigs.k8s.io/gateway-api/conformance v1.6.3 (profiles GATEWAY-HTTP and
# GATEWAY-GRPC, core and extended) against Gatehouse, without a cluster (see
# test/conformance/gatewayapi/doc.go). Everything listens on 127.0.0.0/8.
# Prints one line per test and the counts per profile section; exits
# non-zero on any unexpected failure.
#
#   bash test/conformance/gatewayapi.sh        # expected failures skipped
#   ALL=1 bash test/conformance/gatewayapi.sh  # run them too (a report:
#                                              # exits non-zero while any fails)
#   RUN='^HTTPRoute(CORS|Retry)$' bash test/conformance/gatewayapi.sh
#                                              # only tests whose name matches
#
# Needs only go: the suite and its dependencies come from the Go module
# proxy (go.mod pins them).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PATH:/usr/local/go/bin"

go mod download
if [ -n "${ALL:-}" ]; then export GATEHOUSE_CONFORMANCE_ALL=1; fi
if [ -n "${RUN:-}" ]; then export GATEHOUSE_CONFORMANCE_RUN="$RUN"; fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -count=1 -timeout 60m -run 'TestGatewayAPIConformance$' -v ./test/conformance/gatewayapi/ >"$out" 2>&1
rc=$?
# The per-test table and counts the test prints at the end.
sed -n '/^Gateway API conformance v/,/^COUNT all:/p' "$out"
if [ $rc -ne 0 ]; then
  echo "--- failures:"
  grep -E '^\s+--- FAIL' "$out" || tail -50 "$out"
fi
exit $rc
