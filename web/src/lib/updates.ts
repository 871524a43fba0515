// What the updates page derives from the API's answers.

/** Agents by the version they report, most common first, then by version. */
export function versionCounts(versions: string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const v of versions) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
