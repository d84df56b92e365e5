#!/usr/bin/env python3
"""Turns bench/run.sh's raw samples into the table, bench.json and bench.svg.

    report.py RESULTS_DIR     (reads results.jsonl and meta.json there)

Per scenario and stack: the median over repetitions and the spread
(min..max). The ratio is ustack/Linux of the medians. The chart's bars show
ustack relative to Linux with "better" always to the right: ustack/Linux for
rates, Linux/ustack for costs (latency, cycles, seconds). The SVG is written
by hand here: no plotting library needed."""
import json
import os
import statistics
import sys
from xml.sax.saxutils import escape

# scenario -> (label, higher_is_better, target)
# target: ("ratio", x) = ustack/Linux >= x; ("max", x) = ustack value <= x;
# ("hooks", base) = the ustack median is within the spread of base's samples
# or above (no cost measurable at this many repetitions); ("traced", base):
# the ratio to base, for information.
ROWS = [
    ("bulk_tx_1", "bulk send, 1 stream (iperf3)", True, ("ratio", 0.25)),
    ("bulk_rx_1", "bulk receive, 1 stream (iperf3)", True, ("ratio", 0.25)),
    ("bulk_tx_4", "bulk send, 4 streams", True, None),
    ("bulk_rx_4", "bulk receive, 4 streams", True, None),
    ("download", "curl download from nginx", True, None),
    ("rr", "1-byte ping-pong", True, ("ratio", 0.5)),
    ("rr_p99", "  ping-pong p99", False, None),
    ("wrk", "wrk -> nginx on the stack", True, ("ratio", 0.5)),
    ("wrk_p50", "  wrk p50", False, None),
    ("wrk_p99", "  wrk p99", False, None),
    ("conn_client", "short conns/s, stack = client", True, ("ratio", 0.5)),
    ("conn_server", "short conns/s, stack = server", True, ("ratio", 0.5)),
    ("idle_mem", "idle conn memory (host RSS / n)", False, ("max", 16384)),
    ("idle_open", "time to open the idle conns", False, None),
    ("cpu_tx", "CPU per byte sent (1 stream)", False, None),
    ("cpu_rx", "CPU per byte received", False, None),
    ("trace_bulk_out", "bulk send, event hooks compiled out", True, None),
    ("trace_bulk_off", "bulk send, hooks in, tracing off", True, ("hooks", "trace_bulk_out")),
    ("trace_bulk_on", "bulk send, --trace to a file", True, ("traced", "trace_bulk_out")),
    ("trace_rr_out", "ping-pong, event hooks compiled out", True, None),
    ("trace_rr_off", "ping-pong, hooks in, tracing off", True, ("hooks", "trace_rr_out")),
]


def load(d):
    samples = {}
    with open(os.path.join(d, "results.jsonl")) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            key = (r["scenario"], r["stack"])
            s = samples.setdefault(key, {"values": [], "unit": r["unit"], "notes": []})
            if r["value"] is not None:
                s["values"].append(float(r["value"]))
            if r.get("note"):
                s["notes"].append(r["note"])
    meta = {}
    mp = os.path.join(d, "meta.json")
    if os.path.exists(mp):
        with open(mp) as f:
            meta = json.load(f)
    return samples, meta


def summary(s):
    if not s or not s["values"]:
        return None
    v = sorted(s["values"])
    return {"median": statistics.median(v), "min": v[0], "max": v[-1], "n": len(v),
            "samples": s["values"], "unit": s["unit"], "notes": sorted(set(s["notes"]))}


def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def cell(sm):
    if not sm:
        return "FAILED"
    if sm["n"] == 1:
        return fmt(sm["median"])
    return f"{fmt(sm['median'])} [{fmt(sm['min'])}-{fmt(sm['max'])}]"


def build(samples, meta):
    rows = []
    for key, label, higher, target in ROWS:
        lin = summary(samples.get((key, "linux")))
        ust = summary(samples.get((key, "ustack")))
        if not lin and not ust:
            continue
        ratio = None
        if lin and ust and lin["median"] > 0:
            ratio = ust["median"] / lin["median"]
        tgt_text, met = "", None
        if target:
            kind, x = target
            if kind == "ratio":
                tgt_text = f">= {x:g} x Linux"
                met = ratio is not None and ratio >= x
            elif kind == "max":
                tgt_text = f"< {x / 1024:g} KiB"
                met = ust is not None and ust["median"] < x
            elif kind in ("hooks", "traced"):
                base = summary(samples.get((x, "ustack")))
                if ust and base and base["median"] > 0:
                    r = ust["median"] / base["median"]
                    if kind == "hooks":
                        tgt_text = f"/ compiled out = {r:.2f}"
                        met = ust["median"] >= base["min"]
                    else:
                        tgt_text = f"/ compiled out = {r:.2f} (info)"
        rows.append({"scenario": key, "label": label, "unit": (ust or lin)["unit"],
                     "higher_is_better": higher, "linux": lin, "ustack": ust, "ratio": ratio,
                     "target": tgt_text, "met": met})
    return {"meta": meta, "rows": rows}


