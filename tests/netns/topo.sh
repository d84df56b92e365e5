#!/usr/bin/env bash
# The test network of shared/DESIGN.md, in network namespaces with unique
# names (suffix: this shell's pid, or $TOPO_TAG).
#
# Sourced by tests:
#   source "$USTACK_SRC/tests/netns/topo.sh"
#   trap topo_cleanup EXIT INT TERM
#   topo_direct            # or: topo_routed [--nat] [--loss PCT]
#                          #     topo_impaired [impair options...]
#   ip netns exec "$TOPO_CLIENT" ustack --if uc0 --ip "$TOPO_STACK_IP/24" --gw "$TOPO_GW" -- ...
#
# Run directly, it sets a topology up, runs a command with the TOPO_*
# variables exported, and removes everything again:
#   tests/netns/topo.sh direct -- bash
#
# Topologies (the kernel owns no IPv4 on uc0 and IPv6 is off everywhere):
#   direct:   client ns [uc0] ---- [us0 198.18.0.1/24] server ns
#   routed:   client ns [uc0] ---- [ur0 198.18.0.1/24] router ns [ur1 198.19.0.1/24]
#                                   ---- [us0 198.19.0.10/24] server ns
#             --nat: the router masquerades what leaves ur1
#             --loss PCT: the router drops PCT% of forwarded packets (nftables)
#   impaired: client ns [uc0] ---- [ui0] fwd ns [ui1] ---- [us0 198.18.0.1/24] server ns
#             frames between ui0 and ui1 cross the impair forwarder
# The stack's address is 198.18.0.10 in all three. Every namespace gets
# /etc/netns/NAME/resolv.conf (nameserver 198.18.0.1).

TOPO_TAG=${TOPO_TAG:-$$}
TOPO_NAMESPACES=()
TOPO_PIDS=()
TOPO_STACK_IP=198.18.0.10
TOPO_PREFIX=24

topo_log() { echo "topo: $*" >&2; }

# topo_ns_add NAME: a namespace with loopback up, IPv6 off, its own resolv.conf.
topo_ns_add() {
  local ns=$1
  ip netns add "$ns" || return 1
  TOPO_NAMESPACES+=("$ns")
  mkdir -p "/etc/netns/$ns"
  echo "nameserver 198.18.0.1" > "/etc/netns/$ns/resolv.conf"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# topo_veth NS_A IF_A NS_B IF_B: a veth pair across two namespaces. Created
# directly inside them, so the names never meet in the root namespace.
topo_veth() {
  ip link add name "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  ip netns exec "$3" sysctl -qw "net.ipv6.conf.$4.disable_ipv6=1"
}

# The client side: uc0 up with no IPv4, so the kernel there never answers for
# the stack's address (it would RST the stack's connections).
topo_client() {
  TOPO_CLIENT=usc-$TOPO_TAG
  topo_ns_add "$TOPO_CLIENT"
}

topo_server_ns() {
  TOPO_SERVER=uss-$TOPO_TAG
  topo_ns_add "$TOPO_SERVER"
}

topo_direct() {
  topo_client && topo_server_ns || return 1
  topo_veth "$TOPO_CLIENT" uc0 "$TOPO_SERVER" us0 || return 1
  ip -n "$TOPO_SERVER" addr add 198.18.0.1/24 dev us0
  ip -n "$TOPO_SERVER" link set us0 up
  ip -n "$TOPO_CLIENT" link set uc0 up
  TOPO_SERVER_IP=198.18.0.1
  TOPO_GW=198.18.0.1
  TOPO_KIND=direct
}

topo_routed() {
  local nat=0 loss=0
  while (($#)); do
    case $1 in
      --nat) nat=1 ;;
      --loss) loss=$2; shift ;;
      *) topo_log "topo_routed: unknown option $1"; return 1 ;;
    esac
    shift
  done
  topo_client && topo_server_ns || return 1
  TOPO_ROUTER=usr-$TOPO_TAG
  topo_ns_add "$TOPO_ROUTER" || return 1
  topo_veth "$TOPO_CLIENT" uc0 "$TOPO_ROUTER" ur0 || return 1
  topo_veth "$TOPO_ROUTER" ur1 "$TOPO_SERVER" us0 || return 1
  ip -n "$TOPO_ROUTER" addr add 198.18.0.1/24 dev ur0
  ip -n "$TOPO_ROUTER" addr add 198.19.0.1/24 dev ur1
  ip -n "$TOPO_ROUTER" link set ur0 up
  ip -n "$TOPO_ROUTER" link set ur1 up
  ip netns exec "$TOPO_ROUTER" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$TOPO_SERVER" addr add 198.19.0.10/24 dev us0
  ip -n "$TOPO_SERVER" link set us0 up
  ip -n "$TOPO_SERVER" route add default via 198.19.0.1
  ip -n "$TOPO_CLIENT" link set uc0 up
  if ((nat)); then
    ip netns exec "$TOPO_ROUTER" nft -f - <<'NFT' || return 1
table ip ustack_nat {
  chain postrouting_nat { type nat hook postrouting priority srcnat; oifname "ur1" masquerade; }
}
NFT
  fi
  if ((loss > 0)); then
    local rule="numgen random mod 100 < $loss drop"
    ((loss >= 100)) && rule=drop
    ip netns exec "$TOPO_ROUTER" nft -f - <<NFT || return 1
table inet ustack_loss {
  chain forward_loss { type filter hook forward priority filter; $rule; }
}
NFT
  fi
  TOPO_SERVER_IP=198.19.0.10
  TOPO_ROUTER_IP=198.18.0.1
  TOPO_GW=198.18.0.1
  TOPO_KIND=routed
}

