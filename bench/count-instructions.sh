#!/bin/bash
# Instructions per request of two gatekit builds, counted by valgrind (callgrind), for `respond`,
# `static` (1 KiB) and `proxy`, with `workers 0`. A count does not move with the machine's load
# as CPU time does, so two builds compare within ~1% even on a busy box. Each round runs a
# build under valgrind, warms it up with N requests, then counts over N more; builds alternate.
# It counts the server's own instructions (user space), not the kernel's work for its syscalls.
# usage: bench/count-instructions.sh OLD_DIR NEW_DIR   (each a built checkout; env: ROUNDS=2 N=20000 PATHS="/r /page.html /p")
set -eu
OLD=$1; NEW=$2; ROUNDS=${ROUNDS:-2}; N=${N:-20000}; PATHS=${PATHS:-/r /page.html /p}
HERE=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install -y valgrind)"; exit 2; }
printf '%1024s' '' | tr ' ' x > "$T/page.html"
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
UP=$(free_port)
node "$HERE/dist/bench/bare-server.js" "$UP" 2> /dev/null &

# count DIR PATH: prints the instructions per request of one round
count() {
  local port; port=$(free_port)
  printf 'global { workers 0 }\nserver {\n    listen 127.0.0.1:%s\n    route = /r { respond "hello world\\n" }\n    route = /page.html { static %s }\n    route /p { proxy http://127.0.0.1:%s }\n}\n' "$port" "$T" "$UP" > "$T/g.gate"
  rm -f "$T"/cg.out*
  valgrind --tool=callgrind --smc-check=all-non-file --instr-atstart=no --callgrind-out-file="$T/cg.out" \
    node "$1/dist/bin/gatekit.js" run "$T/g.gate" > "$T/server.log" 2>&1 &
  local v=$!
  for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/r" && break; sleep 0.5; done
  node "$HERE/dist/bench/fixed-load.js" "http://127.0.0.1:$port$2" "$N" > /dev/null
  callgrind_control -i on $v > /dev/null 2>&1
  node "$HERE/dist/bench/fixed-load.js" "http://127.0.0.1:$port$2" "$N" > /dev/null
  callgrind_control -d $v > /dev/null 2>&1
  for _ in $(seq 100); do [ -s "$T/cg.out.1" ] && grep -q '^summary:' "$T/cg.out.1" && break; sleep 0.2; done
  kill $v; wait $v 2> /dev/null || true
  awk -v n="$N" '/^summary:/ { printf "%d\n", $2 / n }' "$T/cg.out.1"
}

echo "path old new new/old  (instructions per request; valgrind, workers 0, $N requests after $N warm-up, 8 connections)"
for p in $PATHS; do
  for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then o=$(count "$OLD" "$p"); n=$(count "$NEW" "$p"); else n=$(count "$NEW" "$p"); o=$(count "$OLD" "$p"); fi
    echo "$p $o $n $(awk -v a="$o" -v b="$n" 'BEGIN { printf "%.3f", b / a }')"
  done
done
