// What an agent made of its desired state: each check running, refused
// (a signature, a revocation, a downgrade) or failed, and how current its
// registry statement is.

import type { Schemas } from "../api/client";

type ConfigStatus = Schemas["ConfigStatus"];

export function ConfigStatusPanel({ status }: { status: ConfigStatus | null | undefined }) {
  if (!status) return null;
  const trust = status.trust;
  const notRunning = status.checks.filter((c) => c.state !== "running");
  return (
    <section class="box" aria-labelledby="config-title" data-testid="config-status">
      <h2 id="config-title" class="title is-6">
        Configuration{" "}
        <span class="has-text-weight-normal">
          applied {new Date(status.applied_at).toLocaleString()}
          {status.source === "last-known-good" && " (last-known-good: the server was unreachable)"}
        </span>
      </h2>
      <p data-testid="trust-metadata">
        {trust ? (
          <>
            Registry statement {trust.sequence}, until {new Date(trust.expires_at).toLocaleString()}{" "}
            {trust.stale ? (
              <span class="tag is-danger" title="It expired and no newer one came: the server may be withholding updates">
                trust metadata stale
              </span>
            ) : (
              <span class="tag is-success is-light">current</span>
            )}
          </>
        ) : (
          "No registry statement yet."
        )}
      </p>
      {notRunning.length > 0 && (
        <table class="table is-narrow is-fullwidth mt-3" aria-label="Checks not running as asked">
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Plugin</th>
              <th scope="col">State</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {notRunning.map((c) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td class="mono">{c.plugin}</td>
                <td>
                  <span class="tag is-warning">{c.state}</span>
                </td>
                <td>{c.problem}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
