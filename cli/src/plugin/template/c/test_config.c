/* Native tests of the probe's pure logic: `./build.sh --test`. */
#include <stdio.h>
#include <string.h>

#include "config.h"

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

int main(void) {
    struct probe_config c;
    char err[PROBE_ERR_MAX];
    char host[PROBE_HOST_MAX];
    uint16_t port;
#define CONFIG(json) probe_config_parse(json, strlen(json), &c, err, sizeof err)
#define TARGET(t) probe_target(t, strlen(t), 80, host, sizeof host, &port, err, sizeof err)
    CHECK(CONFIG("{}") && c.port == 80 && c.timeout_ms == 0);
    CHECK(CONFIG(" {\"port\": 8443, \"timeout_ms\": 250} ") && c.port == 8443 && c.timeout_ms == 250);
    CHECK(!CONFIG("{\"port\": 0}"));
    CHECK(!CONFIG("{\"colour\": 1}") && strstr(err, "colour"));
    CHECK(!CONFIG("[]"));

    CHECK(TARGET("example.test") && !strcmp(host, "example.test") && port == 80);
    CHECK(TARGET("10.0.0.1:22") && !strcmp(host, "10.0.0.1") && port == 22);
    CHECK(TARGET("[::1]:8080") && !strcmp(host, "::1") && port == 8080);
    CHECK(TARGET("::1") && !strcmp(host, "::1") && port == 80);
    CHECK(!TARGET("host:http"));
    CHECK(!TARGET(""));
    if (failures) return 1;
    puts("test_config: all checks passed");
    return 0;
}
