#!/usr/bin/env bash
# Sockets survive exec (issue 10, item 4). sshd under ustack re-executes
# itself for every connection with the socket as its stdin/stdout; ssh from
# the peer namespace logs in with a key and $SSH_CONNECTION names the real
# client and server addresses and ports. python's subprocess hands a
# connected socket to a new program through pass_fds and as its stdin: the
# new image answers getpeername/getsockname/getsockopt and carries data.
source "$(dirname "$0")/app_env.bash"
command -v ssh >/dev/null && [ -x /usr/sbin/sshd ] ||
  { echo "SKIP: openssh-server/openssh-client not installed (scripts/setup.sh)"; exit 77; }
app_echo

# sshd wants its privilege separation directory.
made_run_sshd=
[ -d /run/sshd ] || { mkdir -p -m 0755 /run/sshd && made_run_sshd=1; }
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/id"
cp "$T/id.pub" "$T/authorized_keys"
cat > "$T/sshd_config" <<EOF
Port 22
ListenAddress 198.18.0.10
HostKey $T/hostkey
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel VERBOSE
EOF
ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- /usr/sbin/sshd -D -e -f "$T/sshd_config" \
  2>"$T/sshd.log" &
spid=$!
TOPO_PIDS+=($spid)
for ((i = 0; i < 100; i++)); do
  ip netns exec "$TOPO_SERVER" timeout 1 bash -c 'exec 3<>/dev/tcp/198.18.0.10/22' 2>/dev/null && break
  sleep 0.1
done
out=$(ip netns exec "$TOPO_SERVER" timeout 30 ssh -i "$T/id" -o BatchMode=yes -o ConnectTimeout=10 \
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
  root@198.18.0.10 'echo "$SSH_CONNECTION"' 2>&1)
expect_match "ssh from the peer: \$SSH_CONNECTION names both ends" \
  '^198\.18\.0\.1 [0-9]+ 198\.18\.0\.10 22$' "$out"
expect_match "sshd (re-executed per connection) saw the client's address" \
  "Accepted publickey for root from 198\.18\.0\.1 port [0-9]+" "$(cat "$T/sshd.log")"
kill -TERM $spid 2>/dev/null
wait $spid 2>/dev/null
[ -n "$made_run_sshd" ] && rmdir /run/sshd 2>/dev/null

# subprocess: a connected socket passed with pass_fds, and as stdin/stdout.
cat > "$T/child.py" <<'EOF'
import socket, sys
fd = int(sys.argv[1])
s = socket.socket(fileno=fd)
print(s.family.name, s.type.name, s.getpeername(), s.getsockname()[0])
s.sendall(b'from the exec\'d child\n')
print(s.recv(100).decode().strip())
s.detach()
EOF
u python3 -c "
import socket, subprocess, sys
s = socket.create_connection(('198.18.0.1', 7))
subprocess.run([sys.executable, '$T/child.py', str(s.fileno())], pass_fds=[s.fileno()], check=True)
subprocess.run([sys.executable, '$T/child.py', '0'], stdin=s, check=True)
s.sendall(b'parent again\n')
print(s.recv(100).decode().strip())
s.shutdown(socket.SHUT_WR)
print('eof' if s.recv(100) == b'' else 'data')"
expect_eq "python exits 0" 0 "$RUN_STATUS"
want="AF_INET SOCK_STREAM ('198.18.0.1', 7) 198.18.0.10
from the exec'd child
AF_INET SOCK_STREAM ('198.18.0.1', 7) 198.18.0.10
from the exec'd child
parent again
eof"
expect_eq "pass_fds and stdin: the exec'd child's socket is a TCP socket to the peer" "$want" "$RUN_OUT"

# The same with an environment of the caller's making, without LD_PRELOAD
# or USTACK_*: the exec carries what the new image needs to find its socket.
u python3 -c "
import os, socket, subprocess, sys
s = socket.create_connection(('198.18.0.1', 7))
subprocess.run([sys.executable, '$T/child.py', str(s.fileno())], pass_fds=[s.fileno()],
               env={'PATH': '/usr/bin:/bin'}, check=True)
subprocess.run([sys.executable, '$T/child.py', '0'], stdin=s, env={}, check=True)
d = s.dup()
os.set_inheritable(d.fileno(), True)
pid = os.posix_spawn(sys.executable, [sys.executable, '$T/child.py', str(d.fileno())], {})
print('posix_spawn exit', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))"
expect_eq "clean environment: python exits 0" 0 "$RUN_STATUS"
want="AF_INET SOCK_STREAM ('198.18.0.1', 7) 198.18.0.10
from the exec'd child
AF_INET SOCK_STREAM ('198.18.0.1', 7) 198.18.0.10
from the exec'd child
AF_INET SOCK_STREAM ('198.18.0.1', 7) 198.18.0.10
from the exec'd child
posix_spawn exit 0"
expect_eq "clean environment (execve, posix_spawn): the child's socket is still a TCP socket" "$want" "$RUN_OUT"

# A UDP socket (connected) survives exec as well.
ip netns exec "$TOPO_SERVER" socat UDP-RECVFROM:9002,bind=198.18.0.1,fork PIPE &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 9002 udp
cat > "$T/uchild.py" <<'EOF'
import socket, sys
s = socket.socket(fileno=int(sys.argv[1]))
s.settimeout(5)
s.send(b"datagram from the exec'd child")
print(s.family.name, s.type.name, s.getpeername(), s.recv(100).decode())
s.detach()
EOF
u python3 -c "
import socket, subprocess, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(('198.18.0.1', 9002))
subprocess.run([sys.executable, '$T/uchild.py', str(u.fileno())], pass_fds=[u.fileno()], check=True)"
expect_eq "a connected UDP socket after exec: family, type, peer, and a datagram both ways" \
  "AF_INET SOCK_DGRAM ('198.18.0.1', 9002) datagram from the exec'd child" "$RUN_OUT"

finish
