#!/usr/bin/env bash
# compare.sh — layer 4 (TCP) proxy benchmark: HAProxy (mode tcp), NGINX (stream) and
# Gatehouse (protocol: tcp) side by side in front of one backend, everything on loopback,
# one run on one machine.
#
#   bash bench/l4/compare.sh                        # from anywhere in the repository
#   ROUNDS=5 BULK_BYTES=$((8<<30)) bash bench/l4/compare.sh
#   TARGETS="haproxy nginx" bash bench/l4/compare.sh   # without Gatehouse
#
# It builds bench/l4/backend, bench/l4/client and ./cmd/gatehouse, installs haproxy and
# nginx + libnginx-mod-stream with apt-get when missing, starts the backend (bulk stream on
# :9201, 64-byte echo on :9202) and each proxy on its own pair of ports, then measures, in
# ROUNDS interleaved rounds (the starting target rotates each round):
#   (a) bulk: one connection reads BULK_BYTES through the proxy; GB/s (10^9 bytes/s)
#   (b) conns: CONNS workers for DURATION each loop connect, send 64 bytes, read the 64-byte
#       echo, close; connections per second
# and prints the medians with ratios to HAProxy. "direct" is the backend without a proxy.
#
# Ports (127.0.0.1): backend 9201/9202, haproxy 9211/9212, nginx 9221/9222,
# gatehouse 9231/9232 (admin 9239; see bench/l4/gatehouse.yaml).
# Peer settings are defaults plus what a comparison needs: HAProxy nbthread = nproc, NGINX
# worker_processes auto (Go uses GOMAXPROCS = nproc), no logs, generous timeouts. Buffers stay
# at their defaults (HAProxy bufsize 16 KiB, NGINX proxy_buffer_size 16 KiB; Gatehouse splices).
#
# Environment (all optional):
#   ROUNDS=3  BULK_BYTES=4294967296  CONNS=32  DURATION=10s
#   TARGETS   default "direct haproxy nginx gatehouse" (any subset)
# Output: one line per measurement, then the table. cpu% = CPU used by the proxy (with its
# children) during that measurement, 100 = one core.
# Exit status: 0 ok; 1 setup failed or a target did not answer; 3 a target had errors.
set -uo pipefail

