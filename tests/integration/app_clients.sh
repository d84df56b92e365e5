#!/usr/bin/env bash
# Client programs over ustack (issue 4): python3 urllib with and without a
# timeout (settimeout: non-blocking sockets and poll), an asyncio client
# (epoll), socat and nc against a line-echo server, and a C program using
# fdopen() and fgets() on its socket.
source "$(dirname "$0")/app_env.bash"
APP_BIG_MB=8
app_web
app_dns
app_echo
want=$(sha "$WEB/big")

u python3 -c "
import hashlib, urllib.request
print(hashlib.sha256(urllib.request.urlopen('http://web.ustack.test/big').read()).hexdigest())"
expect_eq "python urllib: sha256 of the download" "$want" "$RUN_OUT"

u python3 -c "
import hashlib, urllib.request
print(hashlib.sha256(urllib.request.urlopen('http://web.ustack.test/big', timeout=10).read()).hexdigest())"
expect_eq "python urllib with timeout (non-blocking + poll): sha256" "$want" "$RUN_OUT"

u python3 -c "
import socket
try:
    socket.create_connection(('198.18.0.1', 81), timeout=5)
except ConnectionRefusedError as e:
    print('refused', e.errno)"
expect_eq "python: closed port is ConnectionRefusedError" "refused 111" "$RUN_OUT"

u python3 -c "
import asyncio
async def main():
    r, w = await asyncio.open_connection('web.ustack.test', 7)
    for i in range(3):
        w.write(b'line %d\n' % i)
        await w.drain()
        print((await r.readline()).decode().strip())
    w.close()
    await w.wait_closed()
asyncio.run(main())"
expect_eq "python asyncio (epoll): three lines echoed" "line 0 line 1 line 2" "$(echo $RUN_OUT)"

u sh -c 'echo "hello socat" | socat - TCP:198.18.0.1:7'
expect_eq "socat: echoed" "hello socat" "$RUN_OUT"

u sh -c 'echo "hello nc" | nc -N 198.18.0.1 7'
expect_eq "nc: echoed" "hello nc" "$RUN_OUT"

u "$USTACK_BUILD/bin/fdopen_client" web.ustack.test 7 "hello stdio"
expect_eq "fdopen+fgets: echoed" "hello stdio" "$RUN_OUT"
finish
