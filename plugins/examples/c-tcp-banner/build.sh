#!/usr/bin/env bash
# Builds the component: ./build.sh OUT.wasm   (or ./build.sh --test for the native tests)
#
# Needs clang-19, lld-19, libclang-rt-19-dev-wasm32 and wasi-libc (Debian) and
# the `vantage` CLI, which generates the C bindings from the plugin WIT and
# turns the core module into a component (set VANTAGE to use another binary).
set -euo pipefail
cd "$(dirname "$0")"

CC="${CC_WASM:-clang-19}"
VANTAGE="${VANTAGE:-vantage}"
SOURCES=(probe.c banner.c)
FLAGS=(-std=c11 -O2 -Wall -Wextra -Werror)

if [[ "${1:-}" == "--test" ]]; then
    mkdir -p build
    "${CC_NATIVE:-cc}" "${FLAGS[@]}" test_banner.c banner.c -o build/test_banner
    exec build/test_banner
fi
out="${1:?usage: ./build.sh OUT.wasm | --test}"

mkdir -p build/bindings
"$VANTAGE" plugin bindgen --lang c --out build/bindings
# A WASI "reactor": a library whose exports the host calls, with no main().
"$CC" --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor "${FLAGS[@]}" \
    -Wno-unused-parameter -Ibuild/bindings \
    "${SOURCES[@]}" build/bindings/plugin.c build/bindings/plugin_component_type.o \
    -o build/module.wasm
"$VANTAGE" plugin componentize build/module.wasm --out "$out"
