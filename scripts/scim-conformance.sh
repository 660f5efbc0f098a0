#!/usr/bin/env bash
# SCIM 2.0 conformance against a running Roster: Okta's SPEC test (12 steps)
# and PyPI scim2-cli's `test` (every check must be SUCCESS). Each runs on a
# fresh SCIM-only directory of a throwaway instance.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROSTER_BINARY:-$PWD/target/debug/roster}
SCIM2=.tools/scim-venv/bin/scim2
[ -x "$BIN" ] || { echo "No Roster binary at $BIN: run make server first." >&2; exit 2; }
[ -x "$SCIM2" ] || { echo "No scim2-cli at $SCIM2: run scripts/setup.sh first." >&2; exit 2; }

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ROSTER_DATA_DIR="$work/data" ROSTER_LISTEN="127.0.0.1:$port" ROSTER_LOG="warn"
export ROSTER_PUBLIC_URL="http://127.0.0.1:$port" ROSTER_URL="http://127.0.0.1:$port"
json() { python3 -c "import sys, json; v = json.load(sys.stdin); print(eval(sys.argv[1], {}, {'v': v}))" "$1"; }

ROSTER_TOKEN=$("$BIN" admin create-token --name scim-conformance --scope read-write --json | json 'v["secret"]')
export ROSTER_TOKEN
"$BIN" serve >"$work/roster.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "$ROSTER_URL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

scim_directory() {
  local dir token
  dir=$("$BIN" scim create-directory --name "$1" --json | json 'v["directory_id"]')
  token=$("$BIN" scim token-create "$dir" --name "$1" --json | json 'v["secret"]')
  echo "$ROSTER_URL/scim/v2/$dir $token"
}

status=0
echo "== Okta SCIM 2.0 SPEC test"
read -r base token < <(scim_directory "Okta SPEC test")
# Step 1 lists users and expects one with a name, an e-mail and active.
curl -fsS -o /dev/null -X POST "$base/Users" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/scim+json' \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"existing@atko.com",
       "name":{"givenName":"Existing","familyName":"User"},
       "emails":[{"primary":true,"value":"existing@atko.com","type":"work"}],"active":true}'
python3 scripts/okta-scim/run_spec_test.py scripts/okta-scim/Okta-SCIM-20-SPEC-Test.json "$base" "$token" || status=1

echo "== scim2-cli test"
read -r base token < <(scim_directory "scim2-cli")
out="$work/scim2.txt"
if "$SCIM2" -u "$base" -h "Authorization: Bearer $token" test >"$out" 2>&1; then
  echo "scim2-cli: $(grep -c '^SUCCESS' "$out") checks, all SUCCESS"
else
  status=1
  grep -E -A4 '^(ERROR|SKIPPED|CRITICAL|WARNING)' "$out" | head -80
  echo "scim2-cli: $(grep -c '^SUCCESS' "$out") SUCCESS, $(grep -Ec '^(ERROR|SKIPPED|CRITICAL|WARNING)' "$out") not"
fi
[ "$status" -eq 0 ] || { echo "--- roster log"; tail -40 "$work/roster.log"; }
exit "$status"
