#!/usr/bin/env bash
# Issue 5 on a real program: curl through the test network under
# `ustack --trace`. The trace tells, in order, the gateway ARP, the DNS
# query and answer, the 3-way handshake with both states, the HTTP request
# and response, the 4-way close and TIME_WAIT. The --diagram page opens in
# headless Chromium with two lifelines and one arrow per segment (as many as
# the pcap holds); --stats-json parses and its byte counts are what curl
# moved; --trace=state prints only state changes.
APP_BIG_MB=1
source "$(dirname "$0")/app_env.bash"
app_web
app_dns

# --- the story of one small download -----------------------------------
run_ustack "$TOPO_CLIENT" "${USTACK_OPTS[@]}" --trace --trace-json "$T/t.json" \
  --diagram "$T/d.html" --pcap "$T/c.pcap" -- \
  curl -sS -o "$T/small" http://web.ustack.test/small
expect_eq "traced curl: exit 0" 0 "$RUN_STATUS"
expect_eq "traced curl: the body" "small file" "$(cat "$T/small")"
tr=$RUN_ERR
# line NAME REGEX: line number of the first match after the previous step.
prev=0
step() {
  local n
  n=$(awk -v from="$prev" -v re="$2" 'NR > from && $0 ~ re { print NR; exit }' <<<"$tr")
  if [ -n "$n" ]; then pass "trace in order: $1"; prev=$n; else fail "trace in order: no '$2' after line $prev in:"; sed 's/^/     | /' <<<"$tr"; fi
}
ep='198\.18\.0\.10:[0-9]+'
step "ARP request for the gateway" 'arp  who-has 198\.18\.0\.1 tell 198\.18\.0\.10$'
step "DNS query (UDP to port 53)" 'dns  A\? web\.ustack\.test \(id 0x[0-9a-f]+\)'
step "ARP reply" 'arp  198\.18\.0\.1 is-at [0-9a-f][0-9a-f]:[0-9a-f:]+$'
step "DNS answer" 'dns  answer A\? web\.ustack\.test: NOERROR'
step "name resolved" 'dns  web\.ustack\.test -> 198\.18\.0\.1 \([0-9]+ ms\)'
step "state CLOSED -> SYN_SENT" 'tcp  state CLOSED -> SYN_SENT'
step "SYN" "tcp  $ep > 198\.18\.0\.1:80 \[SYN\] seq=0 win=[0-9]+ len=0 <mss 1460,sackOK,TS val [0-9]+ ecr 0,wscale 10>"
step "SYN-ACK" "tcp  198\.18\.0\.1:80 > $ep \[SYN, ACK\] seq=0 ack=1 "
step "state SYN_SENT -> ESTABLISHED" 'tcp  state SYN_SENT -> ESTABLISHED'
step "handshake ACK" "tcp  $ep > 198\.18\.0\.1:80 \[ACK\] seq=1 ack=1 "
step "HTTP request" "tcp  $ep > 198\.18\.0\.1:80 \[PSH, ACK\] seq=1 ack=1 win=[0-9]+ len=[1-9]"
step "HTTP response" "tcp  198\.18\.0\.1:80 > $ep \[PSH, ACK\] seq=1 ack=[0-9]+ win=[0-9]+ len=[1-9]"
step "state ESTABLISHED -> FIN_WAIT_1" 'tcp  state ESTABLISHED -> FIN_WAIT_1'
step "our FIN" "tcp  $ep > 198\.18\.0\.1:80 \[FIN, ACK\]"
step "the server's FIN" "tcp  198\.18\.0\.1:80 > $ep \[FIN, ACK\]"
step "state FIN_WAIT_2 -> TIME_WAIT" 'tcp  state FIN_WAIT_2 -> TIME_WAIT'
step "the last ACK" "tcp  $ep > 198\.18\.0\.1:80 \[ACK\]"
expect_match "FIN_WAIT_2 reached" 'tcp  state FIN_WAIT_1 -> FIN_WAIT_2' "$tr"
expect_match "lines start with the time since the first event" '^ +0\.[0-9]{6} arp  ' "$tr"

# JSON lines: one object per event, every line parses.
out=$(python3 - "$T/t.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
segs = [e for e in ev if e["type"] == "tcp_seg" and e.get("remote", "").endswith(":80")]
print(len(ev) > 10, len(segs), sum(1 for e in ev if e["type"] == "tcp_state"))
PY
)
read -r json_ok json_segs json_states <<<"$out"
expect_eq "trace JSON: every line parses" True "$json_ok"

