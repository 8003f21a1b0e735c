# Developer entry points. `make help` lists them; `make test` is the test command.
# Local tools (DynamoDB Local, moto, SAM CLI, cargo-lambda) install into .local/
# (git-ignored) through local/scripts/install.sh; nothing is installed system-wide.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

SCRIPTS := local/scripts
CARGO ?= cargo
LAMBDA_TARGET := aarch64-unknown-linux-gnu

.PHONY: help install run test build lint fmt bench bench-upload bench-upload-bad bench-upload-4gb bench-hooks bench-contention bench-faults bench-scale bench-skus services-up services-down services-status \
        sam-validate sam-build sam-build-check clean distclean

help: ## Show this help
	@echo "usage: make <target>"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "ports: DYNAMODB_PORT (default 18000), S3_PORT (default 15000)"

install: ## Install local tools into .local/ (DynamoDB Local, moto, SAM CLI, cargo-lambda, Stripe SDKs); idempotent
	@bash $(SCRIPTS)/install.sh

# ARGS go to the local stack: `make run ARGS=--once` plays the scenario and exits 0 only
# if every step succeeded; `make run ARGS=--no-scenario` just serves.
run: ## The whole bundle locally: services, every function, stripe-sim, and a demo scenario
	@bash $(SCRIPTS)/run.sh $(ARGS)

test: ## Run all tests: local services up, cargo test, sam validate --lint, no openssl-sys
	@bash $(SCRIPTS)/test.sh

build: ## cargo build --release (host target)
	$(CARGO) build --release --workspace --locked

lint: install ## rustfmt check, clippy with -D warnings, sam validate --lint, file sizes and module cycles
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	@bash $(SCRIPTS)/sam.sh validate --lint --template template.yaml
	@python3 $(SCRIPTS)/check-structure.py

fmt: ## Format the Rust code (cargo fmt)
	$(CARGO) fmt --all

bench: ## Criterion benchmarks of the shared crate (signature verification, CSV validation)
	$(CARGO) bench -p shared

# Peak memory and time of validate-and-upload on a ~190 MB catalog, with DynamoDB Local,
# moto and a stripe-sim process (its memory is not counted in ours).
bench-upload: services-up ## Peak RSS of the catalog validate-and-upload path on a 190 MB file
	@$(CARGO) build --release -p stripe-sim
	@set -e; eval "$$($(SCRIPTS)/services.sh env)"; \
	  ./target/release/stripe-sim --port 12199 > .local/run/bench-sim.log 2>&1 & sim=$$!; \
	  trap 'kill $$sim 2>/dev/null' EXIT; \
	  for i in $$(seq 100); do curl -sf http://127.0.0.1:12199/_sim/health >/dev/null && break; sleep 0.1; done; \
	  STRIPE_SIM_URL=http://127.0.0.1:12199 $(CARGO) bench -p catalog-uploader --bench validate_and_upload

# The hostile case: 199 MB (under v1's 200 MB limit) of rows that all fail validation;
# the report streams out under its caps (the issue's bound is 128 MB peak RSS).
bench-upload-bad: ## Peak RSS of validate-and-upload on a 199 MB file whose every row fails
	@BENCH_BAD_ROWS=1 BENCH_CATALOG_MB=199 $(MAKE) bench-upload

# A 200 MB v2 catalog imported whole, then dropped again with 1% of its rows changed:
# bytes sent against the file, time and peak RSS of the drop and of the comparison alone.
# BENCH_CATALOG_MB (200), BENCH_CHANGED_PERCENT (1).
.PHONY: bench-incremental
bench-incremental: services-up ## Incremental upload of a 200 MB catalog with 1% changed: bytes sent, time, peak RSS
	@$(CARGO) build --release -p stripe-sim
	@set -e; eval "$$($(SCRIPTS)/services.sh env)"; \
	  ./target/release/stripe-sim --port 12198 --processing-delay-ms 3600000 > .local/run/bench-incremental-sim.log 2>&1 & sim=$$!; \
	  trap 'kill $$sim 2>/dev/null' EXIT; \
	  for i in $$(seq 100); do curl -sf http://127.0.0.1:12198/_sim/health >/dev/null && break; sleep 0.1; done; \
	  STRIPE_SIM_URL=http://127.0.0.1:12198 $(CARGO) bench -p catalog-uploader --bench incremental

# The largest feed Stripe takes: a 4 GB v2 product file (rows of about 1 KB, ~4M products)
# through one invocation: S3 -> validation -> import -> PUT to the upload URL. Needs ~9 GB
# of free disk (the generated file and the emulator's copy).
bench-upload-4gb: ## Time and peak RSS of one 4 GB v2 feed, S3 to Stripe's upload URL
	@BENCH_GENERATION=v2 BENCH_CATALOG_MB=4000 BENCH_ROW_BYTES=1000 $(MAKE) bench-upload

