// The latest run of a `system` check, shaped for its panels: the process
// table, the cores, the disks and the interfaces.

export type RunSample = { metric: string; unit: string; labels: Record<string, string>; value: number };

export type ProcessRow = {
  pid: number;
  name: string;
  user: string;
  cpu?: number;
  memory?: number;
  threads?: number;
  handles?: number;
};
export type ProcessKey = "name" | "user" | "pid" | "cpu" | "memory" | "threads" | "handles";

export type Core = { core: number; usage?: number; hertz?: number };
export type DiskRow = { mount: string; device: string; total?: number; available?: number };
export type DiskIo = { device: string; read?: number; written?: number; reads?: number; writes?: number; busy?: number };
export type InterfaceRow = {
  name: string;
  rx?: number;
  tx?: number;
  rxErrors?: number;
  txErrors?: number;
  rxDropped?: number;
  txDropped?: number;
};

export type Machine = {
  processes: ProcessRow[];
  cores: Core[];
  disks: DiskRow[];
  io: DiskIo[];
  interfaces: InterfaceRow[];
};

/** Groups a run's samples by what they describe (their labels). */
function rows<T>(samples: RunSample[], key: (s: RunSample) => string | undefined, make: (s: RunSample) => T): Map<string, T> {
  const out = new Map<string, T>();
  for (const s of samples) {
    const k = key(s);
    if (k !== undefined && !out.has(k)) out.set(k, make(s));
  }
  return out;
}

export function machine(samples: RunSample[]): Machine {
  const processes = rows(
    samples.filter((s) => s.metric.startsWith("process_")),
    (s) => s.labels.pid,
    (s): ProcessRow => ({ pid: Number(s.labels.pid), name: s.labels.name ?? "", user: s.labels.user ?? "" }),
  );
  const cores = rows(
    samples.filter((s) => s.labels.core !== undefined),
    (s) => s.labels.core,
    (s): Core => ({ core: Number(s.labels.core) }),
  );
  const disks = rows(
    samples.filter((s) => s.metric === "disk_total" || s.metric === "disk_available"),
    (s) => s.labels.mount,
    (s): DiskRow => ({ mount: s.labels.mount ?? "", device: s.labels.device ?? "" }),
  );
  const io = rows(
    samples.filter((s) => s.metric.startsWith("disk_") && s.labels.mount === undefined),
    (s) => s.labels.device,
    (s): DiskIo => ({ device: s.labels.device ?? "" }),
  );
  const interfaces = rows(
    samples.filter((s) => s.labels.interface !== undefined),
    (s) => s.labels.interface,
    (s): InterfaceRow => ({ name: s.labels.interface ?? "" }),
  );
  for (const s of samples) {
    const p = s.labels.pid !== undefined ? processes.get(s.labels.pid) : undefined;
    if (p) {
      if (s.metric === "process_cpu_usage") p.cpu = s.value;
      if (s.metric === "process_memory") p.memory = s.value;
      if (s.metric === "process_threads") p.threads = s.value;
      if (s.metric === "process_handles") p.handles = s.value;
    }
    const c = s.labels.core !== undefined ? cores.get(s.labels.core) : undefined;
    if (c) {
      if (s.metric === "cpu_usage") c.usage = s.value;
      if (s.metric === "cpu_frequency") c.hertz = s.value;
    }
    const d = s.labels.mount !== undefined ? disks.get(s.labels.mount) : undefined;
    if (d) {
      if (s.metric === "disk_total") d.total = s.value;
      if (s.metric === "disk_available") d.available = s.value;
    }
    const i = s.labels.mount === undefined && s.labels.device !== undefined ? io.get(s.labels.device) : undefined;
    if (i) {
      if (s.metric === "disk_read_bytes_per_second") i.read = s.value;
      if (s.metric === "disk_written_bytes_per_second") i.written = s.value;
      if (s.metric === "disk_reads_per_second") i.reads = s.value;
      if (s.metric === "disk_writes_per_second") i.writes = s.value;
      if (s.metric === "disk_busy") i.busy = s.value;
    }
    const n = s.labels.interface !== undefined ? interfaces.get(s.labels.interface) : undefined;
    if (n) {
      if (s.metric === "net_rx_bytes_per_second") n.rx = s.value;
      if (s.metric === "net_tx_bytes_per_second") n.tx = s.value;
      if (s.metric === "net_rx_errors_per_second") n.rxErrors = s.value;
      if (s.metric === "net_tx_errors_per_second") n.txErrors = s.value;
      if (s.metric === "net_rx_dropped_per_second") n.rxDropped = s.value;
      if (s.metric === "net_tx_dropped_per_second") n.txDropped = s.value;
    }
  }
  return {
    processes: sortProcesses([...processes.values()], "cpu", true),
    cores: [...cores.values()].sort((a, b) => a.core - b.core),
    disks: [...disks.values()].sort((a, b) => a.mount.localeCompare(b.mount)),
    io: [...io.values()].sort((a, b) => a.device.localeCompare(b.device)),
    interfaces: [...interfaces.values()].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** The table sorted by `key`; missing values last either way. */
export function sortProcesses(list: ProcessRow[], key: ProcessKey, descending: boolean): ProcessRow[] {
  const sign = descending ? -1 : 1;
  return [...list].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === undefined || y === undefined) return x === y ? a.pid - b.pid : x === undefined ? 1 : -1;
    const order = typeof x === "string" ? x.localeCompare(y as string) : (x as number) - (y as number);
    return order === 0 ? a.pid - b.pid : sign * order;
  });
}
