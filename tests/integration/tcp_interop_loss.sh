#!/usr/bin/env bash
# TCP interop with the Linux kernel through a router that drops 5% of the
# packets it forwards (nftables, both directions): ustack client -> Linux
# server and Linux client -> ustack server, INTEROP_MB MiB (default 100)
# each way, byte-exact by sha256, closed gracefully. See tcp_interop_lib.bash.
source "$(dirname "$0")/tcp_interop_lib.bash"
need topo_routed --loss "${INTEROP_LOSS:-5}"
interop_case "loss ${INTEROP_LOSS:-5}%" ustack-client
interop_case "loss ${INTEROP_LOSS:-5}%" ustack-server
finish
