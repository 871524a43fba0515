// The plugin manager's logic: who signed a version and whether that key is
// still trusted, and the check specs that install, approve, pin or upgrade.

export interface KeyLike {
  key_id: string;
  name: string;
  root: boolean;
  revoked_at?: string | null;
}

export type SignerStatus = { tone: "ok" | "revoked" | "unknown"; label: string };

export function signerStatus(signer: string, keys: KeyLike[]): SignerStatus {
  const key = keys.find((k) => k.key_id === signer);
  if (!key) return { tone: "unknown", label: `unknown key ${signer}` };
  if (key.revoked_at) return { tone: "revoked", label: `${key.name} (revoked)` };
  return { tone: "ok", label: `${key.name}${key.root ? " (root)" : " (endorsed)"}` };
}

export interface SpecLike {
  name: string;
  plugin: string;
  version: string;
  grants: string[];
  [field: string]: unknown;
}

/** Approving a held-back upgrade: grant what it newly requests. */
export function approve(spec: SpecLike, newCapabilities: string[]): SpecLike {
  return { ...spec, grants: [...new Set([...spec.grants, ...newCapabilities])].sort() };
}

/** Pinning: exactly this version, nothing newer. */
export function pin(spec: SpecLike, version: string): SpecLike {
  return { ...spec, version: `=${version}` };
}

/** Following upgrades: every compatible version from this one on. */
export function follow(spec: SpecLike, version: string): SpecLike {
  return { ...spec, version: `^${version}` };
}

/** The lines of a textarea as a list: trimmed, blank ones dropped. */
export function lines(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean);
}
