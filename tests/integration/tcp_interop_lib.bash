# Shared part of the tcp_interop_*.sh tests (issue 3: ustack against the
# Linux kernel's TCP). Sourced after a topology is up (topo_direct,
# topo_routed --loss, topo_impaired). Each case is one connection between
# examples/tcp_blast on ustack and examples/tcp_blast on the kernel of the
# server namespace, moving INTEROP_MB MiB (default 100) each way: the client
# sends, half-closes, the server receives to EOF, sends as much back and
# closes. Checked:
#   - sha256 of each direction equal on both ends, byte counts exact;
#   - both programs and the launcher exit 0 (no error, no reset, the
#     sender saw the receiver's FIN: a graceful close);
#   - a capture on the server's interface (FIN/RST only) holds a FIN from
#     each end and no RST (but a bare reply to a late duplicate ACK);
#   - the transfer's time and throughput are logged (no threshold).
# Knobs: INTEROP_MB (size per direction, MiB), INTEROP_TIMEOUT (seconds a
# program may take before it counts as a hang, default 280: two cases fit
# in ctest's 600 s), INTEROP_VERBOSE=1 (print both sides' stderr: the
# launcher's per-connection statistics and counters, also on success).
source "$(dirname "${BASH_SOURCE[0]}")/../netns/testlib.sh"

INTEROP_MB=${INTEROP_MB:-100}
INTEROP_BYTES=$((INTEROP_MB << 20))
INTEROP_TIMEOUT=${INTEROP_TIMEOUT:-280}
BLAST=$USTACK_BUILD/bin/tcp_blast
[ -x "$BLAST" ] || { fail "no tcp_blast at $BLAST (build first)"; finish; }
INTEROP_PORT=5001

# The launcher's statistics, when this build has them (printed on failure).
INTEROP_STACK_OPTS=()
if "$USTACK" --help 2>&1 | grep -q -- '--stats '; then INTEROP_STACK_OPTS+=(--stats); fi

# interop_capture_start: FINs and RSTs of the test port on the server's
# interface, to a small pcap.
interop_capture_start() {
  INTEROP_PCAP=$T/fin.$INTEROP_PORT.pcap
  ip netns exec "$TOPO_SERVER" tcpdump --immediate-mode -U -q -n -i us0 -w "$INTEROP_PCAP" \
    "tcp port $INTEROP_PORT and tcp[tcpflags] & (tcp-fin|tcp-rst) != 0" 2>"$T/tcpdump.err" &
  INTEROP_TCPDUMP=$!
  local i
  for ((i = 0; i < 100; i++)); do grep -q "listening on" "$T/tcpdump.err" && return 0; sleep 0.05; done
  fail "tcpdump did not start: $(cat "$T/tcpdump.err")"
}

interop_capture_check() {
  local name=$1 ustack_ip=$TOPO_STACK_IP peer_ip=$TOPO_SERVER_IP
  sleep 0.2 # the last frames reach the capture
  kill -INT "$INTEROP_TCPDUMP" 2>/dev/null
  wait "$INTEROP_TCPDUMP" 2>/dev/null
  local td
  td=$(tcpdump -nn -r "$INTEROP_PCAP" 2>/dev/null)
  expect_match "$name: FIN from ustack on the wire" "IP $ustack_ip\.[0-9]+ > $peer_ip\.[0-9]+: Flags \[F" "$td"
  expect_match "$name: FIN from Linux on the wire" "IP $peer_ip\.[0-9]+ > $ustack_ip\.[0-9]+: Flags \[F" "$td"
  # The end that closed last may answer a late duplicate ACK with a bare RST
  # once its connection is gone: the other end, in TIME-WAIT, ACKs every
  # retransmitted FIN (RFC 9293), and a retransmission that crossed the
  # first ACK draws a second one. Any other RST (with ACK, or before the
  # sender's own FIN) is an abort.
  expect_eq "$name: no RST from ustack but a bare one after its FIN" "" "$(interop_bad_rst "$ustack_ip" "$td")"
  expect_eq "$name: no RST from Linux but a bare one after its FIN" "" "$(interop_bad_rst "$peer_ip" "$td")"
}

# interop_bad_rst SRC_IP TCPDUMP_TEXT: the RSTs from SRC_IP that are not a
# bare RST after SRC_IP's FIN.
interop_bad_rst() {
  grep -E "IP ${1//./\\.}\.[0-9]+ > " <<<"$2" |
    awk '/ Flags \[F/ { fin = 1 } / Flags \[[^]]*R/ { if (!fin || $0 !~ / Flags \[R\], /) print }'
}

