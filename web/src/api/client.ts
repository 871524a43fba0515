// The typed API client: paths and bodies come from the server's OpenAPI
// document (`schema.d.ts`, generated; `cargo xtask test` fails when it drifts).

import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type BrowserSession = Schemas["BrowserSession"];
export type Problem = { title?: string; detail?: string; status?: number };

let csrfToken = "";
let onSessionEnded: () => void = () => {};

/** Remembers the session's anti-forgery token, sent with every change. */
export function useSession(session: BrowserSession | null, ended: () => void) {
  csrfToken = session?.csrf_token ?? "";
  onSessionEnded = ended;
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD" && csrfToken) {
      request.headers.set("X-CSRF-Token", csrfToken);
    }
    return request;
  },
  onResponse({ response, request }) {
    // An expired session lands on the login page (but a failed login is the
    // login page's own business).
    if (response.status === 401 && !request.url.endsWith("/api/v1/auth/session")) onSessionEnded();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(session);

/** The sentence to show for a failed call. */
export function problemText(error: unknown, fallback = "the server refused the request"): string {
  const p = error as Problem | undefined;
  return p?.detail ?? p?.title ?? fallback;
}
