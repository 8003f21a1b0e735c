#!/usr/bin/env bash
# Prove that every Lambda function in template.yaml builds into a deployable artifact
# (`make sam-build-check`, and CI through .ci/run):
#   `make sam-build` (sam build, arm64, cargo-lambda) -> for every AWS::Serverless::Function
#   in template.yaml: .aws-sam/build/<LogicalId>/bootstrap is a non-empty executable
#   64-bit little-endian aarch64 ELF (written by this build), needing no newer glibc than
#   the function's runtime has, and .aws-sam/build/template.yaml points the function at it.
#   One line per function with its size; the exit status is non-zero, and the message
#   names the functions, if any is missing or wrong.
#
#   local/scripts/check-lambda-build.sh             build, then check
#   local/scripts/check-lambda-build.sh --no-build  only check what .aws-sam/build holds
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

TEMPLATE="template.yaml"
BUILD_DIR=".aws-sam/build"
BUILT_TEMPLATE="$BUILD_DIR/template.yaml"
PYTHON_BIN="$VENV_DIR/bin/python"
# Lambda's limit for a function's unzipped deployment package.
MAX_UNZIPPED_BYTES=262144000

build=1
case "${1:-}" in
    "") ;;
    --no-build) build=0 ;;
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (expected: --no-build)" ;;
esac

# functions FILE: one line per AWS::Serverless::Function in the SAM template FILE, tab
# separated: logical id, Metadata.BuildMethod, architecture (from the function or Globals,
# Lambda's default x86_64 otherwise), CodeUri, Runtime. Parsed with cfn-lint's decoder
# (template-json.py), so tags like !Ref and any YAML layout are understood.
functions() {
    local json
    json="$("$PYTHON_BIN" "$SCRIPTS_DIR/template-json.py" "$1")" ||
        die "could not read $1 (template-json.py failed, see above)"
    # shellcheck disable=SC2016  # Python source, not shell
    printf '%s' "$json" | "$PYTHON_BIN" -c '
import json, sys
t = json.load(sys.stdin)
g = (t.get("Globals") or {}).get("Function") or {}
for name, r in (t.get("Resources") or {}).items():
    if not isinstance(r, dict) or r.get("Type") != "AWS::Serverless::Function":
        continue
    p = r.get("Properties") or {}
    archs = p.get("Architectures", g.get("Architectures", ["x86_64"]))
    arch = ",".join(map(str, archs)) if isinstance(archs, list) else json.dumps(archs)
    method = (r.get("Metadata") or {}).get("BuildMethod") or "-"
    code = p.get("CodeUri", g.get("CodeUri", "-"))
    runtime = p.get("Runtime", g.get("Runtime", "-"))
    print("\t".join([name, str(method), arch] +
                    [v if isinstance(v, str) else json.dumps(v) for v in (code, runtime)]))
'
}

# elf_problem FILE: empty if FILE is an executable 64-bit little-endian aarch64 ELF
# (e_ident, e_type EXEC or DYN (PIE), e_machine 0xB7 at offset 18), else what is wrong.
elf_problem() {
    local f="$1" bytes
    read -r -a bytes <<<"$(od -An -v -tx1 -N20 "$f" | tr '\n' ' ')"
    if [ "${#bytes[@]}" -lt 20 ]; then
        echo "shorter than an ELF header"
    elif [ "${bytes[*]:0:4}" != "7f 45 4c 46" ]; then
        echo "not an ELF file (starts with ${bytes[*]:0:4})"
    elif [ "${bytes[4]}" != 02 ] || [ "${bytes[5]}" != 01 ]; then
        echo "not a 64-bit little-endian ELF (EI_CLASS ${bytes[4]}, EI_DATA ${bytes[5]})"
    elif [ "${bytes[17]}${bytes[16]}" != 0002 ] && [ "${bytes[17]}${bytes[16]}" != 0003 ]; then
        echo "not an executable ELF (e_type 0x${bytes[17]}${bytes[16]})"
    elif [ "${bytes[19]}${bytes[18]}" != 00b7 ]; then
        echo "not an aarch64 ELF (e_machine 0x${bytes[19]}${bytes[18]}, aarch64 is 0x00b7)"
    fi
}

