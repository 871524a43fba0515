/* Native tests of the probe's pure logic: `./build.sh --test`. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "banner.h"

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static bool parse(const char *json, struct banner_config *cfg, char *err) {
    return banner_config_parse(json, strlen(json), cfg, err, BANNER_ERR_MAX);
}

static void test_config(void) {
    struct banner_config c;
    char err[BANNER_ERR_MAX];
    CHECK(parse("{}", &c, err));
    CHECK(c.port == 22 && c.read_max == 512 && !c.has_expect && !c.has_send && c.timeout_ms == 0);
    CHECK(parse(" { \"port\" : 6379, \"send\": \"PING\\r\\n\", \"expect\": \"+PONG\", \"read_max\": 64.0 } ", &c, err));
    CHECK(c.port == 6379 && c.read_max == 64);
    CHECK(c.has_send && c.send_len == 6 && memcmp(c.send, "PING\r\n", 6) == 0);
    CHECK(c.has_expect && strcmp(c.expect, "+PONG") == 0);
    CHECK(parse("{\"expect\": \"caf\\u00e9 \\ud83d\\ude00\"}", &c, err));
    CHECK(strcmp(c.expect, "caf\xc3\xa9 \xf0\x9f\x98\x80") == 0);

    CHECK(!parse("{\"port\": 0}", &c, err));
    CHECK(strstr(err, "port") != NULL);
    CHECK(!parse("{\"port\": 70000}", &c, err));
    CHECK(!parse("{\"port\": 22.5}", &c, err));
    CHECK(!parse("{\"colour\": \"red\"}", &c, err));
    CHECK(strstr(err, "colour") != NULL);
    CHECK(!parse("{\"expect\": \"\"}", &c, err));
    CHECK(!parse("{\"expect\": \"bad \\q escape\"}", &c, err));
    CHECK(!parse("{\"expect\": \"\\ud83d alone\"}", &c, err));
    CHECK(!parse("[1]", &c, err));
    CHECK(!parse("{\"port\": 22", &c, err));
    CHECK(!parse("{} trailing", &c, err));
}

static void test_target(void) {
    char host[BANNER_HOST_MAX];
    char err[BANNER_ERR_MAX];
    uint16_t port;
#define TARGET(t) banner_target(t, strlen(t), 22, host, sizeof host, &port, err, sizeof err)
    CHECK(TARGET("example.test") && strcmp(host, "example.test") == 0 && port == 22);
    CHECK(TARGET("127.0.0.1:2525") && strcmp(host, "127.0.0.1") == 0 && port == 2525);
    CHECK(TARGET("[::1]:25") && strcmp(host, "::1") == 0 && port == 25);
    CHECK(TARGET("[::1]") && strcmp(host, "::1") == 0 && port == 22);
    CHECK(TARGET("fe80::1") && strcmp(host, "fe80::1") == 0 && port == 22);
    CHECK(!TARGET("host:0"));
    CHECK(!TARGET("host:99999"));
    CHECK(!TARGET("host:ssh"));
    CHECK(!TARGET(":22"));
    CHECK(!TARGET("[::1"));
    CHECK(strstr(err, "closing") != NULL);
    CHECK(!TARGET("[::1]x"));
    CHECK(!TARGET(""));
#undef TARGET
}

static void test_banner(void) {
    const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
    CHECK(banner_contains(ssh, sizeof ssh - 1, "SSH-2.0-"));
    CHECK(banner_contains(ssh, sizeof ssh - 1, "9.2p1\r\n"));
    CHECK(!banner_contains(ssh, sizeof ssh - 1, "SSH-1.99"));
    CHECK(!banner_contains(ssh, 3, "SSH-"));

    char out[32];
    const uint8_t mixed[] = {'2', '2', '0', '\r', '\n', 0x00, 0xff};
    banner_printable(mixed, sizeof mixed, out, sizeof out);
    CHECK(strcmp(out, "220\\r\\n\\x00\\xff") == 0);
    const uint8_t long_line[] = "0123456789012345678901234567890123456789";
    banner_printable(long_line, sizeof long_line - 1, out, 16);
    CHECK(strlen(out) < 16 && strstr(out, "\xe2\x80\xa6") != NULL && strncmp(out, "012345678901", 12) == 0);
}

int main(void) {
    test_config();
    test_target();
    test_banner();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    puts("test_banner: all checks passed");
    return 0;
}
