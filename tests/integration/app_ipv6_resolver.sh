#!/usr/bin/env bash
# AF_INET6 sockets and the interposed resolver over ustack (issue 4):
# v4-mapped connects, a dual-stack server bound on ::, getaddrinfo (AF_INET,
# AF_INET6 with AI_V4MAPPED, passive, numeric, canonical name),
# gethostbyname(_ex), getnameinfo, NXDOMAIN as EAI_NONAME.
source "$(dirname "$0")/app_env.bash"
APP_BIG_MB=1
app_web
app_dns

u python3 -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.connect(('::ffff:198.18.0.1', 80))
print(s.getsockname()[0], s.getpeername()[0], s.getpeername()[1])
s.sendall(b'GET /small HTTP/1.0\r\n\r\n')
print(s.recv(1000).split(b'\r\n')[0].decode())"
expect_eq "AF_INET6 socket, v4-mapped connect: names and an HTTP answer" \
  "::ffff:198.18.0.10 ::ffff:198.18.0.1 80 HTTP/1.1 200 OK" "$(echo $RUN_OUT)"

u python3 -c "
import socket
G = socket.getaddrinfo
print(G('web.ustack.test', 80, socket.AF_INET, socket.SOCK_STREAM)[0][4])
print(G('web.ustack.test', 80, socket.AF_INET6, socket.SOCK_STREAM, 0, socket.AI_V4MAPPED)[0][4][:2])
print(G('web.ustack.test', 'http', 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)[0][3])
print(len(G('web.ustack.test', 80)), len(G('web.ustack.test', 'http')), len(G('web.ustack.test', 'domain')))
print(G(None, 8080, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[0][4])
print(G('198.18.0.7', 9, 0, socket.SOCK_DGRAM)[0][4])
print(socket.gethostbyname('alias.ustack.test'))
print(socket.gethostbyname_ex('web.ustack.test'))
print(socket.getnameinfo(('198.18.0.1', 80), socket.NI_NUMERICHOST))
print(socket.getnameinfo(('198.18.0.1', 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV))
print(socket.getnameinfo(('198.18.0.1', 80), 0))
print(socket.getnameinfo(('198.18.0.9', 80), 0))
for name in ('nope.invalid', 'x.ustack.invalid'):
    try:
        G(name, 80)
        print('resolved?')
    except socket.gaierror as e:
        print('gaierror', e.errno == socket.EAI_NONAME)
try:
    G('web.ustack.test', 'no-such-service')
except socket.gaierror as e:
    print('service', e.errno == socket.EAI_SERVICE)"
want="('198.18.0.1', 80)
('::ffff:198.18.0.1', 80)
web.ustack.test
3 1 2
('0.0.0.0', 8080)
('198.18.0.7', 9)
198.18.0.2
('web.ustack.test', [], ['198.18.0.1'])
('198.18.0.1', 'http')
('198.18.0.1', '80')
('web.ustack.test', 'http')
('198.18.0.9', 'http')
gaierror True
gaierror True
service True"
expect_eq "resolver: getaddrinfo/gethostbyname/getnameinfo answers" "$want" "$RUN_OUT"

# A dual-stack server on :: under ustack; a Linux client over IPv4.
(cd "$WEB" && exec ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- \
  python3 -m http.server --bind :: 8000) >"$T/srv.log" 2>&1 &
TOPO_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
  got=$(ip netns exec "$TOPO_SERVER" curl -s --max-time 1 http://198.18.0.10:8000/small) && break
  sleep 0.1
done
expect_eq "server bound on :: answers IPv4" "small file" "$got"
expect_match "server sees the client as v4-mapped" "::ffff:198.18.0.1 .*GET /small" "$(cat "$T/srv.log")"
finish
