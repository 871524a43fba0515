// The live stream: one WebSocket per page, reconnected with back-off, fanned
// out to the components that listen.

import type { Schemas } from "./client";

export type LiveEvent = Schemas["LiveEvent"];
type Listener = (event: LiveEvent) => void;
type State = "connecting" | "open" | "closed";

/** Close code of a stream whose session ended (see the server's live.rs). */
const SESSION_ENDED = 4401;

export class LiveStream {
  private socket: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private stateListeners = new Set<(s: State) => void>();
  private retry = 500;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  state: State = "closed";

  constructor(private readonly onSessionEnded: () => void) {}

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000);
    this.socket = null;
    this.setState("closed");
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: (s: State) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(s: State) {
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  private connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
    this.socket = socket;
    this.setState("connecting");
    socket.onopen = () => {
      this.retry = 500;
      this.setState("open");
      // What happened while the socket was down is read again.
      this.dispatch({ type: "resync" });
    };
    socket.onmessage = (message) => {
      try {
        this.dispatch(JSON.parse(message.data as string) as LiveEvent);
      } catch {
        // A frame that is not an event is ignored.
      }
    };
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setState("closed");
      if (close.code === SESSION_ENDED) {
        this.onSessionEnded();
        return;
      }
      if (this.stopped) return;
      this.timer = setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 15_000);
    };
  }

  private dispatch(event: LiveEvent) {
    for (const l of this.listeners) l(event);
  }
}

/** How long a page waits for the stream to open before it reads without it (ms). */
export const OPEN_GRACE_MS = 1000;

/**
 * Runs `load` whenever a page must read its data again: when the stream is
 * (re)opened, which is what a resync says, or at once when it is open
 * already. A page that mounts while the stream is still connecting reads
 * once, on the resync that follows, rather than once now and again then;
 * it reads anyway after `OPEN_GRACE_MS` without the stream. Loads never
 * overlap: a resync during one runs one more after it. Returns the stop.
 */
export function loadOnResync(live: Pick<LiveStream, "state" | "listen">, load: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  let started = false;
  const run = async () => {
    started = true;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await load();
      } while (again);
    } finally {
      running = false;
    }
  };
  if (live.state === "open") run();
  const grace = setTimeout(() => started || run(), OPEN_GRACE_MS);
  const stop = live.listen((event) => {
    if (event.type === "resync") run();
  });
  return () => {
    clearTimeout(grace);
    stop();
  };
}
