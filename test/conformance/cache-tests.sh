#!/usr/bin/env bash
# Runs the HTTP caching test suite (http-cache-tests, the suite behind
# cache-tests.fyi) through Gatehouse's response cache, on loopback only:
#
#   suite client -> Gatehouse 127.0.0.1:$GH_PORT (cache policy) -> suite origin 127.0.0.1:$ORIGIN_PORT
#
# Prints Gatehouse's counts (passed, required/optional failures, setup
# failures) beside the published results of other caches over the same
# non-browser tests, and exits non-zero when a required test fails.
#
#   test/conformance/cache-tests.sh            # the whole suite
#   test/conformance/cache-tests.sh TEST-ID    # one test, with its exchange dumped
#   CACHE_TESTS_CONFIG=other.yaml test/conformance/cache-tests.sh   # another Gatehouse config
#
# Needs node/npm (the suite from the npm registry, pinned) and go.
set -euo pipefail

VERSION=0.4.5
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${CACHE_TESTS_WORK:-$here/.work}     # gitignored
GH_PORT=${GH_PORT:-18580}
ORIGIN_PORT=${ORIGIN_PORT:-18581}
export GH_PORT ORIGIN_PORT
mkdir -p "$work"

pkg=$work/node_modules/http-cache-tests
if [[ "$(node -p "require('$pkg/package.json').version" 2>/dev/null)" != "$VERSION" ]]; then
  echo "installing http-cache-tests@$VERSION" >&2
  npm install --prefix "$work" --no-audit --no-fund --no-save --loglevel=error "http-cache-tests@$VERSION" >&2
fi

echo "building gatehouse" >&2
(cd "$root" && go build -o "$work/gatehouse" ./cmd/gatehouse)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

(cd "$pkg" && npm_config_protocol=http npm_config_port=$ORIGIN_PORT npm_config_pidfile="$work/origin.pid" \
  exec node --import "$here/cache-tests/loopback.mjs" server/server.mjs >"$work/origin.log" 2>&1) &
pids+=($!)
"$work/gatehouse" run -c "${CACHE_TESTS_CONFIG:-$here/cache-tests.yaml}" >"$work/gatehouse.log" 2>&1 &
pids+=($!)

# Both up: a request through Gatehouse reaches the origin (its /state/ answers).
for i in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GH_PORT/state/ready" || true)
  [[ $code == 200 || $code == 404 ]] && break
  if [[ $i == 100 ]]; then
    echo "not ready (last status $code)"; cat "$work/gatehouse.log" "$work/origin.log"; exit 2
  fi
  sleep 0.1
done

if [[ $# -gt 0 ]]; then
  cd "$pkg" && npm_config_base="http://127.0.0.1:$GH_PORT" npm_config_id="$1" node --no-warnings cli.mjs
  exit 0
fi
(cd "$pkg" && npm_config_base="http://127.0.0.1:$GH_PORT" npm_config_id="" npm_package_config_id="" node --no-warnings cli.mjs) >"$work/results.json"
node "$here/cache-tests/summary.mjs" "$pkg" "$work/results.json"
