import { describe, expect, it } from "vitest";
import { approve, follow, lines, pin, signerStatus } from "./plugins";

const keys = [
  { key_id: "aaaa", name: "dev", root: true },
  { key_id: "bbbb", name: "team", root: false },
  { key_id: "cccc", name: "old", root: false, revoked_at: "2026-12-01T00:00:00Z" },
];

describe("signerStatus", () => {
  it("names the key and whether it is still trusted", () => {
    expect(signerStatus("aaaa", keys)).toEqual({ tone: "ok", label: "dev (root)" });
    expect(signerStatus("bbbb", keys)).toEqual({ tone: "ok", label: "team (endorsed)" });
    expect(signerStatus("cccc", keys)).toEqual({ tone: "revoked", label: "old (revoked)" });
    expect(signerStatus("dddd", keys).tone).toBe("unknown");
  });
});

describe("spec changes", () => {
  const spec = { name: "web", plugin: "http", version: "^0.1", grants: ["http"], interval: "30s" };
  it("approves by granting what the upgrade newly requests, keeping the rest", () => {
    expect(approve(spec, ["dns", "http"])).toEqual({ ...spec, grants: ["dns", "http"] });
  });
  it("pins and follows versions", () => {
    expect(pin(spec, "0.1.2").version).toBe("=0.1.2");
    expect(follow(spec, "0.2.0").version).toBe("^0.2.0");
    expect(spec.version).toBe("^0.1");
  });
});

describe("lines", () => {
  it("splits on new lines and commas, dropping blanks", () => {
    expect(lines(" a\n\nb , c\n")).toEqual(["a", "b", "c"]);
    expect(lines("")).toEqual([]);
  });
});
