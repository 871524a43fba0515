"""`{{name}}`: a Vantage probe plugin that times a TCP connect to the check's target.

componentize-py builds this module into a WebAssembly component
(`./build.sh {{name}}.wasm`); README.md shows how to pack, sign and verify
it. The class `Probe` is the component's exported `probe` interface; the
logic that needs no host lives in `logic.py`, unit-tested natively.

Import every module you need at the top: componentize-py runs this module at
build time and snapshots the interpreter, and the component has no file
system at run time, so a module first imported inside `run` is not found.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import tcp, types

import logic

# `net-error` cases as the bindings name them, to the names `logic` uses.
NET_ERROR_KINDS = {
    types.NetError_Denied: "denied",
    types.NetError_Timeout: "timeout",
    types.NetError_Refused: "refused",
    types.NetError_Unreachable: "unreachable",
    types.NetError_Dns: "dns",
    types.NetError_Tls: "tls",
    types.NetError_Invalid: "invalid",
    types.NetError_Io: "io",
}


class Probe(exports.Probe):
    def run(self, context: types.CheckContext) -> types.Outcome:
        try:
            config = logic.parse_config(context.config)
            host, port = logic.target_host_port(context.target, config.port)
        except ValueError as problem:
            return outcome(types.Status.ERROR, str(problem))
        request = tcp.ConnectRequest(
            host=host,
            port=port,
            timeout_ms=logic.request_timeout_ms(config.timeout_ms, context.timeout_ms),
            delay_ms=0,
            send=None,
            read_max=0,
        )
        try:
            response = tcp.connect(request)
        except Err as e:
            # Timeout, refused, unreachable, denied: each becomes its status.
            kind = NET_ERROR_KINDS.get(type(e.value), "io")
            status, message = logic.net_error(kind, getattr(e.value, "value", None))
            return outcome(types.Status[status], message)
        return outcome(
            types.Status.OK,
            None,
            [sample("connect_time", response.connect_ns / 1e9, types.Unit.SECONDS)],
        )


def outcome(status, message=None, samples=()):
    return types.Outcome(status=status, message=message, samples=list(samples))


def sample(metric, value, unit):
    """A sample of `metric`, which must be declared in manifest.json."""
    return types.Sample(metric=metric, value=value, unit=unit, labels=[])