# interop_line FILE KIND: the "sent|received N sha256 H ..." line of FILE.
interop_line() { grep -m1 "^$2 " "$1"; }

# interop_compare NAME DIR SENDER_OUT RECEIVER_OUT
interop_compare() {
  local name=$1 dir=$2 s r
  s=$(interop_line "$3" sent)
  r=$(interop_line "$4" received)
  local sb sh rb rh
  read -r _ sb _ sh _ <<<"$s"
  read -r _ rb _ rh _ <<<"$r"
  expect_eq "$name: $dir: bytes sent" "$INTEROP_BYTES" "${sb:-none}"
  expect_eq "$name: $dir: bytes received" "$INTEROP_BYTES" "${rb:-none}"
  expect_eq "$name: $dir: sha256 equal on both ends" "${sh:-sender-none}" "${rh:-receiver-none}"
  # Time and throughput, for the log only: no threshold.
  echo "# $name: $dir: receiver: $r"
}

# interop_case NAME ROLE: ROLE ustack-client (ustack connects to the Linux
# server) or ustack-server (the Linux client connects to ustack).
interop_case() {
  local name=$1 role=$2
  INTEROP_PORT=$((INTEROP_PORT + 1))
  local port=$INTEROP_PORT ready=$T/ready.$INTEROP_PORT
  local cout=$T/client.$port.out sout=$T/server.$port.out serr=$T/server.$port.err
  local cerr=$T/client.$port.err status_c status_s
  local stack=("$USTACK" --if uc0 --ip "$TOPO_STACK_IP/$TOPO_PREFIX" --gw "$TOPO_GW" "${INTEROP_STACK_OPTS[@]}" --)
  local tmo=(timeout "$INTEROP_TIMEOUT")
  interop_capture_start
  local t0=$SECONDS
  echo "# $name: $role, $INTEROP_MB MiB each way ($TOPO_KIND topology)"
  if [ "$role" = ustack-client ]; then
    ip netns exec "$TOPO_SERVER" "${tmo[@]}" "$BLAST" listen "$TOPO_SERVER_IP" "$port" \
      recv send "$INTEROP_BYTES" --seed 200 --ready "$ready" >"$sout" 2>"$serr" &
  else
    ip netns exec "$TOPO_CLIENT" "${tmo[@]}" "${stack[@]}" "$BLAST" listen "$TOPO_STACK_IP" "$port" \
      recv send "$INTEROP_BYTES" --seed 200 --ready "$ready" >"$sout" 2>"$serr" &
  fi
  local spid=$! i
  for ((i = 0; i < 200; i++)); do
    [ -e "$ready" ] && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.05
  done
  if [ "$role" = ustack-client ]; then
    ip netns exec "$TOPO_CLIENT" "${tmo[@]}" "${stack[@]}" "$BLAST" connect "$TOPO_SERVER_IP" "$port" \
      send "$INTEROP_BYTES" recv --seed 100 >"$cout" 2>"$cerr"
  else
    ip netns exec "$TOPO_SERVER" "${tmo[@]}" "$BLAST" connect "$TOPO_STACK_IP" "$port" \
      send "$INTEROP_BYTES" recv --seed 100 >"$cout" 2>"$cerr"
  fi
  status_c=$?
  wait "$spid"
  status_s=$?
  local secs=$((SECONDS - t0))
  expect_eq "$name: client exits 0" 0 "$status_c"
  expect_eq "$name: server exits 0" 0 "$status_s"
  interop_compare "$name" "client->server" "$cout" "$sout"
  interop_compare "$name" "server->client" "$sout" "$cout"
  interop_capture_check "$name"
  echo "# $name: whole case ${secs}s (connection set-up to both exits)"
  # What the stack's side lost and repaired, for the log (no threshold).
  grep -hE "retransmi|out of order|D-SACK|undone|device dropped" "$cerr" "$serr" 2>/dev/null |
    grep -v "^ *mss" | sed "s/^ */# $name: ustack: /" | head -n 12
  if ((TL_FAILS)) || [ -n "${INTEROP_VERBOSE:-}" ]; then
    echo "# $name: client stderr:"; sed 's/^/     | /' "$cerr" | tail -n 60
    echo "# $name: server stderr:"; sed 's/^/     | /' "$serr" | tail -n 60
  fi
}
