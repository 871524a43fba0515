/* The probe's pure logic: configuration, target and banner handling.
 * No WebAssembly here, so `make test`-style native builds can check it
 * (see test_banner.c). */
#ifndef BANNER_H
#define BANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BANNER_EXPECT_MAX 256
#define BANNER_SEND_MAX 1024
#define BANNER_HOST_MAX 256
#define BANNER_ERR_MAX 256

struct banner_config {
    uint16_t port;
    bool has_expect;
    char expect[BANNER_EXPECT_MAX + 1];
    bool has_send;
    size_t send_len;
    char send[BANNER_SEND_MAX + 1];
    uint32_t read_max;
    /* 0: the run's whole budget. */
    uint32_t timeout_ms;
};

/* Reads the check's configuration (a JSON object; the host has validated it
 * against manifest.json's schema). Returns false and a message in `err`
 * when it cannot be read. */
bool banner_config_parse(const char *json, size_t len, struct banner_config *cfg,
                         char *err, size_t errcap);

/* Splits "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address into
 * host and port (`default_port` when none is named). */
bool banner_target(const char *target, size_t len, uint16_t default_port,
                   char *host, size_t hostcap, uint16_t *port,
                   char *err, size_t errcap);

/* Whether `needle` occurs in the `n` bytes of `banner`. */
bool banner_contains(const uint8_t *banner, size_t n, const char *needle);

/* The banner as one printable line for a message: control bytes and
 * non-ASCII escaped, cut at `cap` - 1 bytes with "…" when longer. */
void banner_printable(const uint8_t *banner, size_t n, char *out, size_t cap);

#endif
