#!/usr/bin/env bash
# tornado-rs beside its peers: one command, one table (issue 6).
#
#   benches/run.sh                 # full pass (~9 minutes on 2 cores)
#   benches/run.sh --quick         # ~1-2 minute pass: shorter runs, fewer connections
#   benches/run.sh --servers ours,hyper,ceiling   # a subset (ours is always useful to keep)
#   benches/run.sh --no-write      # print the table, leave benches/RESULTS.md alone
#   benches/run.sh --rev HEAD      # build our server from a commit (git archive), not the work tree
#   benches/run.sh --rounds 5      # each measurement is the best of N rounds (full: 3 x 5 s)
#
# Servers: ours (examples/bench_server.rs), hyper (1.x, tokio current_thread;
# pipeline_flush on for the request metrics, off for streaming and memory),
# actix (actix-web 4, one worker), may (may_minihttp, one worker), ceiling (a
# bare mio loop answering every request with a canned response; for streaming
# its column is `rawcopy`, a plain 64 KiB-write socket copy), tornado (Python
# Tornado, one process). Peers live in benches/peers/, a separate cargo
# workspace, so the repository's own build never compiles them.
#
# Each server runs alone, pinned to CPU 0 (taskset -c 0); every load generator
# (wrk with one thread, curl, idleconns) is pinned to CPU 1.
#
# Request rates are measured in rounds interleaved across the servers: round 1
# gives every server a turn (start it, warm it up, one wrk run per request
# metric, stop it), then round 2 does the same, and so on; each metric is the
# best of the rounds. A shared machine's speed drifts by 30% and more within
# minutes; measured one server after another, each server would get its own
# stretch of noise and the ours / peer ratios would swing with it. Interleaved,
# every server is measured in every stretch. Streaming follows in interleaved
# rounds of its own (each server in turn: start it, one download, stop it; the
# ceiling column's turn is rawcopy's, read by curl and by a bare reader): the
# streaming speed of one server swings 1.3-2.5 GB/s within a minute, more than
# the differences between servers. Memory comes last, one server at a time:
# it does not drift with the machine's speed.
#
# Metrics:
#   plaintext req/s, 64 connections             wrk -t1 -c64 --latency
#   p50 / p99 latency of that run
#   plaintext req/s, pipelined depth 16          wrk -s benches/pipeline.lua
#   JSON req/s, 64 connections
#   server CPU time per request (and per GiB streamed), from /proc/PID/stat:
#     with one wrk thread as the load, req/s at 64 connections is often
#     wrk's own limit; CPU per request is what separates the servers and
#     what other work on a shared machine disturbs least. Its user-space
#     part has rows of its own: the server's own code, the rest being the
#     kernel's socket work, much the same for every server
#   streaming MB/s: one 1 GiB response in 64 KiB chunks, read by curl (the
#     best of the rounds; its CPU per GiB is the least of the rounds)
#   idle keep-alive: RSS growth per connection and peak RSS with 10,000
#     connections that each made one request (benches/peers idleconns)
#   slow clients: RSS with 1,000 clients that request a 1 GiB stream and read
#     nothing (backpressure: the server must not buffer the response)
# Ratios in the table are ours / peer. For req/s and MB/s higher is better;
# for latency and memory lower is better.
#
# Results (table, date, machine, command) go to benches/RESULTS.md between
# the "results:begin/end" markers; text outside the markers is kept.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCHES="$ROOT/benches"
PEERS="$BENCHES/peers"
COMMAND="benches/run.sh${*:+ $*}"

QUICK=0
WRITE=1
REV=""
ROUNDS=""
SERVERS="ours,hyper,actix,may,ceiling,tornado"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-write) WRITE=0 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --rounds=*) ROUNDS="${1#--rounds=}" ;;
        --rev) REV="$2"; shift ;;
        --rev=*) REV="${1#--rev=}" ;;
        --servers) SERVERS="$2"; shift ;;
        --servers=*) SERVERS="${1#--servers=}" ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

