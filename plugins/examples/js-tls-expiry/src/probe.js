// The component's entry module: wires the WIT imports to the probe logic in
// tls-expiry.js and exports the `vantage:plugin/probe` interface.
//
// WIT interfaces are imported by their full name; their functions are
// camelCase (`wall-ms` is `wallMs`), records are objects with camelCase keys,
// enums are strings, `option` is a value or null, and a `result` error is
// thrown as an Error whose `payload` is the `net-error` variant ({ tag, val }).
import * as clock from "vantage:plugin/clock@0.1.3";
import * as http from "vantage:plugin/http@0.1.3";

import { outcome, runProbe } from "./tls-expiry.js";

function run(context) {
  try {
    return runProbe(context, { clock, http });
  } catch (e) {
    // An exception escaping an export would trap the run; report it instead.
    return outcome("error", `plugin failure: ${e && e.stack ? e.stack : e}`);
  }
}

export const probe = { run };
