/* Stack counters, like `netstat -s`: every drop is counted by its reason.
 * One X-macro list; each module owns its own block of lines. */
#ifndef USTACK_COUNTERS_H
#define USTACK_COUNTERS_H

#define US_COUNTERS(X)                                             \
  /* the device (us_stack_read_device) */                          \
  X(DEV_RX_DROP, "device dropped: receive ring full (the kernel had no room)") \
  X(DEV_RX_TRUNC, "device dropped: frame larger than a receive slot") \
  X(DEV_TX_DROP, "device dropped: send refused or no room")        \
  X(DEV_RX_OWN, "device dropped: our own frame, handed back by the kernel") \
  X(DEV_RX_LOCAL, "device frames another sender on this interface sent (a stack, the kernel)") \
  /* eth */                                                        \
  X(ETH_RX, "eth frames received")                                 \
  X(ETH_TX, "eth frames sent")                                     \
  X(ETH_DROP_SHORT, "eth dropped: shorter than a header")          \
  X(ETH_DROP_NOT_US, "eth dropped: destination MAC not ours")      \
  X(ETH_DROP_PROTO, "eth dropped: unknown ethertype")              \
  /* arp: add below */                                             \
  X(ARP_RX, "arp packets received")                         \
  X(ARP_TX, "arp packets sent")                             \
  X(ARP_DROP_SHORT, "arp dropped: truncated")               \
  X(ARP_DROP_FORMAT, "arp dropped: not ethernet/ipv4")      \
  X(ARP_DROP_OP, "arp dropped: unknown opcode")             \
  X(ARP_DROP_OWN, "arp dropped: our own (our MAC, our address)")       \
  X(ARP_DROP_BAD_SENDER, "arp dropped: broadcast/multicast/zero sender") \
  X(ARP_UNSOLICITED, "arp replies nobody asked for (no entry made)") \
  X(ARP_NOT_FOR_US, "arp requests for other addresses")     \
  X(ARP_CONFLICT, "arp from another host claiming our address") \
  X(ARP_REQ_SENT, "arp requests sent")                      \
  X(ARP_REPLY_SENT, "arp replies sent")                     \
  X(ARP_RESOLVED, "arp resolutions completed")              \
  X(ARP_FAILED, "arp resolutions failed")                   \
  X(ARP_QUEUE_DROP, "arp dropped: waiting queue full")      \
  X(ARP_TABLE_FULL, "arp dropped: table full")              \
  X(ARP_NOMEM, "arp dropped: out of memory")                \
  /* ipv4: add below */                                            \
  X(IPV4_RX, "ipv4 datagrams received")                     \
  X(IPV4_TX, "ipv4 datagrams sent")                         \
  X(IPV4_DROP_SHORT, "ipv4 dropped: truncated")             \
  X(IPV4_DROP_VERSION, "ipv4 dropped: not version 4")       \
  X(IPV4_DROP_HDRLEN, "ipv4 dropped: bad header length")    \
  X(IPV4_DROP_TOTLEN, "ipv4 dropped: bad total length")     \
  X(IPV4_DROP_CSUM, "ipv4 dropped: bad header checksum")    \
  X(IPV4_DROP_OPTIONS, "ipv4 dropped: bad or refused options") \
  X(IPV4_RX_OPTIONS, "ipv4 received with options (skipped)") \
  X(IPV4_DROP_NOT_US, "ipv4 dropped: destination not ours") \
  X(IPV4_DROP_MARTIAN, "ipv4 dropped: impossible source")   \
  X(IPV4_DROP_PROTO, "ipv4 dropped: unknown protocol")      \
  X(IPV4_TX_NOROUTE, "ipv4 send failed: no route")          \
  X(IPV4_TX_MSGSIZE, "ipv4 send failed: too big with DF")   \
  X(IPV4_TX_NOMEM, "ipv4 send failed: out of memory")       \
  X(IPV4_FRAG_RX, "ipv4 fragments received")                \
  X(IPV4_FRAG_OK, "ipv4 datagrams reassembled")             \
  X(IPV4_FRAG_DUP, "ipv4 fragments dropped: exact duplicate") \
  X(IPV4_FRAG_OVERLAP, "ipv4 datagrams dropped: overlapping fragments") \
  X(IPV4_FRAG_OVERSIZE, "ipv4 datagrams dropped: reassembly over 64 KiB") \
  X(IPV4_FRAG_BAD, "ipv4 fragments dropped: inconsistent length") \
  X(IPV4_FRAG_TIMEOUT, "ipv4 datagrams dropped: reassembly timeout") \
  X(IPV4_FRAG_MEM, "ipv4 datagrams dropped: reassembly memory limit") \
  X(IPV4_FRAG_TOO_MANY, "ipv4 datagrams dropped: too many fragments") \
  X(IPV4_FRAG_DEAD, "ipv4 fragments dropped: datagram already discarded") \
  X(IPV4_FRAGS_SENT, "ipv4 fragments sent")                \
  X(IPV4_LOOP, "ipv4 datagrams to our own address (looped)") \
  X(IPV4_LOOP_DROP, "ipv4 dropped: loopback queue full")                 \
  /* icmp: add below */                                            \
  X(ICMP_RX, "icmp messages received")                      \
  X(ICMP_TX, "icmp messages sent")                          \
  X(ICMP_DROP_SHORT, "icmp dropped: truncated")             \
  X(ICMP_DROP_CSUM, "icmp dropped: bad checksum")           \
  X(ICMP_DROP_TYPE, "icmp ignored: unhandled type")         \
  X(ICMP_DROP_BCAST, "icmp echo to broadcast ignored")      \
  X(ICMP_DROP_INNER, "icmp error dropped: bad quoted datagram") \
  X(ICMP_ECHO_RX, "icmp echo requests received")            \
  X(ICMP_ECHO_REPLY_RX, "icmp echo replies received")       \
  X(ICMP_ERR_RX, "icmp errors received and delivered")      \
  X(ICMP_ERR_TX, "icmp errors sent")                        \
  X(ICMP_RATELIMIT, "icmp errors not sent: rate limit")     \
  /* udp: add below */                                             \
  X(UDP_RX, "udp datagrams received")                       \
  X(UDP_TX, "udp datagrams sent")                           \
  X(UDP_DROP_SHORT, "udp dropped: truncated")               \
  X(UDP_DROP_LEN, "udp dropped: bad length field")          \
  X(UDP_DROP_CSUM, "udp dropped: bad checksum")             \
  X(UDP_NO_PORT, "udp dropped: no socket (port unreachable)") \
  X(UDP_ERR_RX, "udp errors delivered to a socket")         \
  X(UDP_DROP_UNFRAMED, "udp dropped: program message without the channel key (written around the interposer)") \
  /* tcp: add below */                                             \
  X(TCP_RX, "tcp segments received")                          \
  X(TCP_ACK_PROGRESS, "tcp ACKs that acknowledged new data")  \
  X(TCP_TX, "tcp segments sent")                              \
  X(TCP_DROP_SHORT, "tcp dropped: shorter than a header")     \
  X(TCP_DROP_DOFF, "tcp dropped: data offset bad")            \
  X(TCP_DROP_CSUM, "tcp dropped: bad checksum")               \
  X(TCP_DROP_BCAST, "tcp dropped: not for a unicast address of ours") \
  X(TCP_DROP_FLAGS, "tcp dropped: impossible flag combination") \
  X(TCP_RST_NOCONN, "tcp RST sent: segment for no connection") \
  X(TCP_OPT_BAD_LEN, "tcp options: bad length, rest ignored") \
  X(TCP_OPT_BAD_SIZE, "tcp options: wrong size for kind, ignored") \
  X(TCP_OPT_BAD_WSCALE, "tcp options: window scale above 14, clamped") \
  X(TCP_OPT_BAD_MSS, "tcp options: MSS of 0, ignored")        \
  X(TCP_SACK_BAD, "tcp SACK blocks outside the window ignored") \
  X(TCP_DROP_OUTWIN, "tcp dropped: outside the receive window") \
  X(TCP_DROP_PAWS, "tcp dropped: PAWS (old timestamp)")       \
  X(TCP_DROP_ACK_OLD, "tcp dropped: ACK below the acceptable range") \
  X(TCP_DROP_ACK_FUTURE, "tcp dropped: ACK of data never sent") \
  X(TCP_DROP_SYNRECV, "tcp dropped: bad segment in SYN-RECEIVED") \
  X(TCP_DROP_NOMEM, "tcp dropped: no memory")                 \
  X(TCP_CHALLENGE_ACK, "tcp challenge ACKs sent (RFC 5961)")  \
  X(TCP_CHALLENGE_LIMIT, "tcp challenge ACKs suppressed by rate limit") \
  X(TCP_RST_IGNORED, "tcp RST ignored (outside the window)")  \
  X(TCP_RST_RX, "tcp connections reset by the peer")          \
  X(TCP_RST_TX, "tcp RSTs sent on connections")               \
  X(TCP_SYN_IGNORED, "tcp SYN in a synchronized state answered with challenge ACK") \
  X(TCP_DUP_DATA, "tcp segments with only duplicate data")    \
  X(TCP_OOO, "tcp out-of-order segments queued")              \
  X(TCP_OOO_DROP, "tcp out-of-order segments dropped (queue full)") \
  X(TCP_ZWIN_DROP, "tcp data dropped: receive window closed") \
  X(TCP_RETRANS, "tcp segments retransmitted")                \
  X(TCP_RTO, "tcp retransmission timeouts")                   \
  X(TCP_RECOVERY, "tcp fast recovery episodes")               \
  X(TCP_SACK_RECOVERY, "tcp recovery episodes with SACK")     \
  X(TCP_ZWP, "tcp zero-window probes sent")                   \
  X(TCP_KEEPALIVE, "tcp keepalive probes sent")               \
  X(TCP_TIMEOUT, "tcp connections timed out")                 \
  X(TCP_ACTIVE_OPEN, "tcp active opens")                      \
  X(TCP_PASSIVE_OPEN, "tcp passive opens (SYN accepted)")     \
  X(TCP_ESTABLISHED, "tcp connections established")           \
  X(TCP_SYNQ_DROP, "tcp SYN-RECEIVED entries dropped early (SYN queue full)") \
  X(TCP_ACCEPTQ_FULL, "tcp handshake ACK dropped: accept queue full") \
  X(TCP_SYNCOOKIE_SENT, "tcp SYN cookies sent")               \
  X(TCP_SYNCOOKIE_OK, "tcp SYN cookies validated")            \
  X(TCP_SYNCOOKIE_BAD, "tcp ACKs with a bad SYN cookie")      \
  X(TCP_TW_REUSE, "tcp TIME-WAIT connections reused by a new SYN") \
  X(TCP_TW_FIN, "tcp retransmitted FIN answered in TIME-WAIT") \
  X(TCP_TLP, "tcp tail loss probes sent (RFC 8985)")         \
  X(TCP_LOST_RETRANS, "tcp lost retransmissions detected")    \
  X(TCP_RACK_LOST, "tcp losses found by RACK (RFC 8985)")     \
  X(TCP_DSACK_TX, "tcp D-SACKs sent (duplicate data, RFC 2883)") \
  X(TCP_DSACK_RX, "tcp D-SACKs received for retransmitted data") \
  X(TCP_UNDO, "tcp congestion responses undone (every resend spurious)") \
  X(TCP_ECN_CE, "tcp segments received marked CE (ECN congestion)") \
  X(TCP_ECN_ECE, "tcp cwnd reductions on ECN-Echo") \
  /* dns: add below */                                             \
  X(DNS_QUERY_TX, "dns queries sent (retries included)")         \
  X(DNS_RETRY, "dns queries resent after a timeout or error")    \
  X(DNS_SEND_ERR, "dns queries the UDP layer refused to send")   \
  X(DNS_ANSWER_OK, "dns answers accepted")                       \
  X(DNS_BAD_SOURCE, "dns answers dropped: not from the server asked") \
  X(DNS_BAD_ID, "dns answers dropped: wrong query id")           \
  X(DNS_BAD_QUESTION, "dns answers dropped: not for the question asked") \
  X(DNS_BAD_NOT_RESPONSE, "dns answers dropped: not a response (QR=0, opcode)") \
  X(DNS_BAD_SHORT, "dns answers dropped: length past the packet") \
  X(DNS_BAD_POINTER, "dns answers dropped: compression pointer out of range") \
  X(DNS_BAD_LOOP, "dns answers dropped: compression loop or forward pointer") \
  X(DNS_BAD_LABEL, "dns answers dropped: bad label length or type") \
  X(DNS_BAD_NAME_LONG, "dns answers dropped: name over 255 bytes") \
  X(DNS_BAD_RDATA, "dns answers dropped: rdata inconsistent with type") \
  X(DNS_BAD_NAME_TEXT, "dns answers dropped: name not a host name") \
  X(DNS_LATE, "dns answers dropped: query already finished")     \
  X(DNS_TRUNCATED, "dns answers truncated (TC)")                \
  X(DNS_TCP, "dns questions asked again over TCP after TC")     \
  X(DNS_TCP_FAIL, "dns TCP retries failed: truncated answer used") \
  X(DNS_CNAME_LOOP, "dns answers with a CNAME chain too long")   \
  X(DNS_ICMP_ERR, "dns queries answered by an ICMP error")       \
  X(DNS_NXDOMAIN, "dns answers: no such name")                   \
  X(DNS_SERVFAIL, "dns answers: server failure")                 \
  X(DNS_REFUSED, "dns answers: refused, formerr or notimp")      \
  X(DNS_TIMEOUT, "dns questions unanswered after all attempts")  \
  X(DNS_CACHE_HIT, "dns cache hits")                              \
  X(DNS_CACHE_MISS, "dns cache misses")                           \
  X(DNS_CACHE_EVICT, "dns cache entries evicted before expiry")  \
  X(DNS_NOMEM, "dns queries failed: out of memory")

enum us_counter {
#define US_COUNTER_ENUM(name, desc) US_CNT_##name,
  US_COUNTERS(US_COUNTER_ENUM)
#undef US_COUNTER_ENUM
  US_CNT__MAX
};

#endif
