#!/usr/bin/env bash
# The main job: builds the Redis image in three MPK compartments (profiles/redis-3comp.yaml: app | net |
# core), starts it, and drives it with the real redis-cli and redis-benchmark; the image prints its gate
# counts when it exits. Without PKU on this CPU the image runs inside the PKU guest (scripts/pku-vm.sh):
# real protection keys on an emulated CPU, so fewer requests and slow figures there.
#
#   scripts/redis-demo.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-6390}"
image=build/images/redis-3comp/redis-3comp

if [ "${FLEX_DEMO_INNER:-}" != 1 ]; then
  build/bin/flexbuild --profile profiles/redis-3comp.yaml
  "$image" --describe
  if grep -qw pku /proc/cpuinfo && grep -qw ospke /proc/cpuinfo; then
    FLEX_DEMO_INNER=1 FLEX_DEMO_REQUESTS=100000 exec "$0" "$port"
  fi
  echo "redis-demo: this CPU has no protection keys; running the image on an emulated CPU that has them"
  FLEX_DEMO_INNER=1 FLEX_DEMO_REQUESTS=2000 exec scripts/pku-vm.sh -- "$0" "$port"
fi

log="$(mktemp)"
"$image" --gate-stats --port "$port" --bind 127.0.0.1 > "$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "redis-demo: the image exited"; exit 1; }
  sleep 0.2
done
cat "$log"
echo "\$ redis-cli set greeting 'hello from redis-3comp'"
redis-cli -p "$port" set greeting 'hello from redis-3comp'
echo "\$ redis-cli get greeting"
redis-cli -p "$port" get greeting
echo "\$ redis-benchmark -t set,get,incr,lpush,lpop,ping -n ${FLEX_DEMO_REQUESTS} -c 50 -q"
redis-benchmark -p "$port" -t set,get,incr,lpush,lpop,ping -n "${FLEX_DEMO_REQUESTS}" -c 50 -q | tr '\r' '\n' | grep 'per second'
kill -TERM "$pid"
wait "$pid"
trap - EXIT
echo "redis-demo: the image exited with status 0; its gate counts:"
grep '^gate-stats' "$log" | grep -v ': 0 calls'
rm -f "$log"