def table(rep):
    m = rep["meta"]
    out = []
    out.append(f"ustack vs Linux on the same veth - commit {m.get('commit', '?')}, {m.get('date', '?')}, "
               f"kernel {m.get('kernel', '?')}, MTU {m.get('mtu', '?')}, {m.get('cpus', '?')} CPUs")
    out.append(f"offloads (uc0): {m.get('offloads', '?')}")
    out.append(f"{m.get('reps', '?')} repetitions x {m.get('secs', '?')} s; median [min-max]; "
               f"CPU per byte: {m.get('cpu_how', '?')}; "
               f"load {m.get('loadavg_start', '?')} -> {m.get('loadavg_end', '?')}")
    hdr = ("scenario", "unit", "Linux", "ustack", "ustack/Linux", "target", "met")
    lines = []
    for r in rep["rows"]:
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        lin_cell = "-" if r["scenario"].startswith("trace_") else cell(r["linux"])
        lines.append((r["label"], r["unit"], lin_cell, cell(r["ustack"]),
                      "-" if r["ratio"] is None else f"{r['ratio']:.2f}", r["target"], met))
    w = [max(len(hdr[i]), *(len(l[i]) for l in lines)) if lines else len(hdr[i]) for i in range(len(hdr))]
    sep = "  "
    out.append(sep.join(h.ljust(w[i]) for i, h in enumerate(hdr)))
    out.append(sep.join("-" * w[i] for i in range(len(hdr))))
    for l in lines:
        out.append(sep.join((l[i].rjust(w[i]) if 2 <= i <= 4 else l[i].ljust(w[i])) for i in range(len(hdr))))
    notes = []
    for r in rep["rows"]:
        for st in ("linux", "ustack"):
            sm = r[st]
            for n in (sm or {}).get("notes", []):
                if n and not n.startswith("n=") and n != "errors 0" and "MB" not in n and n not in ("perf", "proc_stat", "rusage"):
                    notes.append(f"  {r['scenario']} {st}: {n}")
    if notes:
        out.append("notes:")
        out.extend(notes)
    return "\n".join(out)


def svg(rep):
    """Horizontal bars: ustack relative to Linux (better to the right)."""
    rows = [r for r in rep["rows"] if r["ratio"] is not None and not r["label"].startswith("  ")]
    W, left, right, top, bar, gap = 980, 250, 250, 70, 18, 10
    H = top + len(rows) * (bar + gap) + 60
    scale_max = 1.5
    span = W - left - right

    def x(v):
        return left + span * min(v, scale_max) / scale_max

    m = rep["meta"]
    subtitle = (f"commit {m.get('commit', '?')}, {m.get('date', '?')}, MTU {m.get('mtu', '?')}; "
                "bars: ustack/Linux for rates, Linux/ustack for costs; 1.0 = as fast as Linux")
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
         f'ustack relative to the Linux stack, same veth, same run</text>',
         f'<text x="{W / 2}" y="40" text-anchor="middle" fill="#555">'
         f'{escape(subtitle)}</text>']
    for t in (0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5):
        xx = x(t)
        s.append(f'<line x1="{xx:.1f}" y1="{top - 8}" x2="{xx:.1f}" y2="{H - 45}" '
                 f'stroke="{"#333" if t == 1.0 else "#ddd"}" stroke-width="{1.5 if t == 1.0 else 1}"/>')
        s.append(f'<text x="{xx:.1f}" y="{H - 30}" text-anchor="middle" fill="#555">{t:g}</text>')
    for i, r in enumerate(rows):
        y = top + i * (bar + gap)
        rel = r["ratio"] if r["higher_is_better"] else (1 / r["ratio"] if r["ratio"] > 0 else 0)
        color = "#2b7bba" if r["met"] in (None, True) else "#d9534f"
        s.append(f'<text x="{left - 8}" y="{y + bar - 4}" text-anchor="end">{escape(r["label"].strip())}</text>')
        s.append(f'<rect x="{left}" y="{y}" width="{max(x(rel) - left, 1):.1f}" height="{bar}" fill="{color}"/>')
        lin, ust = r["linux"]["median"], r["ustack"]["median"]
        s.append(f'<text x="{min(x(rel), x(scale_max)) + 6:.1f}" y="{y + bar - 4}" fill="#222">'
                 f'{rel:.2f}  ({fmt(ust)} vs {fmt(lin)} {escape(r["unit"])})</text>')
        tgt = None
        if r["target"].startswith(">= "):
            tgt = float(r["target"].split()[1])
        if tgt is not None:
            s.append(f'<line x1="{x(tgt):.1f}" y1="{y - 3}" x2="{x(tgt):.1f}" y2="{y + bar + 3}" '
                     f'stroke="#d9534f" stroke-width="2"/>')
    s.append(f'<text x="{left}" y="{H - 10}" fill="#555">red tick: target; red bar: target not met</text>')
    s.append("</svg>")
    return "\n".join(s) + "\n"


def main():
    d = sys.argv[1]
    samples, meta = load(d)
    rep = build(samples, meta)
    with open(os.path.join(d, "bench.json"), "w") as f:
        json.dump(rep, f, indent=1)
    with open(os.path.join(d, "bench.svg"), "w") as f:
        f.write(svg(rep))
    print(table(rep))


if __name__ == "__main__":
    main()
