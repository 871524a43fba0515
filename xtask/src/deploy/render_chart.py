# Renders a Helm chart with Helm v4's own Go SDK (helm-python-sdk: the SDK as
# a C library, no `helm` binary), checking the values against
# values.schema.json. argv: chart, namespace, output file, [values file].
import sys

import helm_python as helm
import yaml

chart, namespace, out = sys.argv[1], sys.argv[2], sys.argv[3]
values = yaml.safe_load(open(sys.argv[4])) if len(sys.argv) > 4 else {}
with helm.Chart.load(chart) as loaded:
    rendered = loaded.render(values, name="vantage", namespace=namespace)
docs = []
for path, text in sorted(rendered.items()):
    if path.endswith((".tpl", "NOTES.txt")) or not text.strip():
        continue
    docs.append(f"---\n# Source: {path}\n{text.strip()}\n")
if not docs:
    sys.exit(f"{chart} rendered nothing")
with open(out, "w") as f:
    f.write("".join(docs))
