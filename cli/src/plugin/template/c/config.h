/* {{name}}: the probe's pure logic (configuration and target), free of
 * WebAssembly so that `./build.sh --test` checks it natively. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_HOST_MAX 256
#define PROBE_ERR_MAX 256

struct probe_config {
    /* The port to connect to when the target names none. */
    uint16_t port;
    /* The connect timeout; 0 means the run's whole budget. */
    uint32_t timeout_ms;
};

/* Reads the check's configuration: a JSON object of integers (the host has
 * validated it against manifest.json's config_schema). */
bool probe_config_parse(const char *json, size_t len, struct probe_config *cfg,
                        char *err, size_t errcap);

/* Splits "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address. */
bool probe_target(const char *target, size_t len, uint16_t default_port,
                  char *host, size_t hostcap, uint16_t *port, char *err, size_t errcap);

#endif
