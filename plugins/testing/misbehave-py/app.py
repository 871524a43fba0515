"""`misbehave-py`: a sandbox test fixture written in Python.

Mode `ok` returns one sample; `loop` never returns (pure-Python busy loop,
stopped only by the host's deadline); `alloc` grows memory until the host's
memory limit refuses it. The host must contain both.
"""

import json

from wit_world import exports
from wit_world.imports import types


class Probe(exports.Probe):
    def run(self, context: types.CheckContext) -> types.Outcome:
        try:
            config = json.loads(context.config or "{}")
        except ValueError as e:
            return error(f"config: {e}")
        if not isinstance(config, dict):
            return error("config: expected a JSON object")
        mode = config.get("mode", "ok")
        if mode == "ok":
            return ok()
        if mode == "loop":
            spin()
        if mode == "alloc":
            hoard()
        return error(f"config: unknown mode {mode!r} (expected ok, loop or alloc)")


def ok() -> types.Outcome:
    return types.Outcome(
        status=types.Status.OK,
        message=None,
        samples=[types.Sample(metric="value", value=1.0, unit=types.Unit.COUNT, labels=[])],
    )


def error(message: str) -> types.Outcome:
    return types.Outcome(status=types.Status.ERROR, message=message, samples=[])


def spin() -> None:
    """Never returns: the host's deadline (epoch interruption) must stop it."""
    n = 0
    while True:
        n += 1


def hoard() -> None:
    """Keeps 1 MiB chunks, touching every page, until memory runs out.

    CPython turns a refused `memory.grow` into MemoryError; it is left
    uncaught so the run traps and the host reports its memory limit.
    """
    chunks = []
    while True:
        chunk = bytearray(1 << 20)
        for i in range(0, len(chunk), 4096):
            chunk[i] = 1
        chunks.append(chunk)
