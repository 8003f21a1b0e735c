#!/usr/bin/env bash
# `make run`: the whole bundle on this machine.
#   install local tools -> start DynamoDB Local + moto S3 -> build the function binaries,
#   stripe-sim, acb and the local stack (debug profile, shared with `make test`) ->
#   local-stack: the template's tables and bucket, every function behind a local Lambda
#   Runtime API, the HTTP API, S3 notifications, the schedule, stripe-sim, and the scenario.
#
# Arguments go to local-stack (see `target/debug/local-stack --help`), e.g.
#   local/scripts/run.sh --once          play the scenario and exit (0 only if it all passed)
#   local/scripts/run.sh --no-scenario   just serve
# Services this script started are stopped when it exits; ones already running are kept.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

"$SCRIPTS_DIR/install.sh"

started_services=false
if ! "$SCRIPTS_DIR/services.sh" status >/dev/null 2>&1; then
    "$SCRIPTS_DIR/services.sh" start
    started_services=true
fi
stop_services() {
    if [ "$started_services" = true ]; then
        "$SCRIPTS_DIR/services.sh" stop >/dev/null 2>&1 || true
    fi
}
trap stop_services EXIT
eval "$("$SCRIPTS_DIR/services.sh" env)"

log "building the functions, stripe-sim, acb and the local stack"
# The whole workspace's binaries, exactly as `make test` builds them, so one build serves both.
cargo build --locked --workspace --bins

target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
# Not exec: the EXIT trap must run to stop the services. Ctrl-C reaches local-stack too.
set +e
"$target_dir/debug/local-stack" --bin-dir "$target_dir/debug" "$@"
rc=$?
set -e
exit "$rc"
