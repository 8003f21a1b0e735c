#!/usr/bin/env bash
# Local AWS stand-ins on loopback: DynamoDB Local and moto's S3 server.
#
#   local/scripts/services.sh start    start both (one already running from here is kept)
#   local/scripts/services.sh stop     stop what `start` started (by pid file); safe to repeat
#   local/scripts/services.sh status   say what runs
#   local/scripts/services.sh env      print `export` lines for the Rust tests and tools:
#                                      eval "$(local/scripts/services.sh env)"
#
# Ports: DYNAMODB_PORT (default 18000), S3_PORT (default 15000).
# Pids, ports and logs: .local/run/. Readiness wait: SERVICES_WAIT_SECONDS (default 60).
# Run local/scripts/install.sh first (make install / make services-up do).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-60}"
SERVICES=(dynamodb s3)

port_of() {
    case "$1" in
        dynamodb) printf '%s' "$DYNAMODB_PORT" ;;
        s3) printf '%s' "$S3_PORT" ;;
    esac
}
port_var() {
    case "$1" in
        dynamodb) printf 'DYNAMODB_PORT' ;;
        s3) printf 'S3_PORT' ;;
    esac
}
# What the process's command line must contain for us to call it ours.
marker_of() {
    case "$1" in
        dynamodb) printf 'DynamoDBLocal.jar' ;;
        s3) printf 'moto_server' ;;
    esac
}
pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
port_file() { printf '%s/%s.port' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log' "$RUN_DIR" "$1"; }

# The pid recorded for a service, if that process is alive and is still ours.
our_pid() {
    local svc="$1" f pid
    f="$(pid_file "$svc")"
    [ -f "$f" ] || return 1
    pid="$(cat "$f" 2>/dev/null)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(marker_of "$svc")" || return 1
    printf '%s' "$pid"
}

# The port a running service of ours was started on (else the configured one).
running_port() {
    local svc="$1" p=""
    if our_pid "$svc" >/dev/null && [ -f "$(port_file "$svc")" ]; then
        p="$(cat "$(port_file "$svc")")"
    fi
    [[ "$p" =~ ^[0-9]+$ ]] || p="$(port_of "$svc")"
    printf '%s' "$p"
}

# True if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

who_listens() {
    if command -v ss >/dev/null 2>&1; then
        ss -ltnpH "sport = :$1" 2>/dev/null | sed 's/^/    /' || true
    fi
}

# GET a URL; print the body, then a last line with the HTTP status (000: no answer).
http_get() {
    if command -v curl >/dev/null 2>&1; then
        curl -s -m 2 -w '\n%{http_code}' "$1" 2>/dev/null || printf '\n000'
    else
        "$VENV_DIR/bin/python" -c '
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=2)
    body, code = r.read(), r.status
except urllib.error.HTTPError as e:
    body, code = e.read(), e.code
print(body.decode("utf-8", "replace")); print(code, end="")
' "$1" 2>/dev/null || printf '\n000'
    fi
}

# Does the service on PORT answer like itself? DynamoDB Local answers a bare GET with
# its 400 MissingAuthenticationToken error; moto answers its own API with JSON.
ready() {
    local svc="$1" port="$2" out code
    case "$svc" in
        dynamodb)
            out="$(http_get "http://127.0.0.1:$port/")"
            code="${out##*$'\n'}"
            [ "$code" = "400" ] && grep -q 'com.amazonaws.dynamodb' <<<"$out" ;;
        s3)
            # ListBuckets: moto's own /moto-api/data.json answers 500 once a versioned
            # bucket has been deleted, although S3 works on.
            out="$(http_get "http://127.0.0.1:$port/")"
            code="${out##*$'\n'}"
            [ "$code" = "200" ] && grep -q 'ListAllMyBucketsResult' <<<"$out" ;;
    esac
}

# Sets START (argv) and START_DIR for a service.
start_cmd() {
    local svc="$1" port="$2" dir
    case "$svc" in
        dynamodb)
            command -v java >/dev/null 2>&1 ||
                { printf 'error: java not found: DynamoDB Local needs Java >= 17\n' >&2; return 1; }
            dir="$(dynamodb_local_dir)" ||
                { printf 'error: DynamoDB Local is not installed: run local/scripts/install.sh (make install)\n' >&2; return 1; }
            # -sharedDb: one database whatever the caller's access key and region.
            # -disableTelemetry: no calls home (this machine reaches only package registries).
            START=(java "-Djava.library.path=$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar"
                -inMemory -sharedDb -disableTelemetry -port "$port")
            START_DIR="$dir" ;;
        s3)
            [ -x "$VENV_DIR/bin/moto_server" ] ||
                { printf 'error: moto is not installed: run local/scripts/install.sh (make install)\n' >&2; return 1; }
            # moto_server.py: moto's own server, with its SQS answering in linear time.
            START=("$VENV_DIR/bin/python" "$ROOT/local/scripts/moto_server.py" -H 127.0.0.1 -p "$port")
            START_DIR="$RUN_DIR" ;;
    esac
}

