/* The control protocol between a program (libustack.so) and the stack host.
 *
 * One fixed-size message each way over an AF_UNIX connection: the program
 * sends a request, the host answers with a message of the same layout and the
 * same op. New fds (a socket's channel, an accept channel) travel with the
 * answer as SCM_RIGHTS. Messages always have the full fixed size, so the
 * framing is the same on SOCK_STREAM and SOCK_SEQPACKET. All multi-byte
 * fields are host byte order except ip and port, which are network order as
 * in a sockaddr_in. The peer's uid is checked with SO_PEERCRED on accept. */
#ifndef USTACK_SHIM_CTL_PROTO_H
#define USTACK_SHIM_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define US_CTL_MAGIC 0x31746375u /* "uct1" */
#define US_CTL_DATA_MAX 1024
/* Upper bound on a host name in a request (RFC 1035: 255 octets). */
#define US_CTL_NAME_MAX 255

enum us_ctl_op {
  US_CTL_SOCKET = 1, /* a = SOCK_STREAM/SOCK_DGRAM -> sock id, fd (channel);
                        SOCK_DGRAM: data = the channel's key (uint64_t, shim/dgram.h) */
  US_CTL_BIND,       /* sock, ip, port -> err */
  US_CTL_LISTEN,     /* sock, a = backlog -> err, fd (accept channel) */
  US_CTL_CONNECT,    /* sock, ip, port, a = filler bytes queued on the channel
                        -> err (0: under way; completion drains the filler) */
  US_CTL_SHUTDOWN,   /* sock, a = SHUT_RD/WR/RDWR -> err */
  US_CTL_GETERR,     /* sock, a = 1 to clear -> a = pending error (SO_ERROR) */
  US_CTL_GETNAME,    /* sock, a = 0 local, 1 peer -> ip, port, err ENOTCONN */
  US_CTL_GETOPT,     /* sock, a = level, b = optname -> a = int value, or data */
  US_CTL_SETOPT,     /* sock, a = level, b = optname, data = value -> err */
  US_CTL_RESOLVE,    /* data = name (NUL-terminated), a = AF_INET/AF_INET6/AF_UNSPEC
                        -> a = EAI_* (0 ok), data = us_ctl_addrs */
  US_CTL_RESOLVE_PTR,/* ip -> a = EAI_*, data = name */
  US_CTL_STATE,      /* sock, a = US_CTL_CLEAR* -> a = connect state (US_CTL_ST_*),
                        err = pending error */
  US_CTL_STATS,      /* (`ustack ss`) -> a = host pid, fd: a memory file with the live
                        connections and counters as text (shim/stats_ctl.c) */
  US_CTL_DGRAM_KEY,  /* sock (SOCK_DGRAM) -> data = the channel's key (uint64_t), as the
                        socket() answer gave it: for an fd known only by its id */
  US_CTL_LINGER,     /* sock (closed by the program, SO_LINGER > 0) -> a = 1: nothing
                        to wait for (not the last close, or already over); else
                        fd: it hangs up once the close is over (FIN acknowledged
                        or the connection ended) */
  US_CTL_RECOGNISE,  /* a = n, data = n uint64_t inodes of AF_UNIX sockets a program
                        inherited across exec -> a = n, b = sizeof(struct
                        us_ctl_sockinfo), data = n of them, in the same order */
  US_CTL_RENEW,      /* sock whose connect failed -> err, fd: a new channel, so that
                        it may connect again as on Linux (options and binding kept) */
  US_CTL__MAX
};

/* US_CTL_RECOGNISE: inodes per request. Each answer entry may grow to
 * US_CTL_DATA_MAX / US_CTL_RECOGNISE_MAX bytes; a reader takes the fields it
 * knows (the first min(b, its sizeof) bytes of each). */
#define US_CTL_RECOGNISE_MAX 32

/* What the stack knows of one program socket, by the inode of the channel's
 * program end (the fd itself is all that survives an exec). sock == 0: not
 * one of ours (an ordinary AF_UNIX socket). */
struct us_ctl_sockinfo {
  uint32_t sock;
  uint8_t type;   /* SOCK_STREAM or SOCK_DGRAM */
  uint8_t family; /* AF_INET or AF_INET6, as the program asked */
  uint8_t state;  /* US_CTL_ST_*; a TCP connection that completed and then
                     ended reads CONNECTED (its error is for the calls after) */
  uint8_t flags;  /* US_CTL_SI_* */
};
#define US_CTL_SI_REUSEADDR 1
#define US_CTL_SI_BROADCAST 2

/* flags of US_CTL_CONNECT: the destination is 127.0.0.0/8. The answer
 * sets US_CTL_F_KERNEL (with an error) when no ustack listener has that
 * port, so the program hands the socket to the kernel's loopback. */
