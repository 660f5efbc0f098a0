#!/usr/bin/env bash
# `make demo`: Roster plus the Okta simulator with a sample org, so the whole
# Add Directory flow can be rehearsed locally, and a local OpenID Provider
# (the end-to-end tests' oidc-provider) to try Sign in with Okta. Both are
# whitelisted as Okta origins only here (ROSTER_OKTA_EXTRA_ORIGINS); the real
# code path never knows about them.
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
roster_url=${ROSTER_PUBLIC_URL:-http://127.0.0.1:3000}
op_port=${DEMO_OP_PORT:-4011}
op_url="http://127.0.0.1:$op_port"
OP_PORT=$op_port OP_CLIENT_ID=0oaDemoRosterSignIn1 OP_CLIENT_SECRET=demo-sign-in-secret \
  OP_REDIRECT_URIS="$roster_url/auth/callback" OP_POST_LOGOUT_REDIRECT_URIS="$roster_url/signin" \
  OP_USERS='[{"sub":"ada","email":"ada@example.com","name":"Ada Admin","groups":["Roster Admins"]},{"sub":"vic","email":"vic@example.com","name":"Vic Viewer","groups":["Roster Viewers"]},{"sub":"olga","email":"olga@example.com","name":"Olga Outsider","groups":["Everyone"]}]' \
  node end2end/support/op.mjs &
op_pid=$!
trap 'kill "$sim_pid" "$op_pid" 2>/dev/null || true' EXIT INT TERM

cat <<TEXT

  Okta simulator: $sim_url   (its "API Services app" page: $sim_url/sim)
  In Roster's wizard, enter "$sim_url" as the Okta domain. On the simulator's
  page, paste the public key (or the JWKS URL) Roster shows, grant the scopes,
  assign the admin role, and copy the Client ID it gives you back into Roster.

  Sign in with Okta, against a local OpenID Provider: Settings → Sign-in, with
    Okta domain or issuer URL  $op_url
    Client ID                  0oaDemoRosterSignIn1
    Client secret              demo-sign-in-secret
    Admin groups               Roster Admins      (viewer groups: Roster Viewers)
  Test sign-in as "ada" (any password); "vic" is a viewer, "olga" is refused.

TEXT

ROSTER_DATA_DIR="$data_dir" ROSTER_SITE_ROOT=target/site ROSTER_OKTA_EXTRA_ORIGINS="$sim_url,$op_url" \
  "$bin/roster"
