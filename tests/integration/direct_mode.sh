#!/usr/bin/env bash
# Plain LD_PRELOAD=.../libustack.so with the USTACK_* variables, no launcher:
# the stack runs inside the program. It answers ping while the program runs;
# curl fetches a page over it; a shell's children share the shell's stack (also
# bash's, which cannot pass USTACK_CTL down) and a program the shell exec's
# into starts its own. A bad variable is one line
# and exit 2; without USTACK_IP/USTACK_IF the program keeps the kernel's stack.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
C=$TOPO_CLIENT
lib=$(readlink -f "$USTACK_BUILD/lib/libustack.so")
mkdir -m 700 "$T/run"
pre=(env LD_PRELOAD="$lib" XDG_RUNTIME_DIR="$T/run" USTACK_IF=uc0 USTACK_IP=198.18.0.10/24 USTACK_GW=198.18.0.1)
echo "hello from the server" > "$T/page.txt"
: > "$T/http.log"
topo_spawn "$TOPO_SERVER" python3 -m http.server -b 198.18.0.1 -d "$T" 8000 2>"$T/http.log" >/dev/null
for ((i = 0; i < 100; i++)); do
  ip netns exec "$TOPO_SERVER" python3 -c 'import socket; socket.create_connection(("198.18.0.1", 8000))' 2>/dev/null && break
  sleep 0.05
done

ip netns exec "$C" "${pre[@]}" sh -c "touch '$T/ready'; exec sleep 30" &
pid=$!
for ((i = 0; i < 200; i++)); do [ -e "$T/ready" ] && break; sleep 0.05; done
out=$(ip netns exec "$TOPO_SERVER" ping -c 2 -i 0.2 -W 2 198.18.0.10 2>&1)
expect_match "the stack inside a preloaded program answers ping" "2 received" "$out"
kill "$pid"; wait "$pid" 2>/dev/null

out=$(timeout 30 ip netns exec "$C" "${pre[@]}" curl -sS http://198.18.0.1:8000/page.txt 2>&1)
expect_eq "curl over the in-process stack" "hello from the server" "$out"
expect_match "the server saw the stack's address" "^198.18.0.10 .*GET /page.txt" "$(cat "$T/http.log")"

# (A killed program cannot remove its socket; the next one starting over it does.)
rm -rf "$T/run"/*
out=$(timeout 30 ip netns exec "$C" "${pre[@]}" sh -c \
  'curl -sS http://198.18.0.1:8000/page.txt; curl -sS http://198.18.0.1:8000/page.txt; exec curl -sS http://198.18.0.1:8000/page.txt' 2>&1)
expect_count "sh -c: two children share the shell's stack, the exec'd one starts its own" 3 \
  "^hello from the server$" "$out"
expect_eq "no control socket is left behind (the exec'd curl removes the shell's, then its own)" "" "$(ls -A "$T/run")"

# bash hands its children the USTACK_CTL it was started with (here the dead
# one of the sh that exec'd into it), not the one the library set: a child
# finds the shell's stack through the address lock instead, as behind a
# wrapper script like pyenv's python3.
rm -rf "$T/run"/*
printf '#!/bin/bash\nv=$(echo sub)\ncurl -sS http://198.18.0.1:8000/page.txt\nexec curl -sS http://198.18.0.1:8000/page.txt\n' >"$T/wrapper"
chmod +x "$T/wrapper"
out=$(timeout 30 ip netns exec "$C" "${pre[@]}" sh -c "exec '$T/wrapper'" 2>&1)
expect_count "a bash wrapper: its child and the program it exec's into both fetch the page" 2 \
  "^hello from the server$" "$out"
expect_no_match "a bash wrapper: no 'already in use'" "already in use" "$out"

out=$(ip netns exec "$C" env LD_PRELOAD="$lib" USTACK_IP=198.18.0.10 sh -c 'echo ran' 2>&1)
status=$?
expect_eq "bad USTACK_IP: exit 2, the program never runs" "2" "$status"
expect_eq "bad USTACK_IP: one line naming the variable" \
  "ustack: USTACK_IP: '198.18.0.10' is not ADDRESS/PREFIX, e.g. 198.18.0.10/24" "$out"
out=$(ip netns exec "$C" env LD_PRELOAD="$lib" USTACK_IF=nosuch0 USTACK_IP=198.18.0.10/24 true 2>&1)
expect_match "unknown USTACK_IF: one clear line" "^ustack: no interface named 'nosuch0'" "$out"

out=$(ip netns exec "$TOPO_SERVER" env LD_PRELOAD="$lib" curl -sS http://198.18.0.1:8000/page.txt 2>&1)
expect_eq "without USTACK_IP the program keeps the kernel's stack" "hello from the server" "$out"
finish
