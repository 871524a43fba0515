/*
 * For `cargo xtask platforms`' macOS check only: wasmtime's helpers.c
 * includes <stdlib.h> for NULL, and the check compiles C freestanding (no
 * macOS libc headers here). Never linked.
 */
#include <stddef.h>
