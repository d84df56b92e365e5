#!/usr/bin/env bash
# TCP interop with the Linux kernel on a clean link (direct topology):
# ustack client -> Linux server and Linux client -> ustack server, each
# connection INTEROP_MB MiB (default 100) each way, byte-exact by sha256,
# closed gracefully by both ends. See tcp_interop_lib.bash.
source "$(dirname "$0")/tcp_interop_lib.bash"
need topo_direct
interop_case "clean" ustack-client
interop_case "clean" ustack-server
finish
