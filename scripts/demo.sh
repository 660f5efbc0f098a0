#!/usr/bin/env bash
# `make demo`: Roster plus the Okta simulator with a sample org, so the whole
# Add Directory flow can be rehearsed locally. The simulator is whitelisted as
# an Okta origin only here (ROSTER_OKTA_EXTRA_ORIGINS); the real code path
# never knows about it.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${ROSTER_BIN_DIR:-target/release}
sim_addr=${OKTA_SIM_LISTEN:-127.0.0.1:4010}
sim_url="http://$sim_addr"
data_dir=${ROSTER_DATA_DIR:-./data-demo}

"$bin/okta-sim" --listen "$sim_addr" --seed "${OKTA_SIM_SEED:-7}" \
  --users "${OKTA_SIM_USERS:-500}" --groups "${OKTA_SIM_GROUPS:-40}" \
  --memberships "${OKTA_SIM_MEMBERSHIPS:-2000}" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true' EXIT INT TERM

cat <<TEXT

  Okta simulator: $sim_url   (its "API Services app" page: $sim_url/sim)
  In Roster's wizard, enter "$sim_url" as the Okta domain. On the simulator's
  page, paste the public key (or the JWKS URL) Roster shows, grant the scopes,
  assign the admin role, and copy the Client ID it gives you back into Roster.

TEXT

ROSTER_DATA_DIR="$data_dir" ROSTER_SITE_ROOT=target/site ROSTER_OKTA_EXTRA_ORIGINS="$sim_url" \
  "$bin/roster"
