/* {{name}}: a Vantage probe plugin in C that times a TCP connect to the
 * check's target. plugin.h and plugin.c are generated from the plugin WIT by
 * `vantage plugin bindgen --lang c` (build.sh does it). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "plugin.h"

typedef exports_vantage_plugin_probe_outcome_t outcome_t;

/* The outcome owns its strings: the generated post-return frees them. */
static void fail(outcome_t *out, uint8_t status, const char *message, size_t len) {
    out->status = status;
    out->message.is_some = true;
    plugin_string_dup_n(&out->message.val, message, len);
}

void exports_vantage_plugin_probe_run(exports_vantage_plugin_probe_check_context_t *ctx,
                                      outcome_t *out) {
    struct probe_config cfg;
    char err[PROBE_ERR_MAX];
    char host[PROBE_HOST_MAX];
    uint16_t port;

    memset(out, 0, sizeof *out);
    if (!probe_config_parse((const char *)ctx->config.ptr, ctx->config.len, &cfg, err, sizeof err) ||
        !probe_target((const char *)ctx->target.ptr, ctx->target.len, cfg.port, host, sizeof host,
                      &port, err, sizeof err)) {
        fail(out, VANTAGE_PLUGIN_TYPES_STATUS_ERROR, err, strlen(err));
        exports_vantage_plugin_probe_check_context_free(ctx);
        return;
    }

    vantage_plugin_tcp_connect_request_t request = {0};
    plugin_string_set(&request.host, host);
    request.port = port;
    request.timeout_ms = ctx->timeout_ms;
    if (cfg.timeout_ms != 0 && cfg.timeout_ms < request.timeout_ms) request.timeout_ms = cfg.timeout_ms;

    vantage_plugin_tcp_connect_response_t response;
    vantage_plugin_tcp_net_error_t e;
    if (vantage_plugin_tcp_connect(&request, &response, &e)) {
        out->status = VANTAGE_PLUGIN_TYPES_STATUS_OK;
        out->samples.len = 1;
        out->samples.ptr = calloc(1, sizeof *out->samples.ptr);
        plugin_string_dup(&out->samples.ptr[0].metric, "connect_time");
        out->samples.ptr[0].value = (double)response.connect_ns / 1e9;
        out->samples.ptr[0].unit = VANTAGE_PLUGIN_TYPES_UNIT_SECONDS;
        vantage_plugin_tcp_connect_response_free(&response);
    } else {
        /* Each error becomes its status; the texts say what happened. */
        const plugin_string_t *text = &e.val.io;
        switch (e.tag) {
        case VANTAGE_PLUGIN_TYPES_NET_ERROR_TIMEOUT:
            fail(out, VANTAGE_PLUGIN_TYPES_STATUS_TIMEOUT, "connect timed out", 17);
            break;
        case VANTAGE_PLUGIN_TYPES_NET_ERROR_REFUSED:
            fail(out, VANTAGE_PLUGIN_TYPES_STATUS_REFUSED, "connection refused", 18);
            break;
        case VANTAGE_PLUGIN_TYPES_NET_ERROR_UNREACHABLE:
            fail(out, VANTAGE_PLUGIN_TYPES_STATUS_UNREACHABLE, (const char *)e.val.unreachable.ptr,
                 e.val.unreachable.len);
            break;
        default:
            /* denied, dns, tls, invalid and io all carry a string. */
            fail(out, VANTAGE_PLUGIN_TYPES_STATUS_ERROR, (const char *)text->ptr, text->len);
            break;
        }
        vantage_plugin_tcp_net_error_free(&e);
    }
    exports_vantage_plugin_probe_check_context_free(ctx);
}
