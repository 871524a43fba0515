// The plugin manager: the registry's plugins and versions, who signed each
// and whether that key is still trusted, what each requests; the checks that
// run a plugin, with held-back upgrades to approve, pin and follow; and a
// form that installs a plugin onto a group of agents. Viewers see it all and
// change nothing.

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";
import { ago } from "../lib/format";
import { approve, follow, lines, pin, signerStatus, type SpecLike } from "../lib/plugins";
import { useNow } from "../components/now";

type Summary = Schemas["PluginSummary"];
type Version = Schemas["PluginVersion"];
type Key = Schemas["PublisherKey"];
type CheckView = Schemas["CheckView"];
type CheckSpec = Schemas["CheckSpec"];

const CAPABILITIES = ["icmp", "tcp", "udp", "dns", "http", "system", "logs"];

export function PluginsPage({ session }: { session: BrowserSession }) {
  const [plugins, setPlugins] = useState<Summary[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api.GET("/api/v1/registry/plugins").then(({ data, error }) => {
      if (data) setPlugins(data);
      else setError(problemText(error));
    });
  }, []);
  if (error) return <div class="notification is-danger" role="alert">Could not read the registry: {error}.</div>;
  if (!plugins) return <progress class="progress is-small" aria-label="Loading" />;
  return (
    <div class="container is-fluid">
      <h1 class="title">Plugins</h1>
      <p class="mb-4">
        Signed packages in this server's registry. Publish with <span class="mono">vantage plugin publish</span>.
        {session.role === "viewer" && " Your role can look but not change anything."}
      </p>
      <div class="table-container">
        <table class="table is-fullwidth is-hoverable" aria-label="Registry plugins">
          <thead>
            <tr>
              <th scope="col">Plugin</th>
              <th scope="col">Latest</th>
              <th scope="col">Versions</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {plugins.map((p) => (
              <tr key={p.name} data-testid={`plugin-${p.name}`}>
                <td>
                  <a href={`/plugins/${encodeURIComponent(p.name)}`}>{p.name}</a>
                </td>
                <td class="mono">{p.latest ?? "all yanked"}</td>
                <td>{p.versions.length}</td>
                <td>{p.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function PluginPage({ name, session }: { name: string; session: BrowserSession }) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [keys, setKeys] = useState<Key[]>([]);
  const [checks, setChecks] = useState<CheckView[]>([]);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const now = useNow(10_000);
  const canChange = session.role !== "viewer";

  const load = async () => {
    const [v, k, c] = await Promise.all([
      api.GET("/api/v1/registry/plugins/{name}", { params: { path: { name } } }),
      api.GET("/api/v1/registry/keys"),
      api.GET("/api/v1/checks"),
    ]);
    if (!v.data) {
      setError(problemText(v.error));
      return;
    }
    setVersions([...v.data].reverse());
    setKeys(k.data ?? []);
    setChecks((c.data ?? []).filter((x) => x.spec.plugin === name));
  };
  useEffect(() => {
    load();
  }, [name]);

  const save = async (spec: CheckSpec, done: string) => {
    const { error } = await api.PUT("/api/v1/checks/{name}", { params: { path: { name: spec.name } }, body: spec });
    if (error) setNotice(`Not saved: ${problemText(error)}.`);
    else {
      setNotice(done);
      await load();
    }
  };
  const yank = async (version: string, undo: boolean) => {
    const path = { params: { path: { name, version } } };
    const { error } = undo
      ? await api.DELETE("/api/v1/registry/plugins/{name}/{version}/yank", path)
      : await api.POST("/api/v1/registry/plugins/{name}/{version}/yank", path);
    setNotice(error ? `Not changed: ${problemText(error)}.` : `${name} ${version} ${undo ? "restored" : "yanked"}.`);
    await load();
  };

  if (error) return <div class="notification is-danger" role="alert">Could not read {name}: {error}.</div>;
  if (!versions) return <progress class="progress is-small" aria-label="Loading" />;
  const latest = versions.find((v) => !v.yanked_at);
  return (
    <div class="container is-fluid">
      <nav class="breadcrumb" aria-label="Breadcrumbs">
        <ul>
          <li>
            <a href="/plugins">Plugins</a>
          </li>
          <li class="is-active">
            <a aria-current="page">{name}</a>
          </li>
        </ul>
      </nav>
      <h1 class="title">{name}</h1>
      {latest && <p class="subtitle is-6">{latest.description}</p>}
      {notice && (
        <div class="notification is-info is-light" role="status" data-testid="notice">
          {notice}
        </div>
      )}

      <h2 class="title is-5">Versions</h2>
      <div class="table-container">
        <table class="table is-fullwidth" aria-label={`Versions of ${name}`}>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Signed by</th>
              <th scope="col">Requests</th>
              <th scope="col">Published</th>
              <th scope="col">Size</th>
              {canChange && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => {
              const signer = signerStatus(v.signer, keys);
              return (
                <tr key={v.version} data-testid={`version-${v.version}`}>
                  <td class="mono">
                    {v.version} {v.yanked_at && <span class="tag is-warning">yanked</span>}
                  </td>
                  <td>
                    <span class={`tag ${signer.tone === "ok" ? "is-success" : "is-danger"}`} title={`key ${v.signer}`}>
                      {signer.label}
                    </span>
                  </td>
                  <td>
                    {v.capabilities.map((c) => (
                      <span key={c} class="tag is-info is-light mr-1">
                        {c}
                      </span>
                    ))}
                  </td>
                  <td>{ago(v.published_at, now)}</td>
                  <td>{(v.size / 1024).toFixed(0)} KiB</td>
                  {canChange && (
                    <td>
                      <button type="button" class="button is-small" onClick={() => yank(v.version, Boolean(v.yanked_at))}>
                        {v.yanked_at ? "Restore" : "Yank"}
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2 class="title is-5">Checks running it</h2>
      {checks.length === 0 ? (
        <p class="mb-4 has-text-grey">No check runs {name} yet.</p>
      ) : (
        <div class="table-container">
          <table class="table is-fullwidth" aria-label={`Checks running ${name}`}>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Requirement</th>
                <th scope="col">Agents run</th>
                <th scope="col">Agents</th>
                <th scope="col">Grants</th>
                {canChange && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {checks.map((c) => {
                const spec = c.spec as unknown as SpecLike;
                const resolved = c.resolved?.version;
                return (
                  <tr key={c.spec.name} data-testid={`check-${c.spec.name}`}>
                    <td>{c.spec.name}</td>
                    <td class="mono">{c.spec.version}</td>
                    <td class="mono">
                      {resolved ?? <span class="has-text-danger">{c.unresolved ?? "nothing"}</span>}
                      {c.pending_upgrade && (
                        <p class="has-text-warning-dark is-size-7">
                          {c.pending_upgrade.version} waits for approval of {c.pending_upgrade.new_capabilities.join(", ")}
                        </p>
                      )}
                    </td>
                    <td>{selectorText(c.spec)}</td>
                    <td>{c.spec.grants.join(", ") || "none"}</td>
                    {canChange && (
                      <td class="buttons">
                        {c.pending_upgrade && (
                          <button
                            type="button"
                            class="button is-small is-warning"
                            onClick={() =>
                              save(
                                approve(spec, c.pending_upgrade!.new_capabilities) as unknown as CheckSpec,
                                `Approved ${c.pending_upgrade!.new_capabilities.join(", ")} for ${c.spec.name}.`,
                              )
                            }
                          >
                            Approve {c.pending_upgrade.version}
                          </button>
                        )}
                        {resolved && !(c.spec.version ?? "*").startsWith("=") && (
                          <button
                            type="button"
                            class="button is-small"
                            onClick={() => save(pin(spec, resolved) as unknown as CheckSpec, `${c.spec.name} pinned to ${resolved}.`)}
                          >
                            Pin {resolved}
                          </button>
                        )}
                        {latest && c.spec.version !== `^${latest.version}` && (
                          <button
                            type="button"
                            class="button is-small"
                            onClick={() =>
                              save(follow(spec, latest.version) as unknown as CheckSpec, `${c.spec.name} follows ^${latest.version}.`)
                            }
                          >
                            Upgrade to ^{latest.version}
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {canChange && latest && <InstallForm plugin={latest} onSave={save} />}
    </div>
  );
}

function selectorText(spec: CheckSpec): string {
  if (spec.mesh) return `mesh of ${spec.mesh.group}`;
  const groups = spec.agents?.groups ?? [];
  const labels = Object.entries(spec.agents?.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  const parts = [...(groups.length ? [`groups ${groups.join(", ")}`] : []), ...labels];
  return parts.join("; ") || "every agent";
}

function InstallForm({ plugin, onSave }: { plugin: Version; onSave: (spec: CheckSpec, done: string) => Promise<void> }) {
  const [check, setCheck] = useState(plugin.name);
  const [version, setVersion] = useState(`^${plugin.version}`);
  const [targets, setTargets] = useState("");
  const [interval, setInterval] = useState("30s");
  const [group, setGroup] = useState("");
  const [grants, setGrants] = useState<string[]>(plugin.capabilities);
  const [config, setConfig] = useState("{}");
  const [problem, setProblem] = useState("");

  const submit = async (e: Event) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(config || "{}");
    } catch {
      setProblem("the configuration is not JSON");
      return;
    }
    setProblem("");
    const spec = {
      name: check,
      plugin: plugin.name,
      version,
      targets: lines(targets),
      interval,
      config: parsed,
      grants,
      agents: { groups: lines(group) },
    } as unknown as CheckSpec;
    await onSave(spec, `${check} installed: agents of ${group || "every group"} run it within seconds.`);
  };
  const toggle = (c: string) => setGrants(grants.includes(c) ? grants.filter((g) => g !== c) : [...grants, c].sort());

  return (
    <form class="box" onSubmit={submit} aria-labelledby="install-title">
      <h2 id="install-title" class="title is-5">
        Install {plugin.name} on a group
      </h2>
      <div class="columns is-multiline">
        <Field id="check-name" label="Check name" value={check} onInput={setCheck} required />
        <Field id="check-version" label="Version requirement" value={version} onInput={setVersion} required />
        <Field id="check-interval" label="Interval" value={interval} onInput={setInterval} required />
        <Field id="check-group" label="Agent group (empty: every agent)" value={group} onInput={setGroup} />
        <div class="column is-half">
          <label class="label" for="check-targets">
            Targets (one per line)
          </label>
          <textarea
            id="check-targets"
            class="textarea"
            rows={3}
            value={targets}
            onInput={(e) => setTargets(e.currentTarget.value)}
          />
        </div>
        <div class="column is-half">
          <label class="label" for="check-config">
            Configuration (JSON, checked against the plugin's schema)
          </label>
          <textarea id="check-config" class="textarea mono" rows={3} value={config} onInput={(e) => setConfig(e.currentTarget.value)} />
        </div>
        <fieldset class="column is-full">
          <legend class="label">Grant the capabilities it requests</legend>
          {CAPABILITIES.filter((c) => plugin.capabilities.includes(c)).map((c) => (
            <label key={c} class="checkbox mr-4">
              <input type="checkbox" checked={grants.includes(c)} onChange={() => toggle(c)} /> {c}
            </label>
          ))}
          {plugin.capabilities.length === 0 && <p class="has-text-grey">It requests none.</p>}
        </fieldset>
      </div>
      {problem && (
        <p class="notification is-danger is-light" role="alert">
          Not saved: {problem}.
        </p>
      )}
      <button type="submit" class="button is-primary">
        Install
      </button>
    </form>
  );
}

function Field(props: { id: string; label: string; value: string; onInput: (v: string) => void; required?: boolean }) {
  return (
    <div class="column is-half">
      <label class="label" for={props.id}>
        {props.label}
      </label>
      <input
        id={props.id}
        class="input"
        value={props.value}
        required={props.required}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </div>
  );
}
