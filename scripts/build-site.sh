#!/usr/bin/env bash
# Builds the browser side into target/site: the hydrating wasm (app crate,
# feature `hydrate`), its JS glue, the stylesheet and public files.
# usage: scripts/build-site.sh debug|release
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-debug}
site=target/site
front=target/front   # separate target dir: the wasm may use another compiler than the server

args=(build -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate --target-dir "$front")
[ "$mode" = release ] && args+=(--profile wasm-release)
profile_dir=$([ "$mode" = release ] && echo wasm-release || echo debug)

if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  env -u RUSTC cargo "${args[@]}"
else
  # Debian's compiler with std built from source (see README, "Toolchain").
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo "${args[@]}" -Zbuild-std=std,panic_abort
fi

mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name roster \
  "$front/wasm32-unknown-unknown/$profile_dir/app.wasm"
# Leptos's loader asks for `<name>_bg.wasm` unless LEPTOS_OUTPUT_NAME was set at compile time.
wasm="$site/pkg/roster_bg.wasm"
if [ "$mode" = release ]; then
  # binaryen from npm: Debian's older wasm-opt produces a wasm that fails at run time.
  end2end/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$wasm" -o "$wasm"
fi
cp style/main.css "$site/pkg/roster.css"
cp -r public/. "$site/"
printf '[site] %s wasm: %s bytes\n' "$mode" "$(stat -c %s "$wasm")"