bench-hooks: services-up ## Checkout hooks latency p50/p99: logic, in-process with DynamoDB Local, HTTP end to end
	@set -e; eval "$$($(SCRIPTS)/services.sh env)"; $(CARGO) bench -p finalize-checkout --bench hook_latency; $(CARGO) bench -p finalize-checkout --bench cold_start

# 500 signed finalize_checkout calls from 16 clients for one SKU with 100 in stock, through
# the local stack (release binaries, up to 8 instances, the DynamoDB fault proxy): once as
# is, once with 10% of DynamoDB calls throttled. Fails if more than the stock is approved.
# BENCH_REQUESTS, BENCH_CLIENTS, BENCH_STOCK, BENCH_CONCURRENCY, BENCH_THROTTLE_PERCENT.
bench-contention: services-up ## Oversell acceptance: 500 concurrent finalize calls for 100 units, plain and with 10% DynamoDB throttling
	@$(CARGO) build --release --workspace --bins --locked
	@set -e; eval "$$($(SCRIPTS)/services.sh env)"; $(CARGO) bench -p local-stack --bench contention --locked

bench-faults: services-up ## Fault acceptance: 100 purchases, 20 uploads under 30% Stripe faults, 10% DynamoDB throttling, lost webhooks
	@$(CARGO) build --release --workspace --bins --locked
	@set -e; eval "$$($(SCRIPTS)/services.sh env)"; $(CARGO) bench -p local-stack --bench faults --locked

# BENCH_MERCHANTS (default 10000) merchants each drop a feed at once, through the local stack
# (release binaries, BENCH_CONCURRENCY instances per function) against stripe-sim enforcing
# Stripe's live-mode rate limits. Prints time to every import terminal, Stripe's request
# rates and 429s, Lambda invocations and GB-s, DynamoDB capacity, S3/SQS requests, cost.
bench-scale: services-up ## Scale acceptance: 10,000 merchants' feeds under Stripe's live rate limits, measured and costed
	@$(CARGO) build --release --workspace --bins --locked
	@set -e; eval "$$($(SCRIPTS)/services.sh env)"; $(CARGO) bench -p local-stack --bench scale --locked

# BENCH_SKUS (default 100000) product rows applied to SKU records as a finished import does,
# through the metering proxy: rows per second and DynamoDB write units per row.
bench-skus: services-up ## SKU records from an import: rows/s and write units per row (DynamoDB Local)
	@set -e; eval "$$($(SCRIPTS)/services.sh env)"; $(CARGO) bench -p local-stack --bench sku_snapshot --locked

services-up: install ## Start DynamoDB Local + moto S3 on loopback (pids/logs in .local/run)
	@bash $(SCRIPTS)/services.sh start
	@echo 'environment for this shell: eval "$$($(SCRIPTS)/services.sh env)"'

services-down: ## Stop the local services started by services-up (safe to repeat)
	@bash $(SCRIPTS)/services.sh stop

services-status: ## Show whether the local services run
	@bash $(SCRIPTS)/services.sh status

sam-validate: install ## sam validate --lint on template.yaml (offline)
	@bash $(SCRIPTS)/sam.sh validate --lint --template template.yaml

# sam-build: cargo is the build cache here. SAM's own cache (`cached = true` in
# samconfig.toml) would hash every file under CodeUri, i.e. the whole workspace with
# target/ and .local/ (GBs), on every build, and fails when a cargo run writes target/
# meanwhile; so this target passes --no-cached and gives the Lambda builds their own
# cargo target dir under .aws-sam/ (git-ignored). An unchanged rebuild takes seconds.
# Zig and cargo-zigbuild (used by cargo-lambda to cross-compile) cache inside .local/.
sam-build: ## sam build for arm64 Lambda (installs cargo-lambda into .local/venv, adds the rustup target)
	@bash $(SCRIPTS)/install.sh cargo-lambda
	@rustup target list --installed | grep -qx '$(LAMBDA_TARGET)' || rustup target add $(LAMBDA_TARGET)
	@CARGO_TARGET_DIR="$(CURDIR)/.aws-sam/cargo-target" \
	  ZIG_GLOBAL_CACHE_DIR="$(CURDIR)/.local/cache/zig" \
	  CARGO_ZIGBUILD_CACHE_DIR="$(CURDIR)/.local/cache/cargo-zigbuild" \
	  bash $(SCRIPTS)/sam.sh build --no-cached --template template.yaml

sam-build-check: ## sam-build, then check every function in template.yaml got an arm64 bootstrap (CI)
	@bash $(SCRIPTS)/check-lambda-build.sh

clean: services-down ## Remove build output (target/, .aws-sam/) and service logs
	$(CARGO) clean
	rm -rf .aws-sam .local/run

distclean: clean ## clean, and remove every installed local tool (.local/)
	rm -rf .local
