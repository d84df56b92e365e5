#!/usr/bin/env bash
# TCP interop with the Linux kernel through the impairment forwarder: 2 ms
# delay each way, 3% of frames held back 4 ms more (reordered)
# and 1% duplicated. ustack client -> Linux server and Linux client -> ustack
# server, INTEROP_MB MiB (default 100) each way, byte-exact by sha256, closed
# gracefully. See tcp_interop_lib.bash.
source "$(dirname "$0")/tcp_interop_lib.bash"
need topo_impaired --seed 11 --delay-ms 2 --reorder 3 --reorder-ms 4 --dup 1
interop_case "impaired" ustack-client
interop_case "impaired" ustack-server
finish
