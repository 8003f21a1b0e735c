#!/usr/bin/env bash
# Run the SAM CLI from .local/venv (installed by install.sh) offline-friendly:
# no telemetry, metadata inside .local/, a region for commands that want one, and
# .local/venv/bin on PATH (so `sam build` finds cargo-lambda there).
#   local/scripts/sam.sh validate --lint
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ -x "$VENV_DIR/bin/sam" ] || die "SAM CLI is not installed: run local/scripts/install.sh (make install)"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export PATH="$VENV_DIR/bin:$PATH"
cd "$ROOT"
exec "$VENV_DIR/bin/sam" "$@"
