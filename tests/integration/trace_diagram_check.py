#!/usr/bin/env python3
"""Opens a --diagram page in headless Chromium and reports what it drew:
trace_diagram_check.py PAGE.html CHROMIUM -> one JSON object on stdout.

A copy of the page gets a small script appended that, once Chromium has
laid the page out, counts the ladder's lifelines and segment arrows (with
their rendered length, so an arrow that is not drawn does not count), the
fold markers and the plots, and writes them into the DOM; --dump-dom gives
the DOM back."""
import json
import os
import re
import subprocess
import sys
import tempfile

PROBE = """<script>
(function () {
  const q = s => Array.from(document.querySelectorAll(s));
  const r = {
    ladders: q('svg.ladder').length,
    lifelines: q('svg.ladder line.lifeline').map(l => l.getAttribute('data-side')),
    lifeline_px: q('svg.ladder line.lifeline').map(l => Math.round(l.getBBox().height)),
    segs: q('svg.ladder g.seg').length,
    drawn: q('svg.ladder g.seg line').filter(l => l.getBBox().width > 100).length,
    labels: q('svg.ladder g.seg text.lbl').map(t => t.textContent),
    folds: q('svg.ladder g.fold').map(g => +g.getAttribute('data-segments')),
    states: q('svg.ladder g.state text').map(t => t.textContent),
    plots: q('svg.plot').map(s => s.getAttribute('data-title')),
    plot_px: q('svg.plot').map(s => Math.round(s.getBoundingClientRect().width)),
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
})();
</script>"""


def main():
    page, chromium = sys.argv[1], sys.argv[2]
    html = open(page, encoding="utf-8").read()
    with tempfile.TemporaryDirectory() as d:
        copy = os.path.join(d, "probe.html")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(html.replace("</body>", PROBE + "</body>"))
        out = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--user-data-dir=" + os.path.join(d, "prof"),
             "--dump-dom", "file://" + copy],
            capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'<pre id="probe">(.*?)</pre>', out, re.S)
    if not m:
        print(json.dumps({"error": "no probe output", "dom": out[:500]}))
        return 1
    text = m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    print(json.dumps(json.loads(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