# glibc_problem FILE RUNTIME: empty unless FILE asks for a newer glibc (its GLIBC_x.y symbol
# versions) than the Lambda RUNTIME has (provided.al2023: 2.34, provided.al2: 2.26); then
# it would fail to start on Lambda. Other runtimes are not checked.
glibc_problem() {
    local have newest
    case "$2" in
        provided.al2023) have=2.34 ;;
        provided.al2) have=2.26 ;;
        *) return 0 ;;
    esac
    newest="$(grep -aoE 'GLIBC_2\.[0-9]+(\.[0-9]+)?' "$1" | sed 's/^GLIBC_//' | sort -uV | tail -n 1)" || true
    if [ -n "$newest" ] && [ "$(printf '%s\n%s\n' "$newest" "$have" | sort -V | tail -n 1)" != "$have" ]; then
        echo "needs glibc $newest, the $2 runtime has $have"
    fi
}

main() {
    if [ "$build" -eq 1 ]; then
        # sam build empties it too; removed here as well, so nothing checked below can be
        # left from an earlier build (the cargo cache is in .aws-sam/cargo-target, kept).
        rm -rf "$BUILD_DIR"
        log "make sam-build"
        # SAM holds cargo's output until each build ends, and a cold build takes minutes:
        # a line a minute says it is still going (CI logs that stay silent look hung).
        make --no-print-directory -C "$ROOT" sam-build &
        local build_pid=$! waited=0 rc=0
        while kill -0 "$build_pid" 2>/dev/null; do
            sleep 5 & wait $! || true
            waited=$((waited + 5))
            if [ $((waited % 60)) -eq 0 ] && kill -0 "$build_pid" 2>/dev/null; then
                log "sam build still running ($((waited / 60)) min)"
            fi
        done
        wait "$build_pid" || rc=$?
        [ "$rc" -eq 0 ] ||
            die "make sam-build failed (exit $rc; the sam build / cargo lambda output is above)"
    fi
    [ -x "$PYTHON_BIN" ] || die "$PYTHON_BIN not found: run local/scripts/install.sh (make install)"

    local listing
    listing="$(functions "$TEMPLATE")"
    [ -n "$listing" ] || die "no AWS::Serverless::Function in $TEMPLATE"

    # sam build writes the template to deploy with CodeUri: <LogicalId> for each function.
    local bad=() built=""
    if [ -f "$BUILT_TEMPLATE" ]; then
        built="$(functions "$BUILT_TEMPLATE")"
    else
        bad+=("$BUILT_TEMPLATE: missing (did sam build run?)")
    fi

    local name method arch _code runtime bin size problem

    log "checking the artifacts in $BUILD_DIR"
    while IFS=$'\t' read -r name method arch _code runtime; do
        bin="$BUILD_DIR/$name/bootstrap"
        problem=""
        if [ "$method" != rust-cargolambda ]; then
            problem="BuildMethod is '$method'; this check knows only rust-cargolambda"
        elif [ "$arch" != arm64 ]; then
            problem="Architectures is '$arch' in $TEMPLATE, expected arm64"
        elif [ ! -e "$bin" ]; then
            problem="$bin is missing"
        elif [ ! -f "$bin" ]; then
            problem="$bin is not a regular file"
        elif [ ! -s "$bin" ]; then
            problem="$bin is empty"
        elif [ ! -x "$bin" ]; then
            problem="$bin is not executable"
        else
            problem="$(elf_problem "$bin")"
            [ -n "$problem" ] || problem="$(glibc_problem "$bin" "$runtime")"
            [ -z "$problem" ] || problem="$bin: $problem"
        fi
        if [ -z "$problem" ]; then
            size="$(stat -c %s "$bin")"
            if [ "$size" -gt "$MAX_UNZIPPED_BYTES" ]; then
                problem="$bin is $size bytes, over Lambda's 250 MB unzipped limit"
            elif [ -f "$BUILT_TEMPLATE" ] &&
                [ "$(awk -F'\t' -v n="$name" '$1 == n && $4 == n' <<<"$built")" = "" ]; then
                problem="$BUILT_TEMPLATE does not point $name at CodeUri: $name"
            fi
        fi
        if [ -z "$problem" ]; then
            printf 'ok      %-28s %10s bytes (%s)  %s\n' "$name" "$size" \
                "$(numfmt --to=iec-i --suffix=B --format='%.1f' "$size")" "$bin"
        else
            printf 'FAILED  %-28s %s\n' "$name" "$problem"
            bad+=("$name: $problem")
        fi
    done <<<"$listing"

    if [ ${#bad[@]} -gt 0 ]; then
        printf 'error: %s\n' "${bad[@]}" >&2
        die "${#bad[@]} problem(s) with the Lambda build artifacts (see above)"
    fi
    log "all $(wc -l <<<"$listing") functions in $TEMPLATE have an arm64 bootstrap in $BUILD_DIR"
}

main
