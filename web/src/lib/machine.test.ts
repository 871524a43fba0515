import { describe, expect, it } from "vitest";
import { machine, type RunSample, sortProcesses } from "./machine";

const s = (metric: string, value: number, labels: Record<string, string> = {}, unit = "count"): RunSample => ({
  metric,
  unit,
  labels,
  value,
});

const run: RunSample[] = [
  s("cpu_usage", 0.25, {}, "ratio"),
  s("cpu_usage", 0.5, { core: "1" }, "ratio"),
  s("cpu_usage", 0.1, { core: "0" }, "ratio"),
  s("cpu_frequency", 2.4e9, { core: "0" }, "hertz"),
  s("process_cpu_usage", 0.02, { pid: "7", name: "sshd", user: "root" }, "ratio"),
  s("process_memory", 9e6, { pid: "7", name: "sshd", user: "root" }, "bytes"),
  s("process_threads", 1, { pid: "7", name: "sshd", user: "root" }),
  s("process_cpu_usage", 0.9, { pid: "42", name: "postgres", user: "postgres" }, "ratio"),
  s("process_memory", 5e8, { pid: "42", name: "postgres", user: "postgres" }, "bytes"),
  s("process_handles", 80, { pid: "42", name: "postgres", user: "postgres" }),
  s("disk_total", 1e11, { mount: "/", device: "vda1" }, "bytes"),
  s("disk_available", 4e10, { mount: "/", device: "vda1" }, "bytes"),
  s("disk_busy", 0.3, { device: "vda" }, "ratio"),
  s("disk_read_bytes_per_second", 2048, { device: "vda" }, "bytes"),
  s("net_rx_bytes", 123456, { interface: "eth0" }, "bytes"),
  s("net_rx_bytes_per_second", 1000, { interface: "eth0" }, "bytes"),
  s("net_tx_dropped_per_second", 2, { interface: "eth0" }),
];

describe("machine", () => {
  it("turns a system run into processes, cores, disks and interfaces", () => {
    const m = machine(run);
    expect(m.processes.map((p) => p.name)).toEqual(["postgres", "sshd"]);
    expect(m.processes[0]).toEqual({ pid: 42, name: "postgres", user: "postgres", cpu: 0.9, memory: 5e8, handles: 80 });
    expect(m.cores).toEqual([{ core: 0, usage: 0.1, hertz: 2.4e9 }, { core: 1, usage: 0.5 }]);
    expect(m.disks).toEqual([{ mount: "/", device: "vda1", total: 1e11, available: 4e10 }]);
    expect(m.io).toEqual([{ device: "vda", busy: 0.3, read: 2048 }]);
    expect(m.interfaces).toEqual([{ name: "eth0", rx: 1000, txDropped: 2 }]);
  });

  it("is empty for a run without those metrics", () => {
    const m = machine([s("load1", 0.5, {}, "none")]);
    expect([m.processes, m.cores, m.disks, m.io, m.interfaces].every((l) => l.length === 0)).toBe(true);
  });
});

describe("sortProcesses", () => {
  const { processes } = machine(run);
  it("sorts by any column, either way, missing values last", () => {
    expect(sortProcesses(processes, "memory", false).map((p) => p.pid)).toEqual([7, 42]);
    expect(sortProcesses(processes, "name", false).map((p) => p.name)).toEqual(["postgres", "sshd"]);
    expect(sortProcesses(processes, "handles", true).map((p) => p.pid)).toEqual([42, 7]);
    expect(sortProcesses(processes, "handles", false).map((p) => p.pid)).toEqual([42, 7]);
    expect(sortProcesses(processes, "threads", true).map((p) => p.pid)).toEqual([7, 42]);
  });
});
