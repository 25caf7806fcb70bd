#!/usr/bin/env bash
# HTTP/2 conformance: h2spec against Gatehouse's TLS and h2c listeners, on
# a route the gateway answers itself and on a route proxied to an HTTP/1.1
# origin. Everything runs on 127.0.0.1. Prints "N passed, M failed" per
# target and exits non-zero on any failure (or skip).
#
#   bash test/conformance/h2spec.sh
#
# Needs only go (and bash). h2spec comes from the Go module proxy: its
# newest release is v2.2.1 (+incompatible), which `@latest` resolves to; a
# pinned version was refused by the proxy here, so the script installs
# @latest and warns when it got another version than the one measured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PATH:/usr/local/go/bin"
export PATH="$PATH:$(go env GOPATH)/bin"

want_version="v2.2.1+incompatible"
if ! command -v h2spec >/dev/null; then
  echo "installing h2spec from the Go module proxy"
  go install github.com/summerwind/h2spec/cmd/h2spec@latest
fi
got_version=$(go version -m "$(command -v h2spec)" | awk '$1 == "mod" {print $3}')
if [ "$got_version" != "$want_version" ]; then
  echo "h2spec is $got_version, the counts below were made with $want_version" >&2
fi

work=$(mktemp -d)
gw_pid=""
cleanup() {
  if [ -n "$gw_pid" ]; then kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/gatehouse" ./cmd/gatehouse
# A self-signed certificate: Go's own generator (GOROOT), else openssl.
gen="$(go env GOROOT)/src/crypto/tls/generate_cert.go"
if [ -f "$gen" ]; then
  (cd "$work" && go run "$gen" -host 127.0.0.1,localhost -ecdsa-curve P256 -duration 24h >/dev/null 2>&1)
else
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
fi

# Loopback ports nobody answers on (bash's /dev/tcp: no other tools),
# below the kernel's ephemeral range: a port in it can be taken by any
# outgoing connection (this script's own probes included) between the
# check and the bind (seen: "admin listener ... address already in use").
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
eph_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$eph_low" -gt 11024 ] 2>/dev/null || eph_low=32768
taken=" "
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % (eph_low - 10000)))
    case "$taken" in *" $p "*) continue ;; esac
    listening "$p" || { taken="$taken$p "; echo "$p"; return; }
  done
}
tls_port=$(free_port); taken="$taken$tls_port "
h2c_port=$(free_port); taken="$taken$h2c_port "
origin_port=$(free_port); taken="$taken$origin_port "
admin_port=$(free_port)
sed -e "s|@TLS@|$tls_port|g" -e "s|@H2C@|$h2c_port|g" -e "s|@ORIGIN@|$origin_port|g" \
    -e "s|@ADMIN@|$admin_port|g" -e "s|@CERT@|$work/cert.pem|g" -e "s|@KEY@|$work/key.pem|g" \
    test/conformance/h2spec.yaml > "$work/gatehouse.yaml"

"$work/gatehouse" run -c "$work/gatehouse.yaml" >"$work/access.log" 2>"$work/gatehouse.log" &
gw_pid=$!
ready() { listening "$tls_port" && listening "$h2c_port" && listening "$origin_port"; }
for _ in $(seq 100); do
  ready && break
  kill -0 "$gw_pid" 2>/dev/null || { cat "$work/gatehouse.log" >&2; exit 1; }
  sleep 0.1
done
ready || { echo "gatehouse did not start listening" >&2; cat "$work/gatehouse.log" >&2; exit 1; }

status=0
run() { # name, h2spec arguments...
  local name=$1; shift
  local out="$work/$name.txt"
  h2spec -h 127.0.0.1 -o 5 "$@" >"$out" 2>&1 || true
  local summary
  summary=$(grep -E '^[0-9]+ tests, ' "$out" | tail -1)
  if [ -z "$summary" ]; then
    echo "$name: h2spec did not finish"; tail -20 "$out"; status=1; return
  fi
  # "145 tests, 145 passed, 0 skipped, 0 failed"
  read -r total passed skipped failed < <(echo "$summary" | sed -E 's/([0-9]+) tests, ([0-9]+) passed, ([0-9]+) skipped, ([0-9]+) failed/\1 \2 \3 \4/')
  echo "$name: $passed passed, $failed failed ($skipped skipped, $total tests)"
  if [ "$failed" != 0 ] || [ "$skipped" != 0 ]; then
    sed -n '/^Failures:/,$p' "$out"
    status=1
  fi
}
run tls-direct   -t -k -p "$tls_port"
run tls-proxied  -t -k -p "$tls_port" -P /proxied/h2spec
run h2c-direct   -p "$h2c_port"
run h2c-proxied  -p "$h2c_port" -P /proxied/h2spec
exit $status
