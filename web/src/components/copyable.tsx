// A read-only field with a button that copies its text.

import { useState } from "preact/hooks";

export function Copyable({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="field has-addons">
      <div class="control is-expanded">
        <input class="input mono" readOnly value={text} aria-label={label} onFocus={(e) => e.currentTarget.select()} />
      </div>
      <div class="control">
        <button
          type="button"
          class="button"
          onClick={async () => {
            await navigator.clipboard?.writeText(text).catch(() => undefined);
            setCopied(true);
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
    </div>
  );
}
