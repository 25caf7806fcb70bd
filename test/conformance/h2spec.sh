#!/usr/bin/env bash
# HTTP/2 conformance: h2spec against Gatehouse's TLS and h2c listeners, on
# a route the gateway answers itself and on a route proxied to an HTTP/1.1
# origin. Everything runs on 127.0.0.1. Prints "N passed, M failed" per
# target and exits non-zero on any failure (or skip).
#
#   bash test/conformance/h2spec.sh
#
# Needs go and openssl. h2spec comes from the Go module proxy: the only
# release there is v2.2.1 (+incompatible), which `@latest` resolves to; a
# pinned `@v2.2.1+incompatible` is not served everywhere, so the script
# installs @latest and checks the version it got.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"

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
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tls_port=$(free_port); h2c_port=$(free_port); origin_port=$(free_port); admin_port=$(free_port)
sed -e "s|@TLS@|$tls_port|g" -e "s|@H2C@|$h2c_port|g" -e "s|@ORIGIN@|$origin_port|g" \
    -e "s|@ADMIN@|$admin_port|g" -e "s|@CERT@|$work/cert.pem|g" -e "s|@KEY@|$work/key.pem|g" \
    test/conformance/h2spec.yaml > "$work/gatehouse.yaml"

"$work/gatehouse" run -c "$work/gatehouse.yaml" >"$work/access.log" 2>"$work/gatehouse.log" &
gw_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$gw_pid" 2>/dev/null || { cat "$work/gatehouse.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null || { echo "gatehouse did not become ready" >&2; exit 1; }

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
