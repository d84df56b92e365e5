#!/usr/bin/env python3
"""app_dns_rcode.py ADDR: a DNS server on ADDR:53 that answers every question
with the rcode its first label names (refused, servfail, notimp, formerr,
nxdomain; timeout: no answer; anything else: NOERROR, A 198.18.0.7, no AAAA)."""
import socket, sys
RC = {b'formerr': 1, b'servfail': 2, b'nxdomain': 3, b'notimp': 4, b'refused': 5}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print('ready', flush=True)
while True:
    q, a = s.recvfrom(2048)
    if len(q) < 12:
        continue
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].lower())
        i += 1 + q[i]
    qend = i + 5
    qtype = q[i + 1:i + 3]
    first = labels[0] if labels else b''
    if first == b'timeout':
        continue
    rc = RC.get(first, 0)
    flags = 0x8180 | rc | (q[2] & 1) << 8
    ans = b''
    if rc == 0 and qtype == b'\x00\x01':
        ans = b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04' + bytes([198, 18, 0, 7])
    hdr = q[:2] + flags.to_bytes(2, 'big') + b'\x00\x01' + (b'\x00\x01' if ans else b'\x00\x00') + b'\x00\x00\x00\x00'
    s.sendto(hdr + q[12:qend] + ans, a)