if [[ $QUICK == 1 ]]; then
    DURATION=2; WARMUP=1; ROUNDS=${ROUNDS:-1}; IDLE_CONNS=2000; SLOW_CONNS=200; SLOW_SETTLE=2
    STREAM_BYTES=$((256 * 1024 * 1024))
else
    DURATION=5; WARMUP=3; ROUNDS=${ROUNDS:-3}; IDLE_CONNS=10000; SLOW_CONNS=1000; SLOW_SETTLE=5
    STREAM_BYTES=$((1024 * 1024 * 1024))
fi
CONNS=64
DEPTH=16
SERVER_CPU=0
CLIENT_CPU=1

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- tools ----------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (Debian package)"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
for tool in curl taskset python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool" >&2; exit 1; }
done
if [[ $(nproc) -lt 2 ]]; then
    log "warning: fewer than 2 CPUs; server and load generator will share CPU 0"
    CLIENT_CPU=0
fi

# 10,000 connections need 10,000+ descriptors in the server and in idleconns.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < IDLE_CONNS + 200 )); then
    IDLE_CONNS=$(( $(ulimit -n) - 200 ))
    log "warning: ulimit -n is $(ulimit -n); holding only $IDLE_CONNS idle connections"
fi

# --- build ----------------------------------------------------------------
if [[ -n $REV ]]; then
    # A clean tree of that commit, so uncommitted work does not leak in.
    SOURCE="$ROOT/target/bench-src"
    OURS_VERSION="$(git -C "$ROOT" rev-parse --short "$REV")"
    log "building examples/bench_server at $OURS_VERSION (release, from git archive)"
    rm -rf "$SOURCE"; mkdir -p "$SOURCE"
    git -C "$ROOT" archive "$REV" | tar -x -C "$SOURCE"
    [[ -f $SOURCE/examples/bench_server.rs ]] || cp "$ROOT/examples/bench_server.rs" "$SOURCE/examples/"
    (cd "$SOURCE" && CARGO_TARGET_DIR="$ROOT/target/bench-rev" cargo build --release --quiet --example bench_server)
    OURS_BIN="$ROOT/target/bench-rev/release/examples/bench_server"
else
    OURS_VERSION="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) (work tree)"
    log "building examples/bench_server (release)"
    (cd "$ROOT" && cargo build --release --quiet --example bench_server)
    OURS_BIN="$ROOT/target/release/examples/bench_server"
fi

log "building benches/peers (release, its own workspace)"
BUILT=""
for pkg in hyper_server actix_server may_server ceiling bench_tools; do
    if (cd "$PEERS" && cargo build --release --quiet -p "$pkg"); then
        BUILT="$BUILT $pkg"
    else
        log "warning: $pkg failed to build; its column will be empty"
    fi
done
PEER_BIN="$PEERS/target/release"
[[ -x $PEER_BIN/idleconns && -x $PEER_BIN/rawcopy ]] || { echo "bench_tools did not build" >&2; exit 1; }

python3 -c 'import tornado' 2>/dev/null || {
    log "installing tornado from PyPI"
    python3 -m pip install --quiet tornado
}

# --- servers ----------------------------------------------------------------
port_of() {
    case "$1" in
        ours) echo 18081 ;; hyper) echo 18082 ;; actix) echo 18083 ;;
        may) echo 18084 ;; ceiling) echo 18085 ;; tornado) echo 18086 ;;
        rawcopy) echo 18087 ;;
    esac
}

command_of() {
    local port; port=$(port_of "$1")
    case "$1" in
        # Like Tornado, ours logs every request at INFO by default.
        ours) echo "$OURS_BIN --port $port --threads 1 --logging warning" ;;
        # pipeline_flush for the request rounds only: it is what hyper's own
        # benchmarks set for pipelining, and it would buffer a slow client's
        # stream without bound (see benches/peers/hyper_server).
        hyper) echo "$PEER_BIN/hyper_server --port $port${PHASE_REQUESTS:+ --pipeline-flush}" ;;
        actix) echo "$PEER_BIN/actix_server --port $port" ;;
        may) echo "$PEER_BIN/may_server --port $port" ;;
        ceiling) echo "$PEER_BIN/ceiling --port $port" ;;
        # Tornado logs every request at INFO by default; production runs do not.
        tornado) echo "python3 $PEERS/tornado_server.py --port $port --logging warning" ;;
        rawcopy) echo "$PEER_BIN/rawcopy serve --port $port --bytes $STREAM_BYTES --chunk 65536" ;;
    esac
}

