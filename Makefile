# Roster — the two commands are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export CARGO_TERM_COLOR ?= never

.PHONY: help setup site site-release server server-release run test test-rust test-scim test-e2e lint fmt clean demo bench-sync bench-scim fuzz-scim test-replicas

help:
	@echo "make run    build and start Roster on http://127.0.0.1:3000 (data in ./data)"
	@echo "make test   lint, unit + integration tests, end-to-end tests in headless Chromium"
	@echo "make demo   Roster plus the Okta simulator with a sample org (data in ./data-demo)"
	@echo "make bench-scim   SCIM push benchmark (200 clients, 30 s, SQLite): requests/s, p50/p95/p99, lost writes"
	@echo "make fuzz-scim    10 minutes of random SCIM filters and PATCH paths: 0 crashes"
	@echo "make bench-sync   sync benchmark against okta-sim (100k users): times, API calls, peak RSS, pacing"

setup:
	@scripts/setup.sh

site: setup
	@scripts/build-site.sh debug

site-release: setup
	@scripts/build-site.sh release

# The simulator is built alongside: the end-to-end tests and `make demo` run it.
server:
	env -u RUSTC cargo build -p server -p okta-sim

server-release:
	env -u RUSTC cargo build -p server --release

run: site-release server-release
	ROSTER_SITE_ROOT=target/site ./target/release/roster

demo: site-release server-release
	env -u RUSTC cargo build --release -p okta-sim
	scripts/demo.sh

lint:
	env -u RUSTC cargo fmt --all -- --check
	env -u RUSTC cargo clippy --workspace --all-targets -- -D warnings

# Every suite on SQLite (the store conformance suite on both databases), then
# the API suite again on PostgreSQL in a throwaway cluster. Skipped there: the
# tests about the data directory's own SQLite file and the offline CLI.
test-rust:
	env -u RUSTC cargo test --workspace
	ROSTER_TEST_BACKEND=postgres env -u RUSTC cargo test -p server --test api -- \
		--skip cli:: --skip pages::overview_shows_real_facts --skip startup_errors::restart_keeps_data \
		--skip replicas:: --skip store_conformance::

# Okta's SCIM SPEC test and PyPI scim2-cli against a running Roster.
test-scim: setup server
	scripts/scim-conformance.sh

test-e2e: site server
	cd end2end && ROSTER_BINARY=$(CURDIR)/target/debug/roster npx playwright test

test: setup lint test-rust test-scim test-e2e

fmt:
	env -u RUSTC cargo fmt --all

# Release builds: the simulator runs as its own process so the RSS printed is Roster's.
# BENCH_USERS / BENCH_GROUPS / BENCH_MEMBERSHIPS (and BENCH_PACED_*) scale it down for quick runs.
bench-sync:
	env -u RUSTC cargo build --release -p okta-sim
	env -u RUSTC cargo run --release -p server --example bench_sync

bench-scim:
	env -u RUSTC cargo build --release -p server --bin roster --example bench_scim
	@echo "--- saturating: every client sends its next request at once"
	target/release/examples/bench_scim
	@echo "--- paced: 250 ms between a client's requests (about 800 requests/s in all)"
	BENCH_THINK_MS=250 target/release/examples/bench_scim

# Filters and PATCH paths under random input for FUZZ_SECONDS (default 600).
fuzz-scim:
	env -u RUSTC SCIM_FUZZ_SECONDS=$${FUZZ_SECONDS:-600} cargo test --release -p server --lib scim::fuzz -- --ignored --nocapture

clean:
	rm -rf target end2end/node_modules end2end/test-results
