import { describe, expect, it } from "vitest";
import { versionCounts } from "./updates";

describe("versionCounts", () => {
  it("counts agents per version, most common first, ties by version", () => {
    expect(versionCounts(["1.1.0", "1.0.0", "1.1.0", "0.9.0", "1.0.0", "1.1.0"])).toEqual([
      ["1.1.0", 3],
      ["1.0.0", 2],
      ["0.9.0", 1],
    ]);
    expect(versionCounts([])).toEqual([]);
  });
});