has_binary() {
    case "$1" in
        hyper) [[ $BUILT == *hyper_server* ]] ;;
        actix) [[ $BUILT == *actix_server* ]] ;;
        may) [[ $BUILT == *may_server* ]] ;;
        ceiling) [[ $BUILT == *ceiling* ]] ;;
        *) true ;;
    esac
}

WORK="$(mktemp -d /tmp/tornado-bench.XXXXXX)"
RESULTS="$WORK/results.tsv"
ROUNDS_TSV="$WORK/rounds.tsv"   # every wrk run, before the best of the rounds is taken
STREAM_TSV="$WORK/streams.tsv"  # every download, likewise
NOTES="$WORK/notes.txt"
: >"$RESULTS"; : >"$ROUNDS_TSV"; : >"$STREAM_TSV"; : >"$NOTES"
SERVER_PID=""
IDLE_PID=""

cleanup() {
    if [[ -n $IDLE_PID ]]; then kill "$IDLE_PID" 2>/dev/null || true; fi
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    wait 2>/dev/null || true
}
trap cleanup EXIT

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }
note() { log "NOTE: $*"; printf '%s\n' "$*" >>"$NOTES"; }

# Whether something listens on the TCP port (state 0A in /proc/net/tcp*).
listening() { # port
    awk -v p=":$(printf '%04X' "$1")" '
        $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
        END { exit !found }' /proc/net/tcp*
}

# Whether the server is ready for its measurements. rawcopy answers any
# request with its whole stream, so it is only checked for listening.
answers() { # name
    local port; port=$(port_of "$1")
    if [[ $1 == rawcopy ]]; then
        listening "$port"
    else
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/plaintext"
    fi
}

start_server() { # name
    local name=$1 port
    port=$(port_of "$name")
    # shellcheck disable=SC2046
    taskset -c "$SERVER_CPU" $(command_of "$name") >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    local _
    for _ in $(seq 1 100); do
        if answers "$name"; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    note "$name: did not answer on port $port (log: $(tail -3 "$WORK/$name.log" | tr '\n' ' '))"
    stop_server
    return 1
}

stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

alive() { # name phase
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        note "$1: server process died during $2 (log: $(tail -3 "$WORK/$1.log" | tr '\n' ' '))"
        SERVER_PID=""
        return 1
    fi
    if ! curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$(port_of "$1")/plaintext"; then
        note "$1: server stopped answering after $2"
        return 1
    fi
}

