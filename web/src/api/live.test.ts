import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type LiveEvent, loadOnResync, OPEN_GRACE_MS } from "./live";

/** A stream that is told when to open: what `loadOnResync` reads of one. */
class Stream {
  state: "connecting" | "open" | "closed" = "connecting";
  private listeners = new Set<(e: LiveEvent) => void>();
  listen(l: (e: LiveEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  open() {
    this.state = "open";
    for (const l of this.listeners) l({ type: "resync" });
  }
}

/** A load that finishes when told, counting how many began. */
function loads() {
  const pending: (() => void)[] = [];
  const load = vi.fn(() => new Promise<void>((resolve) => pending.push(resolve)));
  const finish = async () => {
    pending.shift()?.();
    // Let the loop that awaited it go on.
    await vi.advanceTimersByTimeAsync(0);
  };
  return { load, finish };
}

describe("loadOnResync", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reads once when the page mounts before the stream opens", async () => {
    const stream = new Stream();
    const { load, finish } = loads();
    loadOnResync(stream, load);
    expect(load).toHaveBeenCalledTimes(0);
    stream.open();
    expect(load).toHaveBeenCalledTimes(1);
    await finish();
    await vi.advanceTimersByTimeAsync(OPEN_GRACE_MS * 2);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("reads at once when the stream is open already, and again on each resync", async () => {
    const stream = new Stream();
    stream.state = "open";
    const { load, finish } = loads();
    loadOnResync(stream, load);
    expect(load).toHaveBeenCalledTimes(1);
    await finish();
    stream.open();
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("reads without the stream when it does not open in time", async () => {
    const stream = new Stream();
    const { load } = loads();
    loadOnResync(stream, load);
    await vi.advanceTimersByTimeAsync(OPEN_GRACE_MS - 1);
    expect(load).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("never overlaps loads: resyncs during one run one more after it", async () => {
    const stream = new Stream();
    stream.state = "open";
    const { load, finish } = loads();
    loadOnResync(stream, load);
    stream.open();
    stream.open();
    expect(load).toHaveBeenCalledTimes(1);
    await finish();
    expect(load).toHaveBeenCalledTimes(2);
    await finish();
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("stops listening when stopped", async () => {
    const stream = new Stream();
    const { load } = loads();
    const stop = loadOnResync(stream, load);
    stop();
    stream.open();
    await vi.advanceTimersByTimeAsync(OPEN_GRACE_MS * 2);
    expect(load).toHaveBeenCalledTimes(0);
  });
});
