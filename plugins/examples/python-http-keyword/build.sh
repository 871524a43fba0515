#!/usr/bin/env bash
# Builds this Python plugin into a WebAssembly component.
#
#   ./build.sh OUT.wasm
#   ./build.sh --test      the unit tests, natively (python3 -m unittest)
#
# Needs `componentize-py` (PyPI, 0.25.1) on PATH. The WIT folder is
# $VANTAGE_WIT_DIR, else `wit` beside this script; relative paths (OUT and
# VANTAGE_WIT_DIR) are taken from the caller's working directory.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUT.wasm | --test" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $1 == --test ]]; then
    cd "$here"
    exec python3 -m unittest --quiet
fi
out=$1
[[ $out == /* ]] || out=$PWD/$out
wit=${VANTAGE_WIT_DIR:-$here/wit}
[[ $wit == /* ]] || wit=$PWD/$wit

if ! command -v componentize-py >/dev/null; then
    echo "$0: componentize-py is not on PATH (pip install componentize-py==0.25.1)" >&2
    exit 1
fi
if [[ ! -f $wit/plugin.wit ]]; then
    echo "$0: no plugin.wit in $wit (set VANTAGE_WIT_DIR)" >&2
    exit 1
fi

mkdir -p "$(dirname "$out")"
# The component holds what `app` imports when componentize-py runs it at build
# time (a snapshot of the interpreter): modules from this folder, the standard
# library, and packages of the active venv. Nothing else is importable at run
# time, as the host gives the component no file system.
cd "$here"
componentize-py --quiet -d "$wit" -w plugin \
    componentize --python-path "$here" --output "$out" app