status_kib() { # pid field -> KiB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# wrk output -> "req_per_s p50_us p99_us errors total_requests"
parse_wrk() {
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def us(v, unit):
    return float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
total = re.search(r"(\d+) requests in", text)
p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
errors = []
m = re.search(r"Socket errors: (.*)", text)
if m:
    errors.append("socket errors: " + m.group(1).strip())
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m:
    errors.append("non-2xx responses: " + m.group(1))
print(rps.group(1) if rps else "nan",
      us(*p50.groups()) if p50 else "nan",
      us(*p99.groups()) if p99 else "nan",
      "; ".join(errors) or "-", total.group(1) if total else "0", sep="\t")
PY
}

# CPU time the server process has used, in microseconds: "user system".
cpu_us() {
    awk -v hz="$(getconf CLK_TCK)" '{ print $14 * 1000000 / hz, $15 * 1000000 / hz }' "/proc/$1/stat"
}

# CPU microseconds between two cpu_us readings, divided by `per` (1 if not
# given; nan if it is 0): "user+system user".
cpu_between() { # before after [per]
    python3 -c 'import sys
b, a = [list(map(float, x.split())) for x in sys.argv[1:3]]
per = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
nan = float("nan")
print((sum(a) - sum(b)) / per if per > 0 else nan, (a[0] - b[0]) / per if per > 0 else nan)' "$@"
}

# One wrk run against the running server, appended to $ROUNDS_TSV as
# "name label req_per_s p50_us p99_us errors cpu_us_per_request
# user_us_per_request". The server's CPU time per request comes along: with
# one wrk thread as the load, req/s at 64 connections is often wrk's limit,
# and CPU time per request is what other processes on the machine disturb
# least. Its user-space part is the server's own code; the rest is the
# kernel's work for the same sockets, much the same for every server.
wrk_once() { # name label extra-args...
    local name=$1 label=$2; shift 2
    local out line before after total cpu user
    out="$WORK/$name.$label.$ROUND.wrk"
    before=$(cpu_us "$SERVER_PID")
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s "$@" >"$out" 2>&1 || true
    after=$(cpu_us "$SERVER_PID" 2>/dev/null || echo "$before")
    line=$(parse_wrk "$out")
    total=${line##*$'\t'}
    read -r cpu user < <(cpu_between "$before" "$after" "$total")
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$label" "${line%$'\t'*}" "$cpu" "$user" >>"$ROUNDS_TSV"
}

# The best of the rounds, per server and metric: req/s is the highest (on a
# shared machine, other work only ever makes a run slower), with latency and
# errors from that same run; CPU per request is the least. Prints "record name
# metric value" and "note text" lines (tab-separated) for the caller to act on.
best_of_rounds() {
    python3 - "$ROUNDS_TSV" <<'PY'
import math, sys
runs = {}
for line in open(sys.argv[1]):
    name, label, rps, p50, p99, errs, cpu, user = line.rstrip("\n").split("\t")
    runs.setdefault((name, label), []).append((float(rps), p50, p99, errs, float(cpu), float(user)))
for (name, label), rows in runs.items():
    measured = [r for r in rows if not math.isnan(r[0])]
    rps, p50, p99, errs, _, _ = max(measured, key=lambda r: r[0]) if measured else rows[0]
    cpus = [r[4] for r in rows if not math.isnan(r[4])]
    users = [r[5] for r in rows if not math.isnan(r[5])]
    print("record", name, label, rps, sep="\t")
    print("record", name, label + "_cpu", min(cpus) if cpus else "nan", sep="\t")
    print("record", name, label + "_user", min(users) if users else "nan", sep="\t")
    if label == "plaintext":
        print("record", name, "p50", p50, sep="\t")
        print("record", name, "p99", p99, sep="\t")
    if errs != "-":
        print("note", "%s: %s: %s" % (name, label, errs), sep="\t")
PY
}

# Share of both CPUs that something other than this harness keeps busy,
# sampled over one second while no server or load generator runs.
background_busy() {
    python3 - <<'PY'
import time
def sample():
    f = open("/proc/stat").readline().split()[1:]
    v = list(map(int, f))
    idle = v[3] + v[4]
    return sum(v), idle
t0, i0 = sample(); time.sleep(1); t1, i1 = sample()
print(round(100 * (1 - (i1 - i0) / max(t1 - t0, 1))))
PY
}

# One round for one server, on a fresh process: warm it up, then one wrk run
# per request metric.
measure_requests() { # name
    local name=$1 port
    port=$(port_of "$name")
    log "$name: warm-up (round $ROUND/$ROUNDS)"
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$port/plaintext" >/dev/null 2>&1 || true

    log "$name: plaintext, $CONNS connections"
    wrk_once "$name" plaintext --latency "http://127.0.0.1:$port/plaintext"

    log "$name: plaintext, pipelined depth $DEPTH"
    wrk_once "$name" pipelined -s "$BENCHES/pipeline.lua" "http://127.0.0.1:$port" -- "$DEPTH" /plaintext

    log "$name: JSON, $CONNS connections"
    wrk_once "$name" json "http://127.0.0.1:$port/json"
}

# The table column a server's numbers go to: rawcopy is the ceiling's
# streaming stand-in (the ceiling server has no stream endpoint).
column_of() { # name
    if [[ $1 == rawcopy ]]; then echo ceiling; else echo "$1"; fi
}

stream_row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$STREAM_TSV"; }

# One download from the running server, appended to $STREAM_TSV as "column
# metric value": MB/s as curl reports it, and the server's CPU milliseconds
# per GiB sent. A failed download is a nan row, so a server whose every
# download failed still shows n/a.
stream_once() { # name
    local name=$1 col port out speed size code before after
    col=$(column_of "$name")
    port=$(port_of "$name")
    log "$name: one $((STREAM_BYTES >> 20)) MiB response in 64 KiB chunks, read by curl"
    before=$(cpu_us "$SERVER_PID")
    out=$(taskset -c "$CLIENT_CPU" curl -s -o /dev/null --max-time 300 \
        -w '%{speed_download} %{size_download} %{http_code}' \
        "http://127.0.0.1:$port/stream/bytes?n=$STREAM_BYTES&chunk=65536" || true)
    read -r speed size code <<<"$out"
    if [[ ${size:-0} != "$STREAM_BYTES" ]]; then
        note "$name: stream (round $ROUND): got ${size:-0} of $STREAM_BYTES bytes (HTTP ${code:-?})"
        stream_row "$col" stream nan
        return 1
    fi
    after=$(cpu_us "$SERVER_PID")
    stream_row "$col" stream "$(python3 -c "print($speed / 1e6)")"
    local cpu _user
    read -r cpu _user < <(cpu_between "$before" "$after")
    stream_row "$col" stream_cpu "$(python3 -c "print($cpu / 1000 / ($STREAM_BYTES / 2**30))")"
}

# rawcopy only: the same stream read by a bare read() loop instead of curl,
# to show how much of the ceiling is curl's own cost. rawcopy serves one
# connection after another, so this follows curl's download on one process.
raw_read_once() {
    local raw err="$WORK/rawcopy.read.$ROUND.err"
    log "rawcopy: the same, read by a bare read() loop"
    raw=$(taskset -c "$CLIENT_CPU" "$PEER_BIN/rawcopy" read --port "$(port_of rawcopy)" \
        --bytes "$STREAM_BYTES" 2>"$err") || raw=""
    # A short read still prints a rate; rawcopy says so on stderr.
    if [[ -z $raw || -s $err ]]; then
        note "rawcopy: raw reader (round $ROUND) failed: $(tr '\n' ' ' <"$err")"
        stream_row ceiling stream_raw_reader nan
        return 1
    fi
    stream_row ceiling stream_raw_reader "$(python3 -c "print($raw / 1e6)")"
}

# The best of the streaming rounds, per column and metric, as "column metric
# value" lines: MB/s is the highest (other work only ever slows a download),
# CPU per GiB the least, as for the request metrics.
best_of_streams() {
    python3 - "$STREAM_TSV" <<'PY'
import math, sys
values = {}
for line in open(sys.argv[1]):
    name, metric, value = line.rstrip("\n").split("\t")
    values.setdefault((name, metric), []).append(float(value))
for (name, metric), vs in values.items():
    vs = [v for v in vs if not math.isnan(v)]
    best = (min if metric == "stream_cpu" else max)(vs) if vs else math.nan
    print(name, metric, best, sep="\t")
PY
}

wait_ready() { # file timeout-seconds -> prints count
    local _
    for _ in $(seq 1 $(($2 * 10))); do
        if grep -q '^READY' "$1" 2>/dev/null; then
            awk '/^READY/ { print $2 }' "$1"
            return 0
        fi
        kill -0 "$IDLE_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo 0
}

measure_conns() { # name mode conns settle-seconds
    local name=$1 mode=$2 conns=$3 settle=$4 port before after peak opened out
    port=$(port_of "$name")
    before=$(status_kib "$SERVER_PID" VmRSS)
    log "$name: $conns $mode connections"
    out="$WORK/$name.$mode.idleconns"
    taskset -c "$CLIENT_CPU" "$PEER_BIN/idleconns" --port "$port" --conns "$conns" \
        --mode "$mode" --hold 240 >"$out" 2>"$out.err" &
    IDLE_PID=$!
    opened=$(wait_ready "$out" 180)
    sleep "$settle"
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        note "$name: server died holding $mode connections"
        kill "$IDLE_PID" 2>/dev/null || true; wait "$IDLE_PID" 2>/dev/null || true; IDLE_PID=""
        SERVER_PID=""
        return 1
    fi
    after=$(status_kib "$SERVER_PID" VmRSS)
    peak=$(status_kib "$SERVER_PID" VmHWM)
    if [[ $mode == slow ]]; then
        # Still growing? A server without backpressure keeps buffering.
        sleep "$settle"
        local later; later=$(status_kib "$SERVER_PID" VmRSS)
        if (( later > after + 10240 )); then
            note "$name: RSS still growing with $conns slow clients: $after KiB -> $later KiB in ${settle}s"
        fi
        after=$later; peak=$(status_kib "$SERVER_PID" VmHWM)
    fi
    kill "$IDLE_PID" 2>/dev/null || true
    wait "$IDLE_PID" 2>/dev/null || true
    IDLE_PID=""
    [[ -s $out.err ]] && grep -q failed "$out.err" && note "$name: $mode: $(grep failed "$out.err")"
    if (( opened < conns )); then
        note "$name: $mode: only $opened of $conns connections opened"
    fi
    log "$name: $mode: RSS $before KiB -> $after KiB (peak $peak KiB), $opened connections"
    if [[ $mode == idle ]]; then
        record "$name" idle_kib_per_conn "$(python3 -c "print(($after - $before) / max($opened, 1))")"
        record "$name" idle_peak_mib "$(python3 -c "print($peak / 1024)")"
    else
        record "$name" slow_rss_mib "$(python3 -c "print($after / 1024)")"
        record "$name" slow_kib_per_conn "$(python3 -c "print(($after - $before) / max($opened, 1))")"
    fi
}

# --- the run ----------------------------------------------------------------
STARTED=$(date +%s)
IFS=',' read -r -a REQUESTED <<<"$SERVERS"
SERVER_LIST=()
for name in "${REQUESTED[@]}"; do
    if has_binary "$name"; then SERVER_LIST+=("$name"); else note "$name: not built; skipped"; fi
done

# Background CPU use per column, sampled before each of its turns, for the
# results' header: "r1 r2 r3 / s1 s2 s3 / memory" (request rounds, streaming
# rounds, memory), kept per part as BUSY[name:part].
declare -A BUSY=()
sample_busy() { # name part phase
    local busy key="$1:$2"; busy=$(background_busy)
    BUSY[$key]="${BUSY[$key]:-}${BUSY[$key]:+ }$busy%"
    (( busy < 10 )) || note "$1: before $3, other processes kept ${busy}% of the CPUs busy; its numbers may be low"
}

# One server's turn in one request round, on a fresh process.
request_round() { # name
    local name=$1
    log "=== $name, round $ROUND/$ROUNDS: $(command_of "$name")"
    sample_busy "$name" request "its request round $ROUND"
    start_server "$name" || return 0
    measure_requests "$name"
    alive "$name" "the request benchmarks (round $ROUND)" || true
    stop_server
}

# Request rates, interleaved: every round gives every server a turn, so each
# server meets every stretch of the machine's drifting speed (see the header).
PHASE_REQUESTS=1
for ROUND in $(seq 1 "$ROUNDS"); do
    for name in "${SERVER_LIST[@]}"; do
        request_round "$name"
    done
done
PHASE_REQUESTS=
while IFS=$'\t' read -r kind a b c; do
    case "$kind" in
        record) record "$a" "$b" "$c" ;;
        note) note "$a" ;;
    esac