# The diagram in headless Chromium: a lifeline per side, an arrow per segment.
wire=$(tcpdump -nn -r "$T/c.pcap" 'tcp port 80' 2>/dev/null | wc -l)
expect_eq "diagram source: the JSON trace has every segment in the pcap" "$wire" "$json_segs"
if command -v chromium >/dev/null; then
  probe=$(python3 "$APP_DIR/trace_diagram_check.py" "$T/d.html" chromium)
  read -r ladders lifelines segs drawn folds plots <<<"$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print(r["ladders"], ",".join(r["lifelines"]), r["segs"], r["drawn"], len(r["folds"]), len(r["plots"]))' "$probe")"
  expect_eq "chromium: one ladder" 1 "$ladders"
  expect_eq "chromium: a lifeline per side" "client,server" "$lifelines"
  expect_eq "chromium: an arrow per segment on the wire (pcap: $wire)" "$wire" "$segs"
  expect_eq "chromium: every arrow drawn across" "$wire" "$drawn"
  expect_eq "chromium: nothing folded in a short exchange" 0 "$folds"
  expect_eq "chromium: four plots" 4 "$plots"
  expect_match "chromium: the handshake labels" '"SYN seq=0 win=[0-9]+", "SYN, ACK seq=0 ack=1 win=[0-9]+", "ACK seq=1 ack=1 win=[0-9]+"' "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["labels"][:3]))' "$probe")"
  states=$(python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])["states"]))' "$probe")
  expect_eq "chromium: both sides' states, in drawing order" \
    "CLOSED LISTEN SYN_SENT SYN_RCVD ESTABLISHED ESTABLISHED FIN_WAIT_1 CLOSE_WAIT LAST_ACK FIN_WAIT_2 TIME_WAIT CLOSED" "$states"
else
  fail "chromium is not installed (scripts/setup.sh installs it)"
fi

# --- statistics: the bytes curl moved ---------------------------------
run_ustack "$TOPO_CLIENT" "${USTACK_OPTS[@]}" --stats --stats-json "$T/s.json" -- \
  curl -sS -o "$T/big" -w '%{size_header} %{size_download} %{size_request}\n' http://web.ustack.test/big
expect_eq "curl with --stats: exit 0" 0 "$RUN_STATUS"
read -r hdr body req <<<"$RUN_OUT"
expect_eq "the body is the file" "$((APP_BIG_MB << 20))" "$body"
got=$(python3 - "$T/s.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
c = [c for c in s["connections"] if c["remote"] == "198.18.0.1:80"]
print(len(c), c[0]["bytes_received"], c[0]["bytes_acked"], c[0]["state"], s["counters"]["TCP_ACTIVE_OPEN"])
PY
)
read -r n rx tx state opens <<<"$got"
expect_eq "stats JSON: one connection to the server" 1 "$n"
expect_eq "stats JSON: bytes received = headers + body" "$((hdr + body))" "$rx"
expect_eq "stats JSON: bytes sent and acked = the request" "$req" "$tx"
expect_eq "stats JSON: the connection ends in TIME_WAIT" TIME_WAIT "$state"
expect_eq "stats JSON: counters" 1 "$opens"
expect_match "--stats table: the connection" "^TIME_WAIT +0 +0  198\.18\.0\.10:[0-9]+ +198\.18\.0\.1:80" "$RUN_ERR"
expect_match "--stats table: bytes" "bytes_received:$((hdr + body)) " "$RUN_ERR"
expect_match "--stats table: counters with drops by reason" "^drops by reason" "$RUN_ERR"

# --- filters and the trace file ------------------------------------------
run_ustack "$TOPO_CLIENT" "${USTACK_OPTS[@]}" --trace=state --trace-file "$T/state.txt" -- \
  curl -sS -o /dev/null http://web.ustack.test/small
expect_eq "--trace=state: exit 0" 0 "$RUN_STATUS"
expect_no_match "--trace-file: nothing on stderr" 'tcp  ' "$RUN_ERR"
st=$(cat "$T/state.txt")
expect_match "--trace=state: the states" 'tcp  state FIN_WAIT_2 -> TIME_WAIT' "$st"
expect_no_match "--trace=state: no segments, ARP or DNS" '(\[SYN\]|arp  |dns  )' "$st"
finish
