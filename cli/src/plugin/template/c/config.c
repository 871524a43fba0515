#include "config.h"

#include <stdio.h>
#include <string.h>

struct reader {
    const char *s;
    size_t len;
    size_t pos;
};

static void skip_ws(struct reader *r) {
    while (r->pos < r->len && strchr(" \t\r\n", r->s[r->pos]) && r->s[r->pos] != '\0')
        r->pos++;
}

static bool take(struct reader *r, char c) {
    skip_ws(r);
    if (r->pos < r->len && r->s[r->pos] == c) {
        r->pos++;
        return true;
    }
    return false;
}

/* A key: a JSON string without escapes (every key of the schema is plain). */
static bool read_key(struct reader *r, char *out, size_t cap) {
    if (!take(r, '"')) return false;
    size_t n = 0;
    while (r->pos < r->len && r->s[r->pos] != '"') {
        if (r->s[r->pos] == '\\' || n + 1 >= cap) return false;
        out[n++] = r->s[r->pos++];
    }
    if (r->pos >= r->len) return false;
    r->pos++;
    out[n] = '\0';
    return true;
}

static bool read_uint(struct reader *r, uint32_t max, uint32_t *value) {
    skip_ws(r);
    uint64_t v = 0;
    size_t start = r->pos;
    while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') {
        v = v * 10 + (uint64_t)(r->s[r->pos++] - '0');
        if (v > max) return false;
    }
    if (r->pos == start) return false;
    *value = (uint32_t)v;
    return true;
}

bool probe_config_parse(const char *json, size_t len, struct probe_config *cfg,
                        char *err, size_t errcap) {
    struct reader r = {json, len, 0};
    cfg->port = 80;
    cfg->timeout_ms = 0;
    if (!take(&r, '{')) {
        snprintf(err, errcap, "configuration is not a JSON object");
        return false;
    }
    if (!take(&r, '}')) {
        do {
            char key[32];
            uint32_t v;
            if (!read_key(&r, key, sizeof key) || !take(&r, ':')) {
                snprintf(err, errcap, "configuration holds a malformed key");
                return false;
            }
            if (strcmp(key, "port") == 0 && read_uint(&r, 65535, &v) && v > 0) {
                cfg->port = (uint16_t)v;
            } else if (strcmp(key, "timeout_ms") == 0 && read_uint(&r, UINT32_MAX, &v) && v > 0) {
                cfg->timeout_ms = v;
            } else {
                snprintf(err, errcap, "configuration: bad or unknown setting `%s`", key);
                return false;
            }
        } while (take(&r, ','));
        if (!take(&r, '}')) {
            snprintf(err, errcap, "configuration is not a well-formed JSON object");
            return false;
        }
    }
    skip_ws(&r);
    if (r.pos != r.len) {
        snprintf(err, errcap, "configuration has text after the object");
        return false;
    }
    return true;
}

static bool parse_port(const char *s, size_t n, uint16_t *port) {
    uint32_t v = 0;
    if (n == 0 || n > 5) return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v == 0 || v > 65535) return false;
    *port = (uint16_t)v;
    return true;
}

bool probe_target(const char *target, size_t len, uint16_t default_port,
                  char *host, size_t hostcap, uint16_t *port, char *err, size_t errcap) {
    const char *h = target;
    size_t hlen = len;
    bool port_ok = true;
    *port = default_port;
    if (len > 0 && target[0] == '[') {
        const char *close = memchr(target, ']', len);
        if (!close) {
            snprintf(err, errcap, "target `%.*s` has no closing `]`", (int)len, target);
            return false;
        }
        h = target + 1;
        hlen = (size_t)(close - h);
        size_t rest = len - (size_t)(close + 1 - target);
        if (rest > 0) port_ok = close[1] == ':' && parse_port(close + 2, rest - 1, port);
    } else {
        const char *colon = memchr(target, ':', len);
        /* One colon separates a port; more make a bare IPv6 address. */
        if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - target))) {
            hlen = (size_t)(colon - target);
            port_ok = parse_port(colon + 1, len - hlen - 1, port);
        }
    }
    if (!port_ok) {
        snprintf(err, errcap, "target `%.*s` has a bad port", (int)len, target);
        return false;
    }
    if (hlen == 0 || hlen >= hostcap) {
        snprintf(err, errcap, "target `%.*s` names no usable host", (int)len, target);
        return false;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return true;
}