done < <(best_of_rounds)

# One server's turn in one streaming round, on a fresh process: one
# download (for rawcopy, also one by the bare reader).
stream_round() { # name
    local name=$1 col
    col=$(column_of "$name")
    log "=== $name, stream round $ROUND/$ROUNDS: $(command_of "$name")"
    sample_busy "$col" stream "its stream round $ROUND"
    start_server "$name" || return 0
    stream_once "$name" || true
    if [[ $name == rawcopy ]]; then
        raw_read_once || true
        # No /plaintext to ask: a request would start another stream.
        kill -0 "$SERVER_PID" 2>/dev/null || note "rawcopy: died during stream round $ROUND (log: $(tail -3 "$WORK/rawcopy.log" | tr '\n' ' '))"
    else
        alive "$name" "the $((STREAM_BYTES >> 20)) MiB stream (round $ROUND)" || true
    fi
    stop_server
}

# Who streams, in the order of the servers: may_minihttp cannot, and the
# ceiling's turn is rawcopy's (built with the tools, so there even when the
# ceiling server did not build).
STREAM_LIST=()
for name in "${REQUESTED[@]}"; do
    case "$name" in
        may) note "may: no /stream/bytes (may_minihttp has no streaming response API); streaming metrics n/a" ;;
        ceiling) STREAM_LIST+=(rawcopy) ;;
        *) if has_binary "$name"; then STREAM_LIST+=("$name"); fi ;;
    esac