fail_with_log() {
    local svc="$1" logf
    logf="$(log_file "$svc")"
    printf -- '---- last lines of %s ----\n' "${logf#"$ROOT"/}" >&2
    # shellcheck disable=SC1003  # sed '$a\' adds a final newline when missing
    { tail -n 30 "$logf" 2>/dev/null | sed -e '$a\'; } >&2 || true
    printf -- '----\n' >&2
}

# start_one SVC: 0 = started, 1 = failed (message printed), 2 = was already running.
start_one() {
    local svc="$1" port pid logf deadline
    port="$(port_of "$svc")"
    logf="$(log_file "$svc")"
    if pid="$(our_pid "$svc")"; then
        local have
        have="$(running_port "$svc")"
        if [ "$have" != "$port" ]; then
            printf 'error: %s is already running from here on port %s (pid %s), not %s; run: %s stop\n' \
                "$svc" "$have" "$pid" "$port" "$0" >&2
            return 1
        fi
        if ready "$svc" "$port"; then
            log "$svc already running (pid $pid, 127.0.0.1:$port)"
            return 2
        fi
        printf 'error: %s (pid %s) runs but does not answer on port %s; run: %s stop\n' \
            "$svc" "$pid" "$port" "$0" >&2
        return 1
    fi
    rm -f "$(pid_file "$svc")" "$(port_file "$svc")"
    if port_open "$port"; then
        printf 'error: port %s (for %s) is already in use by another process:\n' "$port" "$svc" >&2
        who_listens "$port" >&2
        printf 'stop that process, or choose another port: %s=NNNNN %s start\n' "$(port_var "$svc")" "$0" >&2
        return 1
    fi
    start_cmd "$svc" "$port" || return 1
    # setsid: its own session, so it outlives `make services-up` and a Ctrl-C at the caller.
    (cd "$START_DIR" && exec setsid "${START[@]}" </dev/null >"$logf" 2>&1) &
    pid=$!
    printf '%s' "$pid" >"$(pid_file "$svc")"
    printf '%s' "$port" >"$(port_file "$svc")"
    deadline=$((SECONDS + WAIT_SECONDS))
    until ready "$svc" "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            printf 'error: %s exited while starting on port %s\n' "$svc" "$port" >&2
            rm -f "$(pid_file "$svc")" "$(port_file "$svc")"
            fail_with_log "$svc"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            printf 'error: %s did not answer on port %s within %ss\n' "$svc" "$port" "$WAIT_SECONDS" >&2
            stop_one "$svc" >/dev/null 2>&1 || true
            fail_with_log "$svc"
            return 1
        fi
        sleep 0.2
    done
    log "$svc up on 127.0.0.1:$port (pid $pid, log ${logf#"$ROOT"/})"
}

stop_one() {
    local svc="$1" pid
    if pid="$(our_pid "$svc")"; then
        kill -TERM "$pid" 2>/dev/null || true
        local _
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "$svc stopped (pid $pid)"
    fi
    rm -f "$(pid_file "$svc")" "$(port_file "$svc")"
}

cmd_start() {
    mkdir -p "$RUN_DIR"
    local svc started=() rc
    for svc in "${SERVICES[@]}"; do
        rc=0
        start_one "$svc" || rc=$?
        case "$rc" in
            0) started+=("$svc") ;;
            2) ;;
            *)  # leave nothing half-started by this call (keep what ran before it)
                local s
                for s in "${started[@]}"; do stop_one "$s"; done
                exit 1 ;;
        esac
    done
}

cmd_stop() {
    local svc
    for svc in "${SERVICES[@]}"; do
        stop_one "$svc"
    done
}

cmd_status() {
    local svc pid port rc=0
    for svc in "${SERVICES[@]}"; do
        port="$(running_port "$svc")"
        if pid="$(our_pid "$svc")" && ready "$svc" "$port"; then
            printf '%-9s up    127.0.0.1:%s  pid %s\n' "$svc" "$port" "$pid"
        else
            printf '%-9s down  (port %s)\n' "$svc" "$port"
            rc=1
        fi
    done
    return $rc
}

cmd_env() {
    cat <<EOF
export DYNAMODB_ENDPOINT=http://127.0.0.1:$(running_port dynamodb)
export S3_ENDPOINT=http://127.0.0.1:$(running_port s3)
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
EOF
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) printf 'usage: %s start|stop|status|env\n' "$0" >&2; exit 2 ;;
esac