die() { echo "compare.sh: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin" DEBIAN_FRONTEND=noninteractive
ROUNDS=${ROUNDS:-3} BULK_BYTES=${BULK_BYTES:-4294967296} CONNS=${CONNS:-32} DURATION=${DURATION:-10s}
read -ra targets <<<"${TARGETS-direct haproxy nginx gatehouse}"
declare -A BULK=([direct]=127.0.0.1:9201 [haproxy]=127.0.0.1:9211 [nginx]=127.0.0.1:9221 [gatehouse]=127.0.0.1:9231)
declare -A ECHO=([direct]=127.0.0.1:9202 [haproxy]=127.0.0.1:9212 [nginx]=127.0.0.1:9222 [gatehouse]=127.0.0.1:9232)
declare -A PID=()
cores=$(nproc)
tck=$(getconf CLK_TCK)

for v in ROUNDS BULK_BYTES CONNS; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"; done
[[ $DURATION =~ ^[1-9][0-9]*(ms|s|m)$ ]] || die "DURATION must look like 10s"
((${#targets[@]})) || die "TARGETS is empty"
for t in "${targets[@]}"; do [[ -n ${BULK[$t]:-} ]] || die "unknown target '$t' (use direct haproxy nginx gatehouse)"; done
command -v go >/dev/null || die "go is not installed"

has() { local t; for t in "${targets[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }

# --- installs -----------------------------------------------------------------------------
need=()
has haproxy && ! command -v haproxy >/dev/null && need+=(haproxy)
if has nginx; then
  command -v nginx >/dev/null || need+=(nginx)
  [[ -e /usr/lib/nginx/modules/ngx_stream_module.so ]] || need+=(libnginx-mod-stream)
fi
if ((${#need[@]})); then
  echo "installing ${need[*]} with apt-get ..." >&2
  { apt-get install -y -qq "${need[@]}" || { apt-get update -qq && apt-get install -y -qq "${need[@]}"; }; } \
    >/dev/null 2>&1 || die "apt-get install ${need[*]} failed"
fi

# --- process helpers (only what this script started is ever stopped) ---------------------
work=$(mktemp -d -t l4compare.XXXXXX)
chmod 755 "$work"
pids=()

alive() {
  local s
  read -r s 2>/dev/null <"/proc/$1/stat" || return 1
  s=${s##*) }
  [[ ${s:0:1} != Z ]]
}

# children PID: direct child PIDs (NGINX workers)
children() {
  local f s
  for f in /proc/[0-9]*/stat; do
    read -r s 2>/dev/null <"$f" || continue
    s=${s##*) } s=${s#* }
    [[ ${s%% *} == "$1" ]] && { f=${f#/proc/}; echo "${f%/stat}"; }
  done
}

# cputicks PID: user+system ticks of PID and its direct children
cputicks() {
  local total=0 p s f
  for p in "$1" $(children "$1"); do
    read -r s 2>/dev/null <"/proc/$p/stat" || continue
    read -ra f <<<"${s##*) }"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

cleanup() {
  local p c i
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for ((i = 0; i < 50; i++)); do
    c=0
    for p in "${pids[@]}"; do alive "$p" && c=1; done
    ((c)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    alive "$p" || continue
    for c in $(children "$p"); do kill -KILL "$c" 2>/dev/null; done
    kill -KILL "$p" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  PID[$name]=$!
}

port_busy() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# wait_up NAME: until one echo exchange through NAME works (about 20 s at most)
wait_up() {
  local i
  for ((i = 0; i < 200; i++)); do
    "$work/client" -mode once -addr "${ECHO[$1]}" 2>/dev/null && return 0
    alive "${PID[$1]}" || break
    sleep 0.1
  done
  echo "compare.sh: $1 does not forward ${ECHO[$1]} to the echo backend; its log ends:" >&2
  tail -n 20 "$work/$1.log" >&2
  return 1
}

# --- build and start ----------------------------------------------------------------------
for t in "${targets[@]}"; do
  [[ $t == direct ]] && continue
  for a in "${BULK[$t]}" "${ECHO[$t]}"; do port_busy "$a" && die "$a is already in use; stop what listens there first"; done
done
for a in "${BULK[direct]}" "${ECHO[direct]}"; do port_busy "$a" && die "$a is already in use; stop what listens there first"; done

(cd "$root" && go build -o "$work/backend" ./bench/l4/backend && go build -o "$work/client" ./bench/l4/client) ||
  die "building bench/l4/backend or bench/l4/client failed"
if has gatehouse; then
  (cd "$root" && go build -o "$work/gatehouse" ./cmd/gatehouse) || die "building ./cmd/gatehouse failed"
fi

start backend "$work/backend" -bulk "${BULK[direct]}" -echo "${ECHO[direct]}"
PID[direct]=${PID[backend]}
wait_up direct || exit 1

if has haproxy; then
  cat >"$work/haproxy.cfg" <<EOF
global
    nbthread $cores
    maxconn 8000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend bulk
    bind ${BULK[haproxy]}
    default_backend bulk
backend bulk
    server s1 ${BULK[direct]}
frontend echo
    bind ${ECHO[haproxy]}
    default_backend echo
backend echo
    server s1 ${ECHO[direct]}
EOF
  start haproxy haproxy -db -f "$work/haproxy.cfg"
  wait_up haproxy || exit 1
fi

if has nginx; then
  cat >"$work/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes auto;
worker_rlimit_nofile 16384;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 8192; }
stream {
    proxy_connect_timeout 5s;
    proxy_timeout 60s;
    server { listen ${BULK[nginx]}; proxy_pass ${BULK[direct]}; }
    server { listen ${ECHO[nginx]}; proxy_pass ${ECHO[direct]}; }
}
EOF
  start nginx nginx -e "$work/nginx.err" -p "$work" -c "$work/nginx.conf"
  wait_up nginx || exit 1
fi

if has gatehouse; then
  start gatehouse "$work/gatehouse" run -c "$here/gatehouse.yaml"
  wait_up gatehouse || exit 1
fi

versions="$(go version | cut -d' ' -f3)"
has haproxy && versions+=" | $(haproxy -v | head -1 | cut -d' ' -f1,3)"
has nginx && versions+=" | $(nginx -v 2>&1 | cut -d' ' -f3)"
has gatehouse && versions+=" | gatehouse $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo "(no git)")"
echo "# l4 compare.sh $(date -u +%FT%TZ)  nproc=$cores  $(uname -sr)"
echo "# $versions"
echo "# rounds=$ROUNDS  bulk=$BULK_BYTES bytes on 1 connection  conns: $CONNS workers x $DURATION, 64 B each way"

# --- measure ------------------------------------------------------------------------------
now() { date +%s.%N; }
# cpu_pct PID T0 TICKS0: CPU% of PID since T0
cpu_pct() {
  [[ $1 == - ]] && { echo -; return; }
  awk -v d="$(($(cputicks "$1") - $3))" -v tck="$tck" -v t0="$2" -v t1="$(now)" 'BEGIN { printf "%.0f", 100 * d / tck / (t1 - t0) }'
}
errors=0
for ((r = 0; r < ROUNDS; r++)); do
  n=${#targets[@]}
  for ((i = 0; i < n; i++)); do
    t=${targets[$(((i + r) % n))]}
    p=${PID[$t]}
    [[ $t == direct ]] && p=-
    t0=$(now) k0=0
    [[ $p != - ]] && k0=$(cputicks "$p")
    if ! gbps=$("$work/client" -mode bulk -addr "${BULK[$t]}" -bytes "$BULK_BYTES" 2>"$work/err"); then
      echo "round $((r + 1)) $t bulk: FAILED: $(cat "$work/err")" >&2
      errors=$((errors + 1))
      continue
    fi
    cpu=$(cpu_pct "$p" "$t0" "$k0")
    echo "$gbps" >>"$work/$t.bulk"
    echo "$cpu" >>"$work/$t.bulkcpu"
    printf 'round %d  %-9s bulk   %8s GB/s    cpu%% %s\n' $((r + 1)) "$t" "$gbps" "$cpu"

    t0=$(now) k0=0
    [[ $p != - ]] && k0=$(cputicks "$p")
    read -r rate errs < <("$work/client" -mode conns -addr "${ECHO[$t]}" -c "$CONNS" -d "$DURATION" 2>"$work/err")
    cpu=$(cpu_pct "$p" "$t0" "$k0")
    if [[ -z ${rate:-} ]]; then
      echo "round $((r + 1)) $t conns: FAILED: $(cat "$work/err")" >&2
      errors=$((errors + 1))
      continue
    fi
    ((errs > 0)) && { errors=$((errors + errs)); echo "round $((r + 1)) $t conns: $errs errors ($(cat "$work/err"))" >&2; }
    echo "$rate" >>"$work/$t.conns"
    echo "$cpu" >>"$work/$t.connscpu"
    printf 'round %d  %-9s conns  %8s conn/s  cpu%% %s  errors %s\n' $((r + 1)) "$t" "$rate" "$cpu" "$errs"
  done
done

median() {
  [[ -s $1 ]] || { echo -; return; }
  [[ $(head -1 "$1") == - ]] && { echo -; return; }
  sort -g "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { [[ $1 == - || $2 == - ]] && { echo -; return; }; awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

hb=- hc=-
has haproxy && hb=$(median "$work/haproxy.bulk") hc=$(median "$work/haproxy.conns")
echo
printf '%-10s %10s %8s %9s %12s %8s %9s\n' target "bulk GB/s" "cpu%" "x haproxy" "conns/s" "cpu%" "x haproxy"
for t in "${targets[@]}"; do
  b=$(median "$work/$t.bulk") c=$(median "$work/$t.conns")
  printf '%-10s %10s %8s %9s %12s %8s %9s\n' "$t" "$b" "$(median "$work/$t.bulkcpu")" "$(ratio "$b" "$hb")" \
    "$c" "$(median "$work/$t.connscpu")" "$(ratio "$c" "$hc")"
done
for t in "${targets[@]}"; do
  [[ $t == haproxy ]] && continue
  echo "ratio $t/haproxy bulk=$(ratio "$(median "$work/$t.bulk")" "$hb") conns=$(ratio "$(median "$work/$t.conns")" "$hc")"
done
((errors == 0)) || exit 3
