/*
 * ProcessPrng for Wine 8.0 (Debian 12), which lacks bcryptprimitives.dll:
 * Rust's standard library on Windows draws its randomness from it, so no
 * Rust program starts under that Wine without it. Built by `cargo xtask
 * test` with mingw-w64 and found through WINEPATH; only the agent's Windows
 * unit tests under Wine load it, never a Windows host.
 */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
