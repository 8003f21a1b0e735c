#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions called through trap and step
# The project's test run (`make test`, and CI through .ci/run):
#   install local tools -> start DynamoDB Local + moto S3 (stopped again on exit, also on
#   failure or Ctrl-C) -> render template.yaml (tests create their tables from it) -> build
#   every binary -> cargo test -> sam validate --lint -> no openssl-sys in the tree.
# Every step runs even when an earlier one failed; the exit status is non-zero if any did,
# and the summary names them.
#
# Extra arguments go to cargo test, e.g.: local/scripts/test.sh -p shared -- signature
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT" || exit 1

FAILED=()
SUMMARY=()

cleanup() {
    "$SCRIPTS_DIR/services.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'echo; warn "interrupted"; exit 130' INT TERM

# step NAME CMD...: run one step, time it, remember the outcome.
step() {
    local name="$1" start rc
    shift
    log "$name"
    start=$SECONDS
    "$@"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        SUMMARY+=("ok      $name ($((SECONDS - start))s)")
    else
        SUMMARY+=("FAILED  $name (exit $rc, $((SECONDS - start))s)")
        FAILED+=("$name")
    fi
    return 0
}

# openssl-sys must not be in the dependency graph (TLS is rustls everywhere).
# `cargo tree -i X` prints the inverted tree when X is a dependency and fails with
# "did not match any packages" when it is not, which is the pass case here.
no_openssl() {
    local out err rc=0
    err="$(mktemp)"
    out="$(cargo tree -i openssl-sys --workspace --locked 2>"$err")" || rc=$?
    if [ -n "$out" ]; then
        printf 'openssl-sys is in the dependency graph:\n%s\n' "$out" >&2
        rm -f "$err"
        return 1
    fi
    if [ "$rc" -ne 0 ] && ! grep -q 'did not match any packages' "$err"; then
        cat "$err" >&2
        rm -f "$err"
        return 1
    fi
    rm -f "$err"
    echo "openssl-sys: not in the dependency graph"
}

finish() {
    echo
    echo "==================== test summary ===================="
    printf '%s\n' "${SUMMARY[@]}"
    if [ ${#FAILED[@]} -gt 0 ]; then
        local joined
        joined="$(printf '%s, ' "${FAILED[@]}")"
        printf 'failed steps: %s\n' "${joined%, }"
        exit 1
    fi
    echo "all steps passed"
    exit 0
}

# Setup failures stop the run: nothing after them can be meaningful.
step "install local tools" "$SCRIPTS_DIR/install.sh"
[ ${#FAILED[@]} -eq 0 ] || finish
step "start local services" "$SCRIPTS_DIR/services.sh" start
[ ${#FAILED[@]} -eq 0 ] || finish
eval "$("$SCRIPTS_DIR/services.sh" env)"

# Tests create their tables from template.yaml; render it to JSON once for every test binary.
render_template() {
    mkdir -p "$RUN_DIR" &&
        "$VENV_DIR/bin/python" "$SCRIPTS_DIR/template-json.py" "$ROOT/template.yaml" >"$RUN_DIR/template.json.tmp" &&
        mv "$RUN_DIR/template.json.tmp" "$RUN_DIR/template.json"
}
step "render template.yaml" render_template
[ ${#FAILED[@]} -eq 0 ] || finish
export TEMPLATE_JSON="$RUN_DIR/template.json"

# The local stack's end-to-end test runs every function's real binary, stripe-sim and acb.
step "build binaries" cargo build --workspace --bins --locked
step "cargo test" cargo test --workspace --locked "$@"
step "sam validate --lint" "$SCRIPTS_DIR/sam.sh" validate --lint --template template.yaml
step "no openssl-sys" no_openssl
finish
