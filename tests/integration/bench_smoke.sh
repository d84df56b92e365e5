#!/usr/bin/env bash
# The benchmark cannot rot (issue 6): bench/run.sh in its tiny mode (1
# repetition, 1 s per timed run, 64 MB download, 200 idle connections) on the
# build under test (and a build without the event hooks beside it) runs every scenario on both stacks and writes the table,
# bench.json and bench.svg. Only that the figures exist is checked - never
# how large they are: the bench is not a test of speed.
source "$(dirname "$0")/../netns/testlib.sh"

out=$T/bench
log=$("$TL_SRC/bench/run.sh" --smoke --no-build --build "$USTACK_BUILD" --out "$out" 2>&1)
rc=$?
expect_eq "bench/run.sh --smoke exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/     | /' <<<"$log" | tail -40

table=$(cat "$out/table.txt" 2>/dev/null)
expect_match "table: header with both stacks and the ratio" "^scenario +unit +Linux +ustack +ustack/Linux +target" "$table"
expect_match "table: commit, MTU and offloads recorded" "MTU [0-9]+" "$table"
expect_match "table: offloads recorded" "^offloads \\(uc0\\): ." "$table"
expect_no_match "table: no scenario failed" "FAILED" "$table"

# Every scenario has a median on both stacks (the cost of the event hooks:
# ustack alone, built without them, with them and with --trace).
check=$(python3 - "$out" <<'PY'
import json, sys, os
d = sys.argv[1]
rep = json.load(open(os.path.join(d, "bench.json")))
rows = {r["scenario"]: r for r in rep["rows"]}
want_both = ["bulk_tx_1", "bulk_rx_1", "bulk_tx_4", "bulk_rx_4", "download", "rr", "wrk",
             "wrk_p99", "conn_client", "conn_server", "idle_mem", "idle_open", "cpu_tx", "cpu_rx"]
for k in want_both:
    r = rows.get(k)
    ok = r and r["linux"] and r["ustack"] and r["ratio"] is not None
    print(f"{k} {'both' if ok else 'MISSING'}")
for k in ["trace_bulk_out", "trace_bulk_off", "trace_bulk_on", "trace_rr_out", "trace_rr_off"]:
    r = rows.get(k)
    print(f"{k} {'ustack' if r and r['ustack'] else 'MISSING'}")
m = rep["meta"]
print("meta", "ok" if m.get("commit") and m.get("mtu") and m.get("offloads") else "MISSING")
PY
)
expect_no_match "bench.json: every scenario measured on both stacks" "MISSING" "$check"
expect_count "bench.json: 14 scenarios side by side" 14 " both$" "$check"
expect_count "bench.json: hooks compiled out, tracing off and on" 5 " ustack$" "$check"
svg=$(python3 -c "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); print(len(d.getElementsByTagName('rect')))" "$out/bench.svg" 2>&1)
if [[ "$svg" =~ ^[0-9]+$ ]] && ((svg > 5)); then pass "bench.svg: well-formed SVG with $svg bars"; else fail "bench.svg: $svg"; fi
lines=$(wc -l <"$out/results.jsonl" 2>/dev/null || echo 0)
if ((lines >= 30)); then pass "results.jsonl: $lines raw samples"; else fail "results.jsonl: only $lines samples"; fi
finish