#define US_CTL_F_LOOPBACK 1
#define US_CTL_F_KERNEL 2
/* flags of a request on a socket (US_CTL_SETOPT only, for now): the caller
 * does not wait, and the host sends no answer. For calls that cannot fail,
 * so that a program toggling TCP_CORK around every response (nginx) does not
 * pay two thread wake-ups per toggle. Requests on one connection are handled
 * in order, so a later call sees the option set. */
#define US_CTL_F_POSTED 4
/* flags of US_CTL_SETOPT (IPPROTO_TCP, TCP_CORK): the cork is send(MSG_MORE)'s,
 * not the program's TCP_CORK. Set (a call) before the first MSG_MORE bytes
 * enter the channel; cleared (posted) after the next bytes without it. The
 * stack first moves what the channel holds into TCP, so those bytes are
 * the ones corked (or released). */
#define US_CTL_F_MORE 8

/* a of a US_CTL_STATE request: keep the pending error, take it (SO_ERROR),
 * or take it only if the connect failed (the end of a blocking connect). */
enum { US_CTL_KEEP = 0, US_CTL_CLEAR = 1, US_CTL_CLEAR_IF_FAILED = 2 };

/* Answer of US_CTL_STATE. */
enum { US_CTL_ST_NONE = 0, US_CTL_ST_CONNECTING, US_CTL_ST_CONNECTED, US_CTL_ST_FAILED,
       US_CTL_ST_LISTENING, US_CTL_ST_CLOSED };

struct us_ctl_msg {
  uint32_t magic;
  uint16_t op;
  uint16_t len;  /* bytes of data in use */
  uint32_t sock; /* stack-side socket id */
  int32_t err;   /* answers: 0 or a positive errno */
  int32_t a, b;  /* op-specific */
  uint32_t ip;   /* network byte order */
  uint16_t port; /* network byte order */
  uint16_t flags;
  uint8_t data[US_CTL_DATA_MAX];
};

/* Payload of a RESOLVE answer. */
#define US_CTL_ADDRS_MAX 32
struct us_ctl_addrs {
  uint16_t n4, n6;
  uint32_t v4[US_CTL_ADDRS_MAX];          /* network byte order */
  uint8_t v6[US_CTL_ADDRS_MAX / 4][16];
  char canon[US_CTL_NAME_MAX + 1];
};
#ifndef __cplusplus
_Static_assert(sizeof(struct us_ctl_addrs) <= US_CTL_DATA_MAX, "addrs fit a message");
#endif

/* A message on an accept channel (SOCK_SEQPACKET): one accepted connection,
 * its channel fd attached as SCM_RIGHTS. */
struct us_ctl_accept {
  uint32_t magic;
  uint32_t sock;     /* the new connection's socket id */
  uint32_t peer_ip;  /* network byte order */
  uint16_t peer_port;
  uint16_t pad;
};

void us_ctl_init(struct us_ctl_msg *m, enum us_ctl_op op, uint32_t sock);
/* Copies len bytes into data. Returns 0 or -EMSGSIZE. */
int us_ctl_set_data(struct us_ctl_msg *m, const void *data, size_t len);
/* Checks an incoming message: magic, op in range, len within data.
 * Returns 0 or -EPROTO. */
int us_ctl_validate(const struct us_ctl_msg *m);

/* Sends m whole; pass_fd >= 0 goes along as SCM_RIGHTS. Retries EINTR, waits
 * on a full blocking socket. Returns 0 or a negative errno (-EAGAIN only on
 * a non-blocking socket before any byte was sent). */
int us_ctl_send(int fd, const struct us_ctl_msg *m, int pass_fd);
/* Receives exactly one message (blocking). *got_fd is the fd that came with
 * it (close-on-exec) or -1; extra fds are closed. Returns 0, -ECONNRESET on
 * EOF, -EPROTO on a malformed message, or a negative errno. */
int us_ctl_recv(int fd, struct us_ctl_msg *m, int *got_fd);

/* Incremental receive for a non-blocking server: feed what recvmsg gives.
 * Returns 1 when *m is complete (and valid), 0 when more bytes are needed,
 * or a negative errno (-ECONNRESET on EOF, -EPROTO, -EAGAIN). */
struct us_ctl_rxbuf {
  size_t have;
  int fd; /* fd received with the current message, -1 if none */
  struct us_ctl_msg msg;
};
void us_ctl_rxbuf_init(struct us_ctl_rxbuf *rb);
int us_ctl_rx(int fd, struct us_ctl_rxbuf *rb);

/* Sends / receives one accept-channel message with its fd. */
int us_ctl_send_accept(int chan, const struct us_ctl_accept *a, int pass_fd);
/* flags: MSG_DONTWAIT and/or MSG_CMSG_CLOEXEC. Returns 0 or a negative errno. */
int us_ctl_recv_accept(int chan, struct us_ctl_accept *a, int *got_fd, int flags);

/* 0 if the peer of a connected AF_UNIX socket runs as uid, else -EPERM. */
int us_ctl_check_peer(int fd, uid_t uid);

#endif
