#!/usr/bin/env bash
# gRPC interop conformance: grpc-go's own interop client and server
# (google.golang.org/grpc/interop, the version in go.mod, built from the Go
# module proxy) with Gatehouse in between, over an h2c listener and a TLS
# listener. Every test case runs through each listener; the script prints
# "N passed, M failed" per listener and exits non-zero if any case failed.
#
# Usage: test/conformance/grpc-interop.sh            (from anywhere in the repo)
#        INTEROP_CASES="empty_unary large_unary" test/conformance/grpc-interop.sh
#
# Needs: go, and unshare (util-linux) with network namespaces (installs
# curl, iproute2 and util-linux with apt-get if missing). The stock
# interop server listens on all interfaces (":port"), so the servers,
# Gatehouse and the client run in a private network namespace whose only
# interface is loopback: nothing is reachable from, or sent to, any other
# address. The TLS listener serves grpc-go's test certificate
# (testdata/server1.pem, for *.test.google.fr) and the client trusts
# grpc-go's test CA, as grpc-go's own interop_test.sh does.
set -euo pipefail
script=$(readlink -f "${BASH_SOURCE[0]}")

# The cases of grpc-go's own interop/interop_test.sh, all 18: the 16 of
# the earlier measurement (issue 9) plus the two ORCA load-report cases,
# which pass once the client gets interop_test.sh's service config (below).
# The soak cases run 10 iterations each.
DEFAULT_CASES="empty_unary large_unary client_streaming server_streaming ping_pong
empty_stream timeout_on_sleeping_server cancel_after_begin
cancel_after_first_response status_code_and_message special_status_message
custom_metadata unimplemented_method unimplemented_service orca_per_rpc orca_oob
rpc_soak channel_soak"

# Fixed ports: the namespace is private, nothing else binds in it.
SERVER_PORT=10000 H2C_PORT=18080 TLS_PORT=18443 ADMIN_PORT=19901

if [ "${1:-}" = "--in-netns" ]; then
  # Phase 2, inside the namespace: run everything and count.
  work=$2 testdata=$3
  ip link set lo up
  pids=()
  cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
  trap cleanup EXIT

  "$work/bin/server" --port=$SERVER_PORT >"$work/server.log" 2>&1 &
  pids+=($!)
  cat >"$work/gatehouse.yaml" <<YAML
listeners:
  - {name: h2c, address: "127.0.0.1:$H2C_PORT", h2c: true}
  - name: tls
    address: "127.0.0.1:$TLS_PORT"
    protocol: https
    tls: {certificates: [{cert_file: "$testdata/server1.pem", key_file: "$testdata/server1.key"}]}
upstreams:
  - {name: interop, protocol: http2, targets: [{url: "http://127.0.0.1:$SERVER_PORT"}]}
routes:
  - name: grpc
    backend: {upstream: interop}
access_log: {enabled: false}
admin:
  address: "127.0.0.1:$ADMIN_PORT"
YAML
  "$work/gatehouse" run -c "$work/gatehouse.yaml" >"$work/gatehouse.log" 2>&1 &
  pids+=($!)

  # Wait (bounded) for Gatehouse's readiness and the interop server's port.
  ready=""
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 &&
       (exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT") 2>/dev/null; then
      ready=1; break
    fi
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    echo "gatehouse or the interop server did not come up within 30 s" >&2
    tail -20 "$work/gatehouse.log" "$work/server.log" >&2
    exit 1
  fi

  total_failed=0
  for listener in h2c tls; do
    pass=0 fail=0 failed=""
    if [ $listener = h2c ]; then
      args=(--server_port=$H2C_PORT)
    else
      args=(--server_port=$TLS_PORT --use_tls --use_test_ca --ca_file="$testdata/ca.pem"
            --server_host_override=foo.test.google.fr)
    fi
    for c in ${INTEROP_CASES:-$DEFAULT_CASES}; do
      # The service config is interop_test.sh's: the ORCA cases need its
      # test balancer; the others ignore it.
      if timeout 120 "$work/bin/client" --server_host=127.0.0.1 "${args[@]}" --test_case="$c" \
           --service_config_json='{"loadBalancingConfig": [{"test_backend_metrics_load_balancer": {}}]}' \
           >"$work/client-$listener-$c.log" 2>&1; then
        pass=$((pass + 1))
      else
        fail=$((fail + 1)); failed="$failed $c"
        echo "--- $listener: $c failed:" >&2
        tail -5 "$work/client-$listener-$c.log" >&2
      fi
    done
    echo "$listener listener: $pass passed, $fail failed${failed:+ (failed:$failed)}"
    total_failed=$((total_failed + fail))
  done
  if [ $total_failed -ne 0 ]; then
    echo "--- gatehouse log (last 20 lines):" >&2
    tail -20 "$work/gatehouse.log" >&2
    exit 1
  fi
  exit 0
fi

# Phase 1: build everything (this needs the module proxy, so it runs
# outside the namespace), then re-run this script inside one.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
# curl, ip and unshare come from Debian packages; install what is missing.
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in go unshare ip curl timeout; do
  command -v $tool >/dev/null || { echo "grpc-interop: $tool not found" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version=$(go list -m -f '{{.Version}}' google.golang.org/grpc)
echo "building gatehouse and grpc-go $version interop server and client"
go build -o "$work/gatehouse" ./cmd/gatehouse
# Outside the repository's module: each tool is built with grpc-go's own
# go.mod at that version, as released.
(cd "$work" && GOBIN="$work/bin" GOFLAGS=-mod=mod go install \
   "google.golang.org/grpc/interop/server@$version" "google.golang.org/grpc/interop/client@$version")
testdata="$(go env GOMODCACHE)/google.golang.org/grpc@$version/testdata"
[ -f "$testdata/server1.pem" ] || { echo "grpc-interop: $testdata/server1.pem missing" >&2; exit 1; }

# A private network namespace with loopback only. As root, -n alone is
# enough; otherwise a user namespace (-r) grants it.
if [ "$(id -u)" -eq 0 ]; then netns=(unshare -n); else netns=(unshare -rn); fi
"${netns[@]}" true 2>/dev/null || {
  echo "grpc-interop: cannot create a network namespace (${netns[*]}); refusing to start the interop server, which listens on all interfaces" >&2
  exit 1
}
"${netns[@]}" bash "$script" --in-netns "$work" "$testdata"