done

# Streaming, interleaved like the request rates: the speed of one download
# drifts with the machine as much as a wrk run does.
for ROUND in $(seq 1 "$ROUNDS"); do
    for name in "${STREAM_LIST[@]}"; do
        stream_round "$name"
    done
done
while IFS=$'\t' read -r col metric value; do
    record "$col" "$metric" "$value"
done < <(best_of_streams)

# Memory, one server at a time, each on a fresh process.
for name in "${SERVER_LIST[@]}"; do
    log "=== $name: memory"
    sample_busy "$name" memory "its memory measurements"
    if start_server "$name"; then
        measure_conns "$name" idle "$IDLE_CONNS" 1 || true
        [[ -n $SERVER_PID ]] && { alive "$name" "$IDLE_CONNS idle connections" || true; }
        stop_server
    fi
    if [[ $name != may && $name != ceiling ]] && start_server "$name"; then
        measure_conns "$name" slow "$SLOW_CONNS" "$SLOW_SETTLE" || true
        sleep 1
        [[ -n $SERVER_PID ]] && { alive "$name" "$SLOW_CONNS slow clients left" || true; }
        stop_server
    fi
done

ELAPSED=$(( $(date +%s) - STARTED ))

busy_log() { # " ours 3% 5% / 4% 2% / 2%; hyper ..." in the order of the servers
    local name out=""
    for name in "${SERVER_LIST[@]}"; do
        out="$out${out:+;} $name ${BUSY[$name:request]:-n/a} / ${BUSY[$name:stream]:--} / ${BUSY[$name:memory]:-n/a}"
    done
    printf '%s' "$out"
}

