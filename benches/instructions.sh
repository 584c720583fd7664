#!/usr/bin/env bash
# Instructions per request of a server, counted by callgrind: steady where
# the machine's speed is not (a 2-3% change shows; wall-clock req/s on a
# shared VM swings by 25%). RESULTS.md quotes its numbers.
#
#   benches/instructions.sh              # ours, pipelined x16, /plaintext
#   benches/instructions.sh ka           # keep-alive, one request at a time
#   benches/instructions.sh pipe /json   # another endpoint
#   SERVER=hyper benches/instructions.sh # a peer instead: hyper, actix, may, ceiling
#
# Installs valgrind and wrk (Debian packages) if missing. Runs the server on
# CPU 0 under valgrind, wrk -t1 -c16 for 8 s on CPU 1, then divides the
# program's total instructions (start-up included, ~0.1% here; callgrind
# counts every thread of the server in one file: actix-web runs several) by
# the requests wrk completed. A peer is built in benches/peers/ (its own
# workspace) the first time; hyper runs with --pipeline-flush, as in the
# request rounds of benches/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-pipe}
path=${2:-/plaintext}
server=${SERVER:-ours}
port=18090
for tool in valgrind wrk; do
    command -v "$tool" >/dev/null || apt-get install -y "$tool" >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y "$tool" >/dev/null; }
done
peers=benches/peers/target/release
case "$server" in
    ours)
        cargo build --release --example bench_server >/dev/null 2>&1
        command=(target/release/examples/bench_server --port "$port" --logging warning) ;;
    hyper | actix | may)
        (cd benches/peers && cargo build --release --quiet -p "${server}_server")
        command=("$peers/${server}_server" --port "$port")
        [[ $server == hyper ]] && command+=(--pipeline-flush) ;;
    ceiling)
        (cd benches/peers && cargo build --release --quiet -p ceiling)
        command=("$peers/ceiling" --port "$port") ;;
    *) echo "SERVER must be ours, hyper, actix, may or ceiling" >&2; exit 2 ;;
esac
work=$(mktemp -d /tmp/tornado-instructions.XXXXXX)
taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    "${command[@]}" >"$work/server.log" 2>&1 &
server_pid=$!
sleep 3
if [ "$mode" = pipe ]; then
    taskset -c 1 wrk -t1 -c16 -d8s -s benches/pipeline.lua "http://127.0.0.1:$port" -- 16 "$path" >"$work/wrk.log"
else
    taskset -c 1 wrk -t1 -c16 -d8s "http://127.0.0.1:$port$path" >"$work/wrk.log"
fi
kill -TERM "$server_pid"
wait "$server_pid" || true
requests=$(awk '/requests in/ {print $1}' "$work/wrk.log")
instructions=$(awk '/^summary:/ {print $2}' "$work/callgrind.out")
echo "$server $mode $path: $requests requests, $instructions instructions, $((instructions / requests)) per request"
echo "profile: callgrind_annotate --inclusive=yes $work/callgrind.out"
