#!/usr/bin/env bash
# Issue 5 under loss: across the router, which drops 5% of what it forwards
# (nftables), curl downloads 16 MiB and python3 uploads 16 MiB over ustack.
# The traces show retransmissions both ways (the server's, marked as
# Wireshark does, and ours with RTO/backoff or fast retransmit) and the
# congestion window cut and growing again; the files arrive byte-exact; the
# statistics count the retransmissions; the diagrams mark them.
source "$(dirname "$0")/../netns/testlib.sh"
# The router drops whole 64 KB GSO units (one verdict each): 4 MiB is only
# about 70 of them, and 0.95^70 left a run without any loss now and then.
# 16 MiB (~260 units) makes that about one run in 500,000.
MB=16

need topo_routed --loss 5
mkdir -p "$T/www"
head -c $((MB << 20)) /dev/urandom > "$T/www/big"
topo_spawn "$TOPO_SERVER" python3 "$TL_SRC/tests/integration/app_httpd.py" "$T/www" 198.19.0.10 80
for ((i = 0; i < 100; i++)); do
  ip netns exec "$TOPO_SERVER" ss -Htln 'sport = :80' | grep -q . && break
  sleep 0.05
done
# Download: the server's retransmissions, as Wireshark marks them.
run_ustack "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 \
  --trace=tcp,cc,state --trace-file "$T/down.txt" --diagram "$T/down.html" -- \
  curl -sS --max-time 25 -o "$T/got" http://198.19.0.10/big
expect_eq "download across 5% loss: exit 0" 0 "$RUN_STATUS"
expect_eq "download byte-exact" "$(sha256sum < "$T/www/big")" "$(sha256sum < "$T/got")"
tr=$(cat "$T/down.txt")
expect_match "download: the peer's retransmissions in the trace" \
  'tcp  198\.19\.0\.10:80 > 198\.18\.0\.10:[0-9]+ \[[A-Z, ]+\] seq=[0-9]+ ack=[0-9]+ win=[0-9]+ len=[1-9][0-9]* .*\(retransmission\)$' "$tr"
expect_match "download: the gaps they fill" '\(previous segment not seen: lost or reordered\)$' "$tr"
expect_match "download: our SACKs" '> 198\.19\.0\.10:80 \[ACK\] .*sack [0-9]+-[0-9]+' "$tr"
if grep -q 'class="seg rx rtx"' "$T/down.html"; then pass "download diagram: the peer's retransmissions marked"
else fail "download diagram: no retransmission marked"; fi

# Upload: ours, with the congestion window's reaction.
topo_spawn "$TOPO_SERVER" socat -u TCP-LISTEN:9000,bind=198.19.0.10,reuseaddr OPEN:"$T/up",creat,trunc
for ((i = 0; i < 100; i++)); do
  ip netns exec "$TOPO_SERVER" ss -Htln 'sport = :9000' | grep -q . && break
  sleep 0.05
done
run_ustack "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 \
  --trace=tcp,cc,state --trace-file "$T/up.txt" --stats-json "$T/s.json" --diagram "$T/up.html" -- \
  python3 -c '
import socket, sys
data = open(sys.argv[1], "rb").read()
s = socket.create_connection(("198.19.0.10", 9000))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
s.recv(1)
' "$T/www/big"
expect_eq "upload across 5% loss: exit 0" 0 "$RUN_STATUS"
for ((i = 0; i < 100; i++)); do [ "$(stat -c %s "$T/up" 2>/dev/null)" = $((MB << 20)) ] && break; sleep 0.05; done
expect_eq "upload byte-exact" "$(sha256sum < "$T/www/big")" "$(sha256sum < "$T/up")"
tr=$(cat "$T/up.txt")
expect_match "upload: our retransmissions in the trace" \
  'tcp  retransmit seq=[0-9]+ len=[0-9]+ \((fast retransmit|RACK: lost by time|tail loss probe|RTO [0-9]+ ms, backoff [0-9]+)\)' "$tr"
expect_match "upload: the congestion window cut" \
  'tcp  cwnd [0-9]+ -> [0-9]+, ssthresh [0-9a-z]+ -> [0-9]+ \((fast recovery|loss: retransmission timeout)\)' "$tr"
expect_match "upload: and growing again" 'tcp  cwnd [0-9]+ -> [0-9]+ \((slow start|congestion avoidance)\)' "$tr"
got=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
c = [c for c in s["connections"] if c["remote"] == "198.19.0.10:9000"][0]
print(c["bytes_acked"], c["retrans"] > 0, s["counters"]["TCP_RETRANS"] == c["retrans"])' "$T/s.json")
read -r acked some same <<<"$got"
expect_eq "stats JSON: the file sent and acked" $((MB << 20)) "$acked"
expect_eq "stats JSON: retransmissions counted" True "$some"
expect_eq "stats JSON: per connection = the stack's counter" True "$same"
if grep -q 'class="seg tx rtx"' "$T/up.html" && grep -q 'class="rtx-mark"' "$T/up.html"; then
  pass "upload diagram: retransmissions marked on the ladder and the plots"
else
  fail "upload diagram: no retransmission marked"
fi
finish
