#!/usr/bin/env bash
# Builds the component: ./build.sh {{name}}.wasm   (or ./build.sh --test for the unit tests)
#
# Needs Node.js 20+ and npm. The toolchain (componentize-qjs: QuickJS plus
# Wizer, as prebuilt npm packages) is pinned in package-lock.json and
# installed with `npm ci` when node_modules is absent; nothing else is
# downloaded. The WIT comes from $VANTAGE_WIT_DIR (relative to the current
# directory), else from ./wit beside this script.
set -euo pipefail

if [[ "${1:-}" == "--test" ]]; then
    cd "$(dirname "$0")"
    exec node --test
fi
out="${1:?usage: ./build.sh OUT.wasm | --test}"
here="$(cd "$(dirname "$0")" && pwd)"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if [[ -n "${VANTAGE_WIT_DIR:-}" ]]; then
    wit="$(cd "$VANTAGE_WIT_DIR" 2>/dev/null && pwd)" ||
        { echo "build.sh: VANTAGE_WIT_DIR=$VANTAGE_WIT_DIR is not a directory" >&2; exit 1; }
else
    wit="$here/wit"
    [[ -d "$wit" ]] ||
        { echo "build.sh: no WIT directory at $wit; set VANTAGE_WIT_DIR to the vantage:plugin WIT" >&2; exit 1; }
fi

cd "$here"
# Also after an interrupted install that left node_modules without the tool.
if [[ ! -d node_modules || ! -x node_modules/.bin/componentize-qjs ]]; then
    npm ci --no-audit --no-fund
fi
mkdir -p "$(dirname "$out")"
# --sync: plain (non-async) component-model ABI, which the host calls.
# --opt-size: the QuickJS runtime built for size (about 1.1 MB instead of 1.6 MB).
# Relative imports of src/probe.js are resolved and snapshotted at build time.
node_modules/.bin/componentize-qjs --wit "$wit" --world plugin --js src/probe.js \
    --sync --opt-size --output "$out"
