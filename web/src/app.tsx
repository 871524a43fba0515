// The shell: the session, the live stream, the navigation bar and the page
// that the path names.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type BrowserSession, useSession } from "./api/client";
import { LiveStream } from "./api/live";
import { match, navigate, onLink, useLocation } from "./router";
import { Login } from "./pages/login";
import { Overview } from "./pages/overview";
import { AgentPage } from "./pages/agent";
import { CheckPage } from "./pages/check";
import { MeshIndex, MeshPage } from "./pages/mesh";
import { PluginPage, PluginsPage } from "./pages/plugins";
import { AdminPage } from "./pages/admin";
import { AuditPage } from "./pages/audit";
import { ServerPage } from "./pages/server";
import { ReportsPage } from "./pages/reports";
import { UpdatesPage } from "./pages/updates";
import { AccountPage } from "./pages/account";
import { AlertsPage } from "./pages/alerts";
import { AlertRulesPage } from "./pages/alert-rules";
import { EventsPage } from "./pages/events";
import { AlertBell } from "./components/alerts";
import { ThemeToggle } from "./components/theme";

type SessionState = { state: "loading" } | { state: "out" } | { state: "in"; session: BrowserSession };

export function App() {
  const [session, setSession] = useState<SessionState>({ state: "loading" });
  const ended = () => setSession({ state: "out" });
  const live = useMemo(() => new LiveStream(ended), []);

  useEffect(() => {
    api.GET("/api/v1/auth/session").then(({ data }) => setSession(data ? { state: "in", session: data } : { state: "out" }));
  }, []);

  useEffect(() => {
    useSession(session.state === "in" ? session.session : null, ended);
    if (session.state !== "in") return;
    live.start();
    return () => live.stop();
  }, [session]);

  if (session.state === "loading") return <progress class="progress is-small" aria-label="Loading" />;
  if (session.state === "out") return <Login onIn={(s) => setSession({ state: "in", session: s })} />;
  return (
    <div onClick={onLink}>
      <NavBar session={session.session} live={live} onOut={ended} />
      <main class="section vantage-main">
        <Page session={session.session} live={live} onOut={ended} />
      </main>
    </div>
  );
}

function Page({ session, live, onOut }: { session: BrowserSession; live: LiveStream; onOut: () => void }) {
  const { path } = useLocation();
  let params: Record<string, string> | null;
  if (path === "/") return <Overview session={session} live={live} />;
  if ((params = match("/agents/:id", path))) return <AgentPage id={params.id!} session={session} live={live} />;
  if ((params = match("/checks/:id", path))) return <CheckPage id={Number(params.id)} session={session} live={live} />;
  if (path === "/mesh") return <MeshIndex />;
  if ((params = match("/mesh/:name", path))) return <MeshPage name={params.name!} live={live} />;
  if (path === "/plugins") return <PluginsPage session={session} />;
  if ((params = match("/plugins/:name", path))) return <PluginPage name={params.name!} session={session} />;
  if (path === "/admin") return <AdminPage session={session} />;
  if (path === "/audit") return <AuditPage session={session} />;
  if (path === "/updates") return <UpdatesPage session={session} />;
  if (path === "/account") return <AccountPage session={session} onOut={onOut} />;
  if (path === "/alerts") return <AlertsPage session={session} live={live} />;
  if (path === "/alerts/rules") return <AlertRulesPage session={session} />;
  if (path === "/events") return <EventsPage />;
  if (path === "/reports") return <ReportsPage />;
  if (path === "/server") return <ServerPage />;
  return (
    <div class="notification is-warning">
      There is no page at <span class="mono">{path}</span>. <a href="/">Back to the overview</a>.
    </div>
  );
}

function NavBar({ session, live, onOut }: { session: BrowserSession; live: LiveStream; onOut: () => void }) {
  const [state, setState] = useState(live.state);
  const [open, setOpen] = useState(false);
  useEffect(() => live.onState(setState), [live]);
  const logout = async () => {
    await api.DELETE("/api/v1/auth/session");
    onOut();
    navigate("/", true);
  };
  const dot = state === "open" ? "is-live" : state === "connecting" ? "is-connecting" : "is-closed";
  return (
    <nav class="navbar is-dark" aria-label="Main navigation">
      <div class="navbar-brand">
        <a class="navbar-item has-text-weight-bold" href="/">
          Vantage
        </a>
        <button
          type="button"
          class={`navbar-burger ${open ? "is-active" : ""}`}
          aria-label="Menu"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          <span aria-hidden="true" />
          <span aria-hidden="true" />
          <span aria-hidden="true" />
          <span aria-hidden="true" />
        </button>
      </div>
      <div class={`navbar-menu ${open ? "is-active" : ""}`}>
        <div class="navbar-start">
          <a class="navbar-item" href="/">
            Overview
          </a>
          <a class="navbar-item" href="/mesh">
            Mesh
          </a>
          <a class="navbar-item" href="/plugins">
            Plugins
          </a>
          <a class="navbar-item" href="/alerts">
            Alerts
          </a>
          <a class="navbar-item" href="/events">
            Events
          </a>
          <a class="navbar-item" href="/reports">
            Reports
          </a>
          <a class="navbar-item" href="/updates">
            Updates
          </a>
          <a class="navbar-item" href="/server">
            Server
          </a>
          {session.role === "admin" && (
            <a class="navbar-item" href="/admin">
              Enrollment &amp; users
            </a>
          )}
          {session.role === "admin" && (
            <a class="navbar-item" href="/audit">
              Audit
            </a>
          )}
        </div>
        <div class="navbar-end">
          <AlertBell live={live} />
          <span class="navbar-item" data-testid="live-state" data-state={state} title={`Live updates: ${state}`}>
            <span class={`status-dot ${dot}`} aria-hidden="true" />
            {state === "open" ? "Live" : state === "connecting" ? "Connecting…" : "Offline"}
          </span>
          <div class="navbar-item">
            <ThemeToggle />
          </div>
          <a class="navbar-item" href="/account" title="Your account">
            {session.username} <span class="tag is-info ml-2">{session.role}</span>
          </a>
          <div class="navbar-item">
            <button type="button" class="button is-small" onClick={logout}>
              Log out
            </button>
          </div>
        </div>
      </div>
    </nav>
  );
}
