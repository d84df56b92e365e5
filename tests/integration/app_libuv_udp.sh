#!/usr/bin/env bash
# Programs whose UDP goes through libuv (issue 10): BIND 9.18's dig, host and
# nslookup, and node's dgram module, client and server. libuv 1.44 sends and
# receives with syscall(SYS_sendmmsg / SYS_recvmmsg) rather than the libc
# wrappers (newer libuv, as in the nodesource build of node, calls the
# wrappers): both ways must carry the datagrams with their addresses.
source "$(dirname "$0")/app_env.bash"

for p in dig host nslookup node; do
  command -v $p >/dev/null || { fail "$p not installed (scripts/setup.sh)"; finish; }
done
app_dns

# BIND's tools against dnsmasq in the server namespace, over UDP; dig without
# @server takes the namespace's resolv.conf (198.18.0.1).
u dig +tries=1 +timeout=5 +short web.ustack.test @198.18.0.1
expect_eq "dig +short A over UDP" "0 198.18.0.1" "$RUN_STATUS $RUN_OUT"
u dig +tries=1 +timeout=5 web.ustack.test
expect_match "dig: answer section, from the resolv.conf server over UDP" \
  "^web\.ustack\.test\.\s+[0-9]+\s+IN\s+A\s+198\.18\.0\.1$" "$RUN_OUT"
expect_match "dig: SERVER line says UDP" "^;; SERVER: 198\.18\.0\.1#53\(198\.18\.0\.1\) \(UDP\)$" "$RUN_OUT"
u dig +tries=1 +timeout=5 +short -x 198.18.0.1 @198.18.0.1
expect_eq "dig -x: PTR over UDP" "0 web.ustack.test." "$RUN_STATUS $RUN_OUT"
# Direct mode: the stack thread runs inside dig, its libuv loop beside dig's
# (the same shared libuv); the stack thread's own syscall() calls pass through.
out=$(timeout 30 ip netns exec "$TOPO_CLIENT" env LD_PRELOAD="$USTACK_BUILD/lib/libustack.so" \
  USTACK_IF=uc0 USTACK_IP=198.18.0.10/24 USTACK_GW=198.18.0.1 USTACK_DNS=198.18.0.1 \
  dig +tries=1 +timeout=5 +short web.ustack.test @198.18.0.1)
expect_eq "dig in direct mode (LD_PRELOAD, no launcher)" "198.18.0.1" "$out"
u host -W 5 web.ustack.test 198.18.0.1
expect_match "host: A over UDP" "^web\.ustack\.test has address 198\.18\.0\.1$" "$RUN_OUT"
u host -W 5 nosuch.invalid 198.18.0.1
expect_match "host: NXDOMAIN reported as such" "not found: 3\(NXDOMAIN\)" "$RUN_OUT"
# -type=A: this dnsmasq refuses AAAA questions (no upstream), and nslookup
# would exit 1 for that on Linux too.
u nslookup -type=A -timeout=5 -retry=0 alias.ustack.test 198.18.0.1
expect_match "nslookup: A over UDP" "^Address: 198\.18\.0\.2$" "$RUN_OUT"
expect_eq "nslookup: exit status" 0 "$RUN_STATUS"

# node's dgram: an unconnected client sending a burst in one tick (libuv
# batches them into sendmmsg), then a connected one, against a Linux echo
# server; a timer fails the run if an echo is missing.
cat > "$T/echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)
PY
ip netns exec "$TOPO_SERVER" python3 "$T/echo.py" 198.18.0.1 9999 &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 9999 udp
cat > "$T/client.js" <<'JS'
const dgram = require('dgram');
const timer = setTimeout(() => { console.log('timeout'); process.exit(1); }, 10000);
const a = dgram.createSocket('udp4');
const got = [];
a.on('message', (m, r) => {
  got.push(`${m} ${r.address}:${r.port}`);
  if (got.length < 5) return;
  console.log(got.sort().join('\n'));
  a.close();
  const c = dgram.createSocket('udp4');
  c.connect(9999, '198.18.0.1', () => {
    console.log('connected', c.remoteAddress().address, c.address().address);
    c.send('connected');
  });
  c.on('message', (m, r) => {
    console.log(`${m} ${r.address}:${r.port}`);
    c.close();
    clearTimeout(timer);
  });
});
for (let i = 0; i < 5; i++) a.send(`burst ${i}`, 9999, '198.18.0.1');
JS
u node "$T/client.js"
expect_eq "node dgram client: a burst of 5 and a connected send, echoed with the server's address" \
  "burst 0 198.18.0.1:9999 burst 1 198.18.0.1:9999 burst 2 198.18.0.1:9999 burst 3 198.18.0.1:9999 burst 4 198.18.0.1:9999 connected 198.18.0.1 198.18.0.10 connected 198.18.0.1:9999" \
  "$(echo $RUN_OUT)"

# node's dgram server under ustack, a Linux client.
cat > "$T/server.js" <<'JS'
const dgram = require('dgram');
const fs = require('fs');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => s.send(`node heard ${m} from ${r.address}`, r.port, r.address));
s.bind(7777, () => fs.writeFileSync(process.argv[2], 'up'));
JS
(ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- node "$T/server.js" "$T/up") \
  >"$T/nodesrv.log" 2>&1 &
TOPO_PIDS+=($!)
for ((i = 0; i < 200; i++)); do [ -e "$T/up" ] && break; sleep 0.05; done
out=$(ip netns exec "$TOPO_SERVER" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(3):
    s.sendto(b'ping %d' % i, ('198.18.0.10', 7777))
    d, a = s.recvfrom(200)
    print(d.decode(), a[0], a[1])")
expect_eq "node dgram server under ustack answers a Linux client" \
  "node heard ping 0 from 198.18.0.1 198.18.0.10 7777 node heard ping 1 from 198.18.0.1 198.18.0.10 7777 node heard ping 2 from 198.18.0.1 198.18.0.10 7777" \
  "$(echo $out)"
finish
