#include "banner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cursor over the configuration's JSON text. */
struct reader {
    const char *s;
    size_t len;
    size_t pos;
};

static void skip_ws(struct reader *r) {
    while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
                               r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
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

static int hex4(const char *s) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

static size_t put_utf8(char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads a JSON string into `out` (NUL-terminated, at most `cap` - 1 bytes,
 * its length in `*outlen`); `out` may be NULL to skip it. */
static bool read_string(struct reader *r, char *out, size_t cap, size_t *outlen) {
    if (!take(r, '"')) return false;
    size_t n = 0;
    while (r->pos < r->len) {
        char c = r->s[r->pos++];
        char buf[4];
        size_t k = 1;
        if (c == '"') {
            if (out) out[n] = '\0';
            if (outlen) *outlen = n;
            return true;
        }
        if ((unsigned char)c < 0x20) return false;
        if (c != '\\') {
            buf[0] = c;
        } else {
            if (r->pos >= r->len) return false;
            char e = r->s[r->pos++];
            switch (e) {
            case '"': case '\\': case '/': buf[0] = e; break;
            case 'b': buf[0] = '\b'; break;
            case 'f': buf[0] = '\f'; break;
            case 'n': buf[0] = '\n'; break;
            case 'r': buf[0] = '\r'; break;
            case 't': buf[0] = '\t'; break;
            case 'u': {
                if (r->pos + 4 > r->len) return false;
                int hi = hex4(r->s + r->pos);
                if (hi < 0) return false;
                r->pos += 4;
                uint32_t cp = (uint32_t)hi;
                if (hi >= 0xD800 && hi <= 0xDBFF) {
                    if (r->pos + 6 > r->len || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u')
                        return false;
                    int lo = hex4(r->s + r->pos + 2);
                    if (lo < 0xDC00 || lo > 0xDFFF) return false;
                    r->pos += 6;
                    cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                } else if (hi >= 0xDC00 && hi <= 0xDFFF) {
                    return false;
                }
                k = put_utf8(buf, cp);
                break;
            }
            default: return false;
            }
        }
        if (out) {
            if (n + k >= cap) return false;
            memcpy(out + n, buf, k);
        }
        n += k;
    }
    return false;
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
    /* A JSON integer may be written with a zero fraction ("22.0"). */
    if (r->pos < r->len && r->s[r->pos] == '.') {
        r->pos++;
        size_t frac = r->pos;
        while (r->pos < r->len && r->s[r->pos] == '0') r->pos++;
        if (r->pos == frac || (r->pos < r->len && r->s[r->pos] >= '1' && r->s[r->pos] <= '9'))
            return false;
    }
    *value = (uint32_t)v;
    return true;
}

static bool fail(char *err, size_t errcap, const char *what, const char *key) {
    snprintf(err, errcap, "configuration: %s%s%s", what, key ? " " : "", key ? key : "");
    return false;
}

bool banner_config_parse(const char *json, size_t len, struct banner_config *cfg,
                         char *err, size_t errcap) {
    struct reader r = {json, len, 0};
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 22;
    cfg->read_max = 512;
    if (!take(&r, '{')) return fail(err, errcap, "is not a JSON object", NULL);
    if (!take(&r, '}')) {
        do {
            char key[32];
            if (!read_string(&r, key, sizeof key, NULL) || !take(&r, ':'))
                return fail(err, errcap, "holds an unknown or malformed key", NULL);
            uint32_t v;
            if (strcmp(key, "port") == 0) {
                if (!read_uint(&r, 65535, &v) || v == 0)
                    return fail(err, errcap, "needs an integer from 1 to 65535 for", "port");
                cfg->port = (uint16_t)v;
            } else if (strcmp(key, "read_max") == 0) {
                if (!read_uint(&r, 4096, &v) || v == 0)
                    return fail(err, errcap, "needs an integer from 1 to 4096 for", "read_max");
                cfg->read_max = v;
            } else if (strcmp(key, "timeout_ms") == 0) {
                if (!read_uint(&r, UINT32_MAX, &v) || v == 0)
                    return fail(err, errcap, "needs a positive integer for", "timeout_ms");
                cfg->timeout_ms = v;
            } else if (strcmp(key, "expect") == 0) {
                size_t n;
                if (!read_string(&r, cfg->expect, sizeof cfg->expect, &n) || n == 0)
                    return fail(err, errcap, "needs a string of 1 to 256 bytes for", "expect");
                cfg->has_expect = true;
            } else if (strcmp(key, "send") == 0) {
                if (!read_string(&r, cfg->send, sizeof cfg->send, &cfg->send_len))
                    return fail(err, errcap, "needs a string of at most 1024 bytes for", "send");
                cfg->has_send = true;
            } else {
                return fail(err, errcap, "has an unknown key", key);
            }
        } while (take(&r, ','));
        if (!take(&r, '}')) return fail(err, errcap, "is not a well-formed JSON object", NULL);
    }
    skip_ws(&r);
    if (r.pos != r.len) return fail(err, errcap, "has text after the object", NULL);
    return true;
}

static bool parse_port(const char *s, size_t n, uint16_t *port) {
    if (n == 0 || n > 5) return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v == 0 || v > 65535) return false;
    *port = (uint16_t)v;
    return true;
}

bool banner_target(const char *target, size_t len, uint16_t default_port,
                   char *host, size_t hostcap, uint16_t *port,
                   char *err, size_t errcap) {
    const char *h = target;
    size_t hlen = len;
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
        if (rest > 0) {
            if (close[1] != ':' || !parse_port(close + 2, rest - 1, port)) {
                snprintf(err, errcap, "target `%.*s` has a bad port", (int)len, target);
                return false;
            }
        }
    } else {
        const char *colon = memchr(target, ':', len);
        /* One colon separates a port; more make a bare IPv6 address. */
        if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - target))) {
            hlen = (size_t)(colon - target);
            if (!parse_port(colon + 1, len - hlen - 1, port)) {
                snprintf(err, errcap, "target `%.*s` has a bad port", (int)len, target);
                return false;
            }
        }
    }
    if (hlen == 0) {
        snprintf(err, errcap, "target `%.*s` names no host", (int)len, target);
        return false;
    }
    if (hlen >= hostcap) {
        snprintf(err, errcap, "target host is longer than %zu bytes", hostcap - 1);
        return false;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return true;
}

