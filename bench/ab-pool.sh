#!/bin/bash
# Two built checkouts side by side on a pooled hello app: `asgi` or `wsgi` (bench/apps/hello),
# `workers 2` and 2 Python processes each, as the app-server scenarios run it. Both run at
# once; wrk -t2 -c64 loads one, then the other, for ROUNDS rounds of 5 s, the order
# alternating each round. It prints each round's req/s and CPU per request (the whole process
# tree, and Node's processes alone), then medians and the per-round B/A ratio: a change to the
# pool judged in wall terms, not only in instructions (GC and batching move with real load).
# usage: bench/ab-pool.sh DIR_A DIR_B [asgi|wsgi] [ROUNDS]   (run with no other work on the box)
set -eu
A=$1; B=$2; KIND=${3:-asgi}; R=${4:-7}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$HERE/.venv/bin/python}
T=$(mktemp -d)
# the servers are started inside $(...), so they are no jobs of this shell: stopped by their pid files
stop() { for f in "$T"/*/pid; do [ -f "$f" ] && kill "$(cat "$f")" 2> /dev/null; done; sleep 1; rm -rf "$T"; }
trap stop EXIT
command -v wrk > /dev/null || { echo "needs wrk (apt-get install -y wrk)"; exit 2; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# start DIR NAME: runs gatekit from DIR in $T/NAME, waits for its first answer, prints its port
start() {
  local port; port=$(free_port); mkdir -p "$T/$2"
  printf 'global { workers 2 }\nserver {\n    listen 127.0.0.1:%s\n    %s hello_%s:application { python %s; chdir %s; workers 2 }\n}\n' \
    "$port" "$KIND" "$KIND" "$PY" "$HERE/bench/apps/hello" > "$T/$2/g.gate"
  (cd "$T/$2" && TMPDIR="$T/$2" exec node "$1/dist/bin/gatekit.js" run g.gate > log 2>&1) &
  echo $! > "$T/$2/pid"
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  echo "$port"
}
# ticks PID [node]: user + system clock ticks of PID's process tree (threads not counted twice), or of its Node processes
ticks() {
  local t=0 s
  for p in $(pstree -pT "$1" | grep -o "${2:-}([0-9]*)" | grep -o '[0-9][0-9]*'); do
    s=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2> /dev/null || echo 0); t=$((t + ${s:-0}))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)
# round TAG PORT PID: one 5 s load; prints TAG req/s, CPU us per request (tree), and Node's alone
round() {
  local t0 n0 t1 n1 rps
  t0=$(ticks "$3"); n0=$(ticks "$3" node)
  rps=$(wrk -t2 -c64 -d5s "http://127.0.0.1:$2/" | awk '/Requests\/sec/ { print $2 }')
  t1=$(ticks "$3"); n1=$(ticks "$3" node)
  awk -v tag="$1" -v r="$rps" -v a="$t0" -v b="$t1" -v c="$n0" -v d="$n1" -v hz="$HZ" \
    'BEGIN { printf "%s %.0f %.1f %.1f\n", tag, r, (b - a) * 1e6 / hz / (r * 5), (d - c) * 1e6 / hz / (r * 5) }'
}

PA=$(start "$A" a); PB=$(start "$B" b)
pa=$(cat "$T/a/pid"); pb=$(cat "$T/b/pid")
wrk -t2 -c64 -d2s "http://127.0.0.1:$PA/" > /dev/null; wrk -t2 -c64 -d2s "http://127.0.0.1:$PB/" > /dev/null
echo "round: build req/s cpu-us/req node-us/req  ($KIND hello, workers 2, 2 Python processes, wrk -t2 -c64 -d5s; A=$A B=$B)"
for r in $(seq "$R"); do
  if [ $((r % 2)) = 1 ]; then round A "$PA" "$pa"; round B "$PB" "$pb"; else round B "$PB" "$pb"; round A "$PA" "$pa"; fi
done | tee "$T/rounds"
python3 - "$T/rounds" << 'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
for tag in 'AB':
    r = [x for x in rows if x[0] == tag]
    print('%s median: %.0f req/s, %.1f us CPU/request (Node %.1f)' % (tag, st.median(float(x[1]) for x in r), st.median(float(x[2]) for x in r), st.median(float(x[3]) for x in r)))
a = [float(x[1]) for x in rows if x[0] == 'A']; b = [float(x[1]) for x in rows if x[0] == 'B']
ratios = [y / x for x, y in zip(a, b)]
print('B/A req/s per round:', ' '.join('%.3f' % q for q in ratios), '; median %.3f' % st.median(ratios))
PY