# topo_impaired [impair options]: the direct topology with the impairment
# forwarder in between. Needs the built forwarder: $USTACK_BUILD/bin/impair.
topo_impaired() {
  local impair=${TOPO_IMPAIR:-${USTACK_BUILD:-build}/bin/impair}
  [ -x "$impair" ] || { topo_log "no impair forwarder at $impair (build first)"; return 1; }
  topo_client && topo_server_ns || return 1
  TOPO_FWD=usf-$TOPO_TAG
  topo_ns_add "$TOPO_FWD" || return 1
  topo_veth "$TOPO_CLIENT" uc0 "$TOPO_FWD" ui0 || return 1
  topo_veth "$TOPO_FWD" ui1 "$TOPO_SERVER" us0 || return 1
  ip -n "$TOPO_FWD" link set ui0 up
  ip -n "$TOPO_FWD" link set ui1 up
  ip -n "$TOPO_SERVER" addr add 198.18.0.1/24 dev us0
  ip -n "$TOPO_SERVER" link set us0 up
  ip -n "$TOPO_CLIENT" link set uc0 up
  ip netns exec "$TOPO_FWD" "$impair" ui0 ui1 "$@" &
  TOPO_PIDS+=($!)
  TOPO_SERVER_IP=198.18.0.1
  TOPO_GW=198.18.0.1
  TOPO_KIND=impaired
}

# topo_spawn NS CMD...: run CMD in NS in the background; killed by cleanup.
topo_spawn() {
  local ns=$1; shift
  ip netns exec "$ns" "$@" &
  TOPO_PIDS+=($!)
}

# MAC address of IF in NS.
topo_mac() { ip -n "$1" -br link show dev "$2" | awk '{print $3}'; }

topo_cleanup() {
  local pid ns
  for pid in "${TOPO_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${TOPO_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  TOPO_PIDS=()
  for ns in "${TOPO_NAMESPACES[@]}"; do
    # Processes still inside (a test's leftovers) would keep the veths alive.
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  TOPO_NAMESPACES=()
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  if (($# < 1)) || [ "$(id -u)" != 0 ]; then
    echo "usage (as root): $0 direct|routed [--nat] [--loss PCT]|impaired [impair options] -- COMMAND..." >&2
    exit 2
  fi
  kind=$1; shift
  args=()
  while (($#)) && [ "$1" != -- ]; do args+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  trap topo_cleanup EXIT
  trap 'exit 130' INT TERM
  "topo_$kind" "${args[@]}" || exit 1
  export TOPO_CLIENT TOPO_SERVER TOPO_SERVER_IP TOPO_GW TOPO_STACK_IP TOPO_PREFIX TOPO_KIND
  export TOPO_ROUTER=${TOPO_ROUTER:-} TOPO_FWD=${TOPO_FWD:-}
  if (($#)); then "$@"; else ${SHELL:-bash}; fi
fi