# --- the table ----------------------------------------------------------------
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
TABLE="$WORK/table.md"
python3 - "$RESULTS" "$NOTES" "$SERVERS" >"$TABLE" <<PY
import math, sys
results, notes_path, servers = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
data = {}
for line in open(results):
    name, metric, value = line.rstrip("\n").split("\t")
    try:
        data[(name, metric)] = float(value)
    except ValueError:
        data[(name, metric)] = math.nan
metrics = [
    ("plaintext", "plaintext req/s, $CONNS conns", "high", "{:,.0f}"),
    ("pipelined", "plaintext req/s, pipelined x$DEPTH", "high", "{:,.0f}"),
    ("json", "JSON req/s, $CONNS conns", "high", "{:,.0f}"),
    ("p50", "p50 latency µs (plaintext)", "low", "{:,.0f}"),
    ("p99", "p99 latency µs (plaintext)", "low", "{:,.0f}"),
    ("stream", "stream MB/s, $((STREAM_BYTES >> 20)) MiB in 64 KiB chunks", "high", "{:,.0f}"),
    ("stream_raw_reader", "stream MB/s, raw reader instead of curl", "high", "{:,.0f}"),
    ("plaintext_cpu", "server CPU µs/request, plaintext", "low", "{:,.2f}"),
    ("plaintext_user", "… of which user space", "low", "{:,.2f}"),
    ("pipelined_cpu", "server CPU µs/request, pipelined", "low", "{:,.2f}"),
    ("pipelined_user", "… of which user space", "low", "{:,.2f}"),
    ("json_cpu", "server CPU µs/request, JSON", "low", "{:,.2f}"),
    ("json_user", "… of which user space", "low", "{:,.2f}"),
    ("stream_cpu", "server CPU ms per GiB streamed", "low", "{:,.0f}"),
    ("idle_kib_per_conn", "idle keep-alive KiB/conn ($IDLE_CONNS conns)", "low", "{:,.1f}"),
    ("idle_peak_mib", "peak RSS MiB, $IDLE_CONNS idle conns", "low", "{:,.1f}"),
    ("slow_rss_mib", "RSS MiB, $SLOW_CONNS slow stream clients", "low", "{:,.1f}"),
    ("slow_kib_per_conn", "KiB per slow stream client", "low", "{:,.1f}"),
]
names = {"ours": "tornado-rs", "hyper": "hyper", "actix": "actix-web", "may": "may_minihttp",
         "ceiling": "ceiling", "tornado": "Tornado (Py)"}
