#!/bin/bash
# Instructions per request of the Python process that serves the trivial asgi app
# (bench/apps/hello), counted by valgrind (callgrind): gatekit's asgi worker, for each built
# checkout given, and Uvicorn (uvloop + httptools, one process) as the yardstick: it parses
# HTTP too, so a gatekit worker, which gets its requests already parsed, should cost less.
# gatekit runs with `workers 0` and one Python worker; its `python` option is a wrapper that
# runs the pool's worker process (not its keeper) under valgrind. Each round warms up with N
# requests, then counts over N more; the checkouts alternate. Counts are user-space
# instructions of the whole process (event loop included), not the kernel's.
# usage: bench/count-python.sh DIR...   (env: ROUNDS=2 N=5000 C=8 PY=<repo>/.venv/bin/python UVICORN=1)
set -eu
ROUNDS=${ROUNDS:-2}; N=${N:-5000}; C=${C:-8}; UVICORN=${UVICORN:-1}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$HERE/.venv/bin/python}
APP=$HERE/bench/apps/hello
T=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install -y valgrind)"; exit 2; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
VG="valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$T/cg.out"
cat > "$T/python" << EOF
#!/bin/bash
# the pool's worker process under valgrind; its pid (valgrind's) in $T/vg.pid
if [ "\${3:-}" = worker ]; then echo \$\$ > "$T/vg.pid"; exec $VG "$PY" "\$@"; fi
exec "$PY" "\$@"
EOF
chmod +x "$T/python"

# measure PORT PID: warms up, counts N requests in process PID (valgrind's), prints instructions per request
measure() {
  for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$1/" && break; sleep 0.5; done
  node "$HERE/dist/bench/fixed-load.js" "http://127.0.0.1:$1/" "$N" "$C" > /dev/null
  callgrind_control -i on "$2" > /dev/null 2>&1
  node "$HERE/dist/bench/fixed-load.js" "http://127.0.0.1:$1/" "$N" "$C" > /dev/null
  callgrind_control -d "$2" > /dev/null 2>&1
  for _ in $(seq 100); do [ -s "$T/cg.out.1" ] && grep -q '^summary:' "$T/cg.out.1" && break; sleep 0.2; done
  awk -v n="$N" '/^summary:/ { printf "%d\n", $2 / n }' "$T/cg.out.1"
  [ -z "${KEEP:-}" ] || cp "$T/cg.out.1" "$KEEP.$(date +%s)"
}

# gatekit DIR: one round of that checkout's asgi worker
gatekit() {
  local port g; port=$(free_port)
  rm -f "$T"/cg.out* "$T/vg.pid"
  printf 'global { workers 0 }\nserver {\n    listen 127.0.0.1:%s\n    route / { asgi hello_asgi:application { chdir %s; python %s; workers 1 } }\n}\n' "$port" "$APP" "$T/python" > "$T/g.gate"
  node "$1/dist/bin/gatekit.js" run "$T/g.gate" > "$T/server.log" 2>&1 &
  g=$!
  for _ in $(seq 600); do [ -s "$T/vg.pid" ] && break; sleep 0.5; done
  measure "$port" "$(cat "$T/vg.pid")"
  kill $g; wait $g 2> /dev/null || true
}

uvicorn() {
  local port v; port=$(free_port)
  rm -f "$T"/cg.out*
  $VG "$PY" -m uvicorn --loop uvloop --http httptools --app-dir "$APP" --log-level warning --no-access-log --port "$port" hello_asgi:application > "$T/uvicorn.log" 2>&1 &
  v=$!
  measure "$port" $v
  kill $v; wait $v 2> /dev/null || true
}

echo "instructions per request of the Python process (valgrind; $N requests after $N warm-up, $C connections)"
for r in $(seq "$ROUNDS"); do
  row="round $r:"
  for d in "$@"; do row="$row $(basename "$d")=$(gatekit "$d")"; done
  [ "$UVICORN" = 0 ] || row="$row uvicorn=$(uvicorn)"
  echo "$row"
done
