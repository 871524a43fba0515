// The component's entry module: wires the WIT imports to the probe logic in
// connect.js and exports the `vantage:plugin/probe` interface.
//
// WIT interfaces are imported by their full name; their functions are
// camelCase (`connect-many` is `connectMany`), records are objects with
// camelCase keys, enums are strings, `option` is a value or null, and a
// `result` error is thrown as an Error whose `payload` is the `net-error`
// variant ({ tag, val }). There is no `console`: write to the agent's log
// with the `log` interface (`log.write("info", "…")`).
import * as tcp from "vantage:plugin/tcp@0.1.3";

import { outcome, runProbe } from "./connect.js";

function run(context) {
  try {
    return runProbe(context, { tcp });
  } catch (e) {
    // An exception escaping an export traps the run; report it instead.
    return outcome("error", `plugin failure: ${e && e.stack ? e.stack : e}`);
  }
}

export const probe = { run };
