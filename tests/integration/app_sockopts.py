#!/usr/bin/env python3
"""Socket options round trip on a connected TCP socket: app_sockopts.py HOST PORT.
Prints one line per option; app_semantics.sh compares ustack with the kernel."""
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
T, S = socket.IPPROTO_TCP, socket.SOL_SOCKET
def rt(level, opt, val, name):
    s.setsockopt(level, opt, val)
    print(name, s.getsockopt(level, opt))
rt(T, socket.TCP_NODELAY, 1, 'TCP_NODELAY')
rt(T, socket.TCP_CORK, 1, 'TCP_CORK'); rt(T, socket.TCP_CORK, 0, 'TCP_CORK')
rt(S, socket.SO_KEEPALIVE, 1, 'SO_KEEPALIVE')
rt(T, socket.TCP_KEEPIDLE, 77, 'TCP_KEEPIDLE')
rt(T, socket.TCP_KEEPINTVL, 9, 'TCP_KEEPINTVL')
rt(T, socket.TCP_KEEPCNT, 4, 'TCP_KEEPCNT')
rt(T, socket.TCP_USER_TIMEOUT, 5000, 'TCP_USER_TIMEOUT')
rt(S, socket.SO_REUSEADDR, 1, 'SO_REUSEADDR')
s.setsockopt(S, socket.SO_LINGER, struct.pack('ii', 1, 3))
print('SO_LINGER', struct.unpack('ii', s.getsockopt(S, socket.SO_LINGER, 8)))
s.setsockopt(T, socket.TCP_CONGESTION, b'reno')
print('TCP_CONGESTION', s.getsockopt(T, socket.TCP_CONGESTION, 16).rstrip(b'\0'))
print('TCP_MAXSEG > 500', s.getsockopt(T, socket.TCP_MAXSEG) > 500)
info = s.getsockopt(T, socket.TCP_INFO, 104)
print('TCP_INFO state', info[0], 'len', len(info))
print('SO_SNDBUF > 0', s.getsockopt(S, socket.SO_SNDBUF) > 0, 'SO_RCVBUF > 0', s.getsockopt(S, socket.SO_RCVBUF) > 0)
print('SO_TYPE', s.getsockopt(S, socket.SO_TYPE), 'SO_DOMAIN', s.getsockopt(S, socket.SO_DOMAIN), 'SO_PROTOCOL', s.getsockopt(S, socket.SO_PROTOCOL))
print('SO_ERROR', s.getsockopt(S, socket.SO_ERROR), 'SO_ACCEPTCONN', s.getsockopt(S, socket.SO_ACCEPTCONN))
try:
    s.setsockopt(T, socket.TCP_CONGESTION, b'nosuchcc')
except OSError as e: print('bad cc', e.errno)
try:
    s.getsockopt(T, 250)
except OSError as e: print('unknown opt', e.errno)
s.settimeout(0.2)
try:
    s.recv(10)
except socket.timeout: print('recv timeout')
# Buffer sizes set on a connected socket apply and read back doubled (issue 10).
s.setsockopt(S, socket.SO_SNDBUF, 65536)
s.setsockopt(S, socket.SO_RCVBUF, 65536)
print('after connect: SO_SNDBUF', s.getsockopt(S, socket.SO_SNDBUF), 'SO_RCVBUF', s.getsockopt(S, socket.SO_RCVBUF))
# A finished connection keeps its options (Linux): not zeros.
s.settimeout(5)
s.shutdown(socket.SHUT_WR)
while s.recv(100):
    pass
print('closed: TCP_MAXSEG > 500', s.getsockopt(T, socket.TCP_MAXSEG) > 500, 'TCP_NODELAY', s.getsockopt(T, socket.TCP_NODELAY),
      'SO_KEEPALIVE', s.getsockopt(S, socket.SO_KEEPALIVE), 'TCP_KEEPIDLE', s.getsockopt(T, socket.TCP_KEEPIDLE),
      'TCP_USER_TIMEOUT', s.getsockopt(T, socket.TCP_USER_TIMEOUT), 'SO_SNDBUF', s.getsockopt(S, socket.SO_SNDBUF))
