/* example-tcp-banner: a Vantage probe plugin in C.
 *
 * Connects to the target over the host's `tcp` capability, optionally sends
 * a line, reads the service's banner and checks that it contains `expect`.
 * plugin.h and plugin.c are generated from wit/plugin.wit by
 * `vantage plugin bindgen --lang c` (see build.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banner.h"
#include "plugin.h"

typedef exports_vantage_plugin_probe_outcome_t outcome_t;

/* The outcome owns what it points to: the generated post-return function
 * frees it with free() once the host has read it. */
static void set_message(outcome_t *out, uint8_t status, const char *message) {
    out->status = status;
    out->message.is_some = true;
    plugin_string_dup(&out->message.val, message);
}

static void add_sample(outcome_t *out, const char *metric, double value,
                       vantage_plugin_types_unit_t unit) {
    vantage_plugin_types_sample_t *s = &out->samples.ptr[out->samples.len++];
    plugin_string_dup(&s->metric, metric);
    s->value = value;
    s->unit = unit;
    s->labels.ptr = NULL;
    s->labels.len = 0;
}

/* A capability's error as the run's status and message. */
static void set_net_error(outcome_t *out, const vantage_plugin_tcp_net_error_t *e,
                          const char *host, uint16_t port) {
    char text[BANNER_ERR_MAX + 64];
    const plugin_string_t *detail = NULL;
    uint8_t status = VANTAGE_PLUGIN_TYPES_STATUS_ERROR;
    switch (e->tag) {
    case VANTAGE_PLUGIN_TYPES_NET_ERROR_TIMEOUT:
        snprintf(text, sizeof text, "no banner from %s:%u in time", host, port);
        set_message(out, VANTAGE_PLUGIN_TYPES_STATUS_TIMEOUT, text);
        return;
    case VANTAGE_PLUGIN_TYPES_NET_ERROR_REFUSED:
        snprintf(text, sizeof text, "%s:%u refused the connection", host, port);
        set_message(out, VANTAGE_PLUGIN_TYPES_STATUS_REFUSED, text);
        return;
    case VANTAGE_PLUGIN_TYPES_NET_ERROR_UNREACHABLE:
        status = VANTAGE_PLUGIN_TYPES_STATUS_UNREACHABLE;
        detail = &e->val.unreachable;
        break;
    case VANTAGE_PLUGIN_TYPES_NET_ERROR_DENIED: detail = &e->val.denied; break;
    case VANTAGE_PLUGIN_TYPES_NET_ERROR_DNS: detail = &e->val.dns; break;
    case VANTAGE_PLUGIN_TYPES_NET_ERROR_TLS: detail = &e->val.tls; break;
    case VANTAGE_PLUGIN_TYPES_NET_ERROR_INVALID: detail = &e->val.invalid; break;
    default: detail = &e->val.io; break;
    }
    snprintf(text, sizeof text, "%.*s", (int)detail->len, (const char *)detail->ptr);
    set_message(out, status, text);
}

void exports_vantage_plugin_probe_run(exports_vantage_plugin_probe_check_context_t *ctx,
                                      exports_vantage_plugin_probe_outcome_t *out) {
    struct banner_config cfg;
    char err[BANNER_ERR_MAX];
    char host[BANNER_HOST_MAX];
    uint16_t port;

    memset(out, 0, sizeof *out);
    out->samples.ptr = calloc(3, sizeof *out->samples.ptr);
    if (!banner_config_parse((const char *)ctx->config.ptr, ctx->config.len, &cfg, err, sizeof err) ||
        !banner_target((const char *)ctx->target.ptr, ctx->target.len, cfg.port, host,
                       sizeof host, &port, err, sizeof err)) {
        set_message(out, VANTAGE_PLUGIN_TYPES_STATUS_ERROR, err);
        exports_vantage_plugin_probe_check_context_free(ctx);
        return;
    }

    uint32_t timeout = ctx->timeout_ms;
    if (cfg.timeout_ms != 0 && cfg.timeout_ms < timeout) timeout = cfg.timeout_ms;
    vantage_plugin_tcp_connect_request_t request = {0};
    plugin_string_set(&request.host, host);
    request.port = port;
    request.timeout_ms = timeout;
    request.read_max = cfg.read_max;
    if (cfg.has_send) {
        request.send.is_some = true;
        request.send.val.ptr = (uint8_t *)cfg.send;
        request.send.val.len = cfg.send_len;
    }

    vantage_plugin_tcp_connect_response_t response;
    vantage_plugin_tcp_net_error_t net_error;
    if (!vantage_plugin_tcp_connect(&request, &response, &net_error)) {
        set_net_error(out, &net_error, host, port);
        vantage_plugin_tcp_net_error_free(&net_error);
        exports_vantage_plugin_probe_check_context_free(ctx);
        return;
    }

    const uint8_t *banner = response.received.ptr;
    size_t n = response.received.len;
    add_sample(out, "connect_time", (double)response.connect_ns / 1e9,
               VANTAGE_PLUGIN_TYPES_UNIT_SECONDS);
    if (response.first_byte_ns.is_some)
        add_sample(out, "first_byte_time", (double)response.first_byte_ns.val / 1e9,
                   VANTAGE_PLUGIN_TYPES_UNIT_SECONDS);
    add_sample(out, "banner_bytes", (double)n, VANTAGE_PLUGIN_TYPES_UNIT_BYTES);

    char shown[96];
    char text[BANNER_EXPECT_MAX + 192];
    if (n == 0) {
        snprintf(text, sizeof text, "%s:%u closed the connection without a banner", host, port);
        set_message(out, VANTAGE_PLUGIN_TYPES_STATUS_ERROR, text);
    } else if (cfg.has_expect && !banner_contains(banner, n, cfg.expect)) {
        banner_printable(banner, n, shown, sizeof shown);
        snprintf(text, sizeof text, "banner does not contain \"%s\": got \"%s\"", cfg.expect, shown);
        set_message(out, VANTAGE_PLUGIN_TYPES_STATUS_ERROR, text);
    } else {
        out->status = VANTAGE_PLUGIN_TYPES_STATUS_OK;
    }
    vantage_plugin_tcp_connect_response_free(&response);
    exports_vantage_plugin_probe_check_context_free(ctx);
}