bool banner_contains(const uint8_t *banner, size_t n, const char *needle) {
    size_t m = strlen(needle);
    if (m == 0) return true;
    for (size_t i = 0; i + m <= n; i++) {
        if (memcmp(banner + i, needle, m) == 0) return true;
    }
    return false;
}

void banner_printable(const uint8_t *banner, size_t n, char *out, size_t cap) {
    static const char ellipsis[] = "\xe2\x80\xa6";
    size_t o = 0;
    if (cap == 0) return;
    for (size_t i = 0; i < n; i++) {
        char piece[5];
        uint8_t c = banner[i];
        int k;
        if (c == '\r') k = snprintf(piece, sizeof piece, "\\r");
        else if (c == '\n') k = snprintf(piece, sizeof piece, "\\n");
        else if (c == '\t') k = snprintf(piece, sizeof piece, "\\t");
        else if (c == '\\') k = snprintf(piece, sizeof piece, "\\\\");
        else if (c < 0x20 || c >= 0x7F) k = snprintf(piece, sizeof piece, "\\x%02x", c);
        else { piece[0] = (char)c; piece[1] = '\0'; k = 1; }
        if (o + (size_t)k + sizeof ellipsis > cap) {
            memcpy(out + o, ellipsis, sizeof ellipsis);
            return;
        }
        memcpy(out + o, piece, (size_t)k);
        o += (size_t)k;
    }
    out[o] = '\0';
}
