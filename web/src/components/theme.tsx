// Light, dark, or as the system prefers: Bulma follows `data-theme` on <html>.

import { useEffect, useState } from "preact/hooks";

type Theme = "system" | "light" | "dark";
const KEY = "vantage-theme";

function apply(theme: Theme) {
  if (theme === "system") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", theme);
}

apply((localStorage.getItem(KEY) as Theme | null) ?? "system");

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>((localStorage.getItem(KEY) as Theme | null) ?? "system");
  useEffect(() => {
    apply(theme);
    localStorage.setItem(KEY, theme);
  }, [theme]);
  return (
    <div class="select is-small">
      <select aria-label="Theme" value={theme} onChange={(e) => setTheme(e.currentTarget.value as Theme)}>
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </div>
  );
}