cols = [s for s in servers if any(k[0] == s for k in data)]
print("| metric | better | " + " | ".join(names.get(c, c) for c in cols) + " |")
print("|---|---|" + "---:|" * len(cols))
for key, label, better, fmt in metrics:
    if not any((c, key) in data for c in cols):
        continue
    ours = data.get(("ours", key), math.nan)
    cells = []
    for c in cols:
        v = data.get((c, key), math.nan)
        if math.isnan(v):
            cells.append("n/a")
            continue
        cell = fmt.format(v)
        if c != "ours" and not math.isnan(ours) and v > 0:
            cell += " ({:.2f}×)".format(ours / v)
        cells.append(cell)
    print("| " + label + " | " + ("↑" if better == "high" else "↓") + " | " + " | ".join(cells) + " |")
print()
print("Ratios in parentheses are tornado-rs / that server (↑: higher is better, ↓: lower is better).")
print("The ceiling column's stream rows are rawcopy, a plain socket copy; may_minihttp has no streaming API.")
notes = [n for n in open(notes_path).read().splitlines() if n.strip()]
if notes:
    print()
    print("Notes from this run:")
    for n in notes:
        print("- " + n)
PY

{
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($CPU_MODEL), $(( ELAPSED / 60 )) min $(( ELAPSED % 60 )) s."
    echo "Command: \`$COMMAND\` ($( [[ $QUICK == 1 ]] && echo quick || echo full ) pass: best of $ROUNDS rounds interleaved across servers: request rounds (each starts every server in turn, warms it up for ${WARMUP}s, runs each request metric once for ${DURATION}s, stops it), then streaming rounds the same way (start, one $((STREAM_BYTES >> 20)) MiB download, stop), wrk -t1; server on CPU $SERVER_CPU, load on CPU $CLIENT_CPU)."
    echo "tornado-rs: $OURS_VERSION."
    echo "Background CPU use (other processes, sampled 1 s before each server's turn: request rounds / streaming rounds / memory):$(busy_log)."
    echo "Versions: $(rustc --version), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), $(curl --version | head -1 | awk '{print $1, $2}'), Python $(python3 -c 'import sys, tornado; print(sys.version.split()[0] + ", tornado " + tornado.version)')."
    echo
    cat "$TABLE"
} >"$WORK/section.md"

echo
cat "$WORK/section.md"

if [[ $WRITE == 1 ]]; then
    OUT="$BENCHES/RESULTS.md"
    python3 - "$OUT" "$WORK/section.md" <<'PY'
import os, sys
out, section = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
begin, end = "<!-- results:begin -->", "<!-- results:end -->"
if os.path.exists(out):
    text = open(out).read()
else:
    text = "# Benchmark results\n\nProduced by `benches/run.sh`; see its header for what each metric is.\n\n" + begin + "\n" + end + "\n"
if begin not in text or end not in text:
    text = text.rstrip("\n") + "\n\n" + begin + "\n" + end + "\n"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(out, "w").write(head + begin + "\n" + section + "\n" + end + tail)
PY
    log "wrote $OUT"
fi
