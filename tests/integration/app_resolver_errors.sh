#!/usr/bin/env bash
# getaddrinfo's error codes for each way a DNS server can fail, compared with
# glibc's (issue 10, item 7): a server that answers REFUSED, SERVFAIL,
# NOTIMP, FORMERR, NXDOMAIN or nothing, asked by python on the kernel's
# resolver (server namespace) and under ustack; the transcripts must match
# (glibc 2.36: EAI_AGAIN for REFUSED, SERVFAIL, NOTIMP and a timeout,
# EAI_NONAME for FORMERR and NXDOMAIN).
source "$(dirname "$0")/app_env.bash"

ip netns exec "$TOPO_SERVER" python3 "$(dirname "$0")/app_dns_rcode.py" 198.18.0.1 >"$T/dns.out" 2>&1 &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 53 udp
for ns in "$TOPO_SERVER" "$TOPO_CLIENT"; do
  printf 'nameserver 198.18.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$ns/resolv.conf"
done

probe='import socket
names = {v: k for k, v in vars(socket).items() if k.startswith("EAI_")}
for n in ("ok", "refused", "servfail", "notimp", "formerr", "nxdomain", "timeout"):
    for fam in (socket.AF_UNSPEC, socket.AF_INET):
        try:
            r = socket.getaddrinfo(n + ".rc.test", 80, fam, socket.SOCK_STREAM)
            print(n, fam, "ok", r[0][4][0])
        except socket.gaierror as e:
            print(n, fam, names.get(e.errno, e.errno))'
native=$(ip netns exec "$TOPO_SERVER" python3 -c "$probe" 2>&1)
u python3 -c "$probe"
expect_match "glibc: REFUSED is EAI_AGAIN" "^refused 0 EAI_AGAIN$" "$native"
if [ "$native" = "$RUN_OUT" ]; then
  pass "getaddrinfo errors for REFUSED, SERVFAIL, NOTIMP, FORMERR, NXDOMAIN, timeout: same as glibc"
else
  fail "getaddrinfo errors differ from glibc's (< glibc, > ustack):"
  diff <(echo "$native") <(echo "$RUN_OUT $RUN_ERR") | sed 's/^/     | /'
fi
finish
