#!/usr/bin/env bash
# A blocking connect to a closed port fails every time (issue 10, item 3):
# 10,000 connects from python under ustack to a port nobody listens on in
# the server namespace, each must raise ECONNREFUSED at connect() - never
# return 0 and leave the error for the next recv.
source "$(dirname "$0")/app_env.bash"

probe='import errno, socket
counts = {}
for i in range(10000):
    s = socket.socket()
    try:
        s.connect(("198.18.0.1", 9))
        try:
            s.recv(1)
            r = "connected"
        except OSError as e:
            r = "connected, then " + errno.errorcode[e.errno]
    except OSError as e:
        r = errno.errorcode[e.errno]
    s.close()
    counts[r] = counts.get(r, 0) + 1
for k, v in sorted(counts.items()):
    print(v, k)'
native=$(ip netns exec "$TOPO_SERVER" python3 -c "${probe/198.18.0.1/127.0.0.1}" 2>&1)
expect_eq "Linux: 10000 connects to a closed port, 10000 ECONNREFUSED" "10000 ECONNREFUSED" "$native"
u python3 -c "$probe"
expect_eq "ustack: 10000 connects to a closed port, 10000 ECONNREFUSED" "10000 ECONNREFUSED" "$RUN_OUT"
finish
