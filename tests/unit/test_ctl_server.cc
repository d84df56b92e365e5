// The stack side of the control protocol, end to end on one thread: the
// server runs on a libuv loop we turn by hand, its stack (A) talks over the
// in-memory wire to a peer stack (B) driven through the TCP socket API, and
// the test plays the program: it sends requests and uses the channel fds.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <cstring>
#include <functional>
#include <string>

#include "twostack.h"

extern "C" {
#include "shim/chan_end.h"
#include "shim/ctl_proto.h"
#include "shim/ctl_server.h"
#include "shim/dgram.h"
#include "shim/fdtable.h"
#include "stack/tcp_sock.h"
#include "stack/udp.h"
}

#include <vector>

namespace {

using ustest::TwoStack;

// A TCP endpoint on stack B: listens or connects, keeps what it receives.
struct Peer {
  us_tcp_sock *l = nullptr, *c = nullptr;
  std::string got;
  bool reading = true, eof = false, connected = false;
  int err = 0;

  static void cb(void *user, us_tcp_sock *t, uint32_t ev, int err) {
    auto *p = static_cast<Peer *>(user);
    if (ev & US_TCP_EV_ACCEPT) {
      int e = 0;
      if (us_tcp_sock *n = us_tcp_accept(p->l, &e)) {
        p->c = n;
        us_tcp_set_callback(n, cb, p);
        p->connected = true;
      }
    }
    if (ev & US_TCP_EV_CONNECTED) p->connected = true;
    if (ev & US_TCP_EV_ERROR) p->err = err;
    if (t == p->c && (ev & US_TCP_EV_READABLE)) p->drain();
  }
  void drain() {
    if (!c || !reading) return;
    char buf[65536];
    ssize_t n;
    while ((n = us_tcp_recv(c, buf, sizeof buf)) > 0) got.append(buf, (size_t)n);
    if (n == 0) eof = true;
  }
};

class CtlServer : public ::testing::Test {
 protected:
  TwoStack t;
  uv_loop_t loop;
  std::string path;
  int lfd = -1, cfd = -1;
  us_ctl_server *srv = nullptr;

  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop), 0);
    path = "/tmp/ustack-ctl-test." + std::to_string(getpid());
    unlink(path.c_str());
    lfd = listen_at(path);
    ASSERT_GE(lfd, 0);
    srv = us_ctl_server_start(&loop, t.a, lfd, getuid());
    us_fd_bypass = 0; // the server marks its thread; here that is the test's
    ASSERT_NE(srv, nullptr);
    cfd = connect_to(path);
    ASSERT_GE(cfd, 0);
  }
  void TearDown() override {
    if (cfd >= 0) close(cfd);
    us_ctl_server_stop(srv);
    for (int i = 0; i < 4; i++) uv_run(&loop, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
    close(lfd);
    unlink(path.c_str());
  }

  static int listen_at(const std::string &p) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p.c_str());
    if (bind(fd, (sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) return -1;
    return fd;
  }
  static int connect_to(const std::string &p) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p.c_str());
    return connect(fd, (sockaddr *)&sa, sizeof sa) == 0 ? fd : -1;
  }

  // One turn of everything: the server's loop, then 1 ms of virtual time.
  void turn() {
    uv_run(&loop, UV_RUN_NOWAIT);
    t.run_for(US_MS(1));
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  bool turn_until(const std::function<bool()> &pred, int max_turns = 20000) {
    for (int i = 0; i < max_turns; i++) {
      if (pred()) return true;
      turn();
    }
    return pred();
  }
  static bool ready(int fd, short ev) {
    pollfd p = {fd, ev, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (ev | POLLHUP | POLLERR));
  }

  // Request/answer over the control connection, turning the loop meanwhile.
  us_ctl_msg call(us_ctl_msg m, int *got_fd = nullptr) {
    EXPECT_EQ(us_ctl_send(cfd, &m, -1), 0);
    EXPECT_TRUE(turn_until([&] { return ready(cfd, POLLIN); }));
    us_ctl_msg r{};
    EXPECT_EQ(us_ctl_recv(cfd, &r, got_fd), 0);
    EXPECT_EQ(r.op, m.op);
    return r;
  }
  us_ctl_msg req(int op, uint32_t sock = 0, int a = 0, int b = 0, uint32_t ip = 0,
                 uint16_t port = 0) {
    us_ctl_msg m;
    us_ctl_init(&m, (us_ctl_op)op, sock);
    m.a = a;
    m.b = b;
    m.ip = ip;
    m.port = port;
    return m;
  }

  // A new stream socket: its id and the program end of its channel.
  uint32_t new_socket(int *fd) {
    us_ctl_msg r = call(req(US_CTL_SOCKET, 0, SOCK_STREAM), fd);
    EXPECT_EQ(r.err, 0);
    EXPECT_GE(*fd, 0);
    return r.sock;
  }

  // What the interposer does for a connect: make the channel unwritable with
  // filler bytes, then ask. Returns the filler count.
  int fill(int fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
    int n = 0;
    char z = 0;
    while (n < 64 && send(fd, &z, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) n++;
    return n;
  }
  void unfill(int fd) {
    int v = 106496;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }

  uint32_t connect_to_peer(Peer &peer, uint16_t port, int *fd) {
    uint32_t id = new_socket(fd);
    int n = fill(*fd);
    EXPECT_FALSE(ready(*fd, POLLOUT)) << "filled channel must not be writable";
    us_ctl_msg r = call(req(US_CTL_CONNECT, id, n, 0, htonl(TwoStack::kIpB), htons(port)));
    EXPECT_EQ(r.err, 0);
    EXPECT_TRUE(turn_until([&] { return ready(*fd, POLLOUT); }));
    unfill(*fd);
    return id;
  }
};

Peer *listen_on_b(TwoStack &t, Peer &p, uint16_t port) {
  p.l = us_tcp_socket(t.b, Peer::cb, &p);
  EXPECT_EQ(us_tcp_bind(p.l, 0, port), 0);
  EXPECT_EQ(us_tcp_listen(p.l, 8), 0);
  return &p;
}

TEST_F(CtlServer, StreamBothWaysAndCloses) {
  Peer peer;
  listen_on_b(t, peer, 80);
  int fd;
  uint32_t id = connect_to_peer(peer, 80, &fd);
  us_ctl_msg st = call(req(US_CTL_STATE, id, 1));
  EXPECT_EQ(st.a, US_CTL_ST_CONNECTED);
  EXPECT_EQ(st.err, 0);
  us_ctl_msg nm = call(req(US_CTL_GETNAME, id, 1));
  EXPECT_EQ(ntohl(nm.ip), TwoStack::kIpB);
  EXPECT_EQ(ntohs(nm.port), 80);

  ASSERT_EQ(write(fd, "hello", 5), 5);
  ASSERT_TRUE(turn_until([&] { return peer.got == "hello"; })) << peer.got;
  ASSERT_EQ(us_tcp_send(peer.c, "world", 5), 5);
  char buf[16] = {0};
  ASSERT_TRUE(turn_until([&] { return ready(fd, POLLIN); }));
  EXPECT_EQ(read(fd, buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "world");

  // Our EOF becomes a FIN; the peer's FIN becomes EOF on the channel.
  shutdown(fd, SHUT_WR);
  ASSERT_TRUE(turn_until([&] { return peer.eof; }));
  us_tcp_shutdown(peer.c, SHUT_WR);
  ASSERT_TRUE(turn_until([&] { return ready(fd, POLLIN); }));
  EXPECT_EQ(read(fd, buf, sizeof buf), 0);
  close(fd);
  EXPECT_TRUE(turn_until([&] { return us_ctl_server_busy(srv) == 0; }));
  us_tcp_close(peer.c);
  us_tcp_close(peer.l);
}

TEST_F(CtlServer, BackpressureEndToEnd) {
  Peer peer;
  listen_on_b(t, peer, 80);
  peer.reading = false; // the far end stops reading
  int fd;
  connect_to_peer(peer, 80, &fd);
  // Write until the channel stays full: the stack must stop reading it once
  // TCP's send buffer and the peer's window are full.
  std::string sent;
  int stuck = 0;
  for (uint32_t seq = 0; stuck < 200 && sent.size() < (64u << 20);) {
    char chunk[4096];
    for (size_t i = 0; i < sizeof chunk; i += 4, seq++) memcpy(chunk + i, &seq, 4);
    ssize_t n = send(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      sent.append(chunk, (size_t)n);
      seq -= (uint32_t)((sizeof chunk - (size_t)n) / 4);
      stuck = 0;
    } else {
      stuck++;
      turn();
    }
  }
  EXPECT_LT(sent.size(), 64u << 20) << "the channel never filled: no backpressure";
  EXPECT_GT(sent.size(), 100000u);
  // The peer reads again: everything arrives, in order, and writing resumes.
  peer.reading = true;
  peer.drain();
  ASSERT_TRUE(turn_until([&] {
    peer.drain();
    return peer.got.size() == sent.size();
  }));
  EXPECT_TRUE(peer.got == sent);
  EXPECT_TRUE(ready(fd, POLLOUT));
  close(fd);
  us_tcp_close(peer.c);
  us_tcp_close(peer.l);
}

// A reset while the program is behind: the bytes TCP received but the full
// channel could not take yet are still delivered, then the error - as
// Linux's receive queue stays readable after a RST. Before, they were lost
// and the program saw a short stream.
TEST_F(CtlServer, ResetKeepsBytesReceivedBeforeIt) {
  Peer peer;
  listen_on_b(t, peer, 80);
  int fd;
  uint32_t id = connect_to_peer(peer, 80, &fd);
  ASSERT_TRUE(turn_until([&] { return peer.c != nullptr; }));
  std::string sent;
  for (uint32_t i = 0; sent.size() < (16u << 20); i++) sent.append((const char *)&i, 4);
  // The program reads nothing: the channel fills, then TCP's receive buffer,
  // then the window closes and the peer can send no more.
  size_t off = 0;
  int stuck = 0;
  while (stuck < 300 && off < sent.size()) {
    ssize_t n = us_tcp_send(peer.c, sent.data() + off, sent.size() - off);
    if (n > 0) {
      off += (size_t)n;
      stuck = 0;
    } else {
      stuck++;
    }
    turn();
  }
  us_tcp_info pi;
  us_tcp_get_info(peer.c, &pi);
  const uint64_t delivered = pi.tcpi_bytes_acked;  // what our stack took in
  us_tcp_abort(peer.c);  // RST
  peer.c = nullptr;
  std::string got;
  int err = 0;
  ASSERT_TRUE(turn_until([&] {
    char buf[65536];
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        got.append(buf, (size_t)n);
        continue;
      }
      if (n == 0) {
        err = call(req(US_CTL_STATE, id, US_CTL_CLEAR)).err;
        return true;
      }
      return false;
    }
  }, 2000));
  int chan_buf = 0;
  socklen_t l = sizeof chan_buf;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &chan_buf, &l);
  EXPECT_GT(delivered, (uint64_t)chan_buf) << "TCP must hold back more than the channel";
  EXPECT_EQ(got.size(), delivered) << "every byte TCP acknowledged reaches the program";
  EXPECT_TRUE(got == sent.substr(0, got.size())) << "in order";
  EXPECT_EQ(err, ECONNRESET);
  close(fd);
  us_tcp_close(peer.l);
}

TEST_F(CtlServer, RefusedConnectReportsError) {
  int fd;
  uint32_t id = new_socket(&fd);
  int n = fill(fd);
  us_ctl_msg r = call(req(US_CTL_CONNECT, id, n, 0, htonl(TwoStack::kIpB), htons(81)));
  EXPECT_EQ(r.err, 0);
  ASSERT_TRUE(turn_until([&] { return ready(fd, POLLOUT); }));
  us_ctl_msg st = call(req(US_CTL_STATE, id, 1));
  EXPECT_EQ(st.a, US_CTL_ST_FAILED);
  EXPECT_EQ(st.err, ECONNREFUSED);
  st = call(req(US_CTL_STATE, id, 1));
  EXPECT_EQ(st.err, 0) << "SO_ERROR is cleared once read";
  close(fd);
}

TEST_F(CtlServer, ListenAndAccept) {
  int fd;
  uint32_t id = new_socket(&fd);
  EXPECT_EQ(call(req(US_CTL_BIND, id, 0, 0, 0, htons(8080))).err, 0);
  int acc = -1;
  us_ctl_msg r = call(req(US_CTL_LISTEN, id, 16), &acc);
  ASSERT_EQ(r.err, 0);
  ASSERT_GE(acc, 0);
  close(fd); // the program replaces its stream channel with the accept channel
  EXPECT_FALSE(ready(acc, POLLIN));
  Peer peer;
  peer.c = us_tcp_socket(t.b, Peer::cb, &peer);
  ASSERT_EQ(us_tcp_connect(peer.c, TwoStack::kIpA, 8080), -EINPROGRESS);
  ASSERT_TRUE(turn_until([&] { return ready(acc, POLLIN); }));
  us_ctl_accept a{};
  int conn = -1;
  ASSERT_EQ(us_ctl_recv_accept(acc, &a, &conn, MSG_DONTWAIT), 0);
  EXPECT_EQ(ntohl(a.peer_ip), TwoStack::kIpB);
  ASSERT_EQ(write(conn, "hi", 2), 2);
  ASSERT_TRUE(turn_until([&] { return peer.got == "hi"; }));
  close(conn);
  close(acc);
  ASSERT_TRUE(turn_until([&] { return peer.eof; }));
  EXPECT_TRUE(turn_until([&] { return us_ctl_server_busy(srv) == 0; }));
  us_tcp_close(peer.c);
}

// A posted setsockopt (TCP_CORK around every nginx response) gets no
// answer; the next request on the connection is answered and sees it set.
TEST_F(CtlServer, PostedSetoptHasNoAnswerAndIsInOrder) {
  int fd;
  uint32_t id = new_socket(&fd);
  us_ctl_msg m = req(US_CTL_SETOPT, id, IPPROTO_TCP, 3 /* TCP_CORK */);
  int one = 1;
  us_ctl_set_data(&m, &one, sizeof one);
  m.flags = US_CTL_F_POSTED;
  ASSERT_EQ(us_ctl_send(cfd, &m, -1), 0);
  for (int i = 0; i < 50; i++) turn();
  EXPECT_FALSE(ready(cfd, POLLIN)) << "a posted request is not answered";
  EXPECT_EQ(call(req(US_CTL_GETOPT, id, IPPROTO_TCP, 3)).a, 1);
  // Posted to a socket that is gone: silently nothing, the connection lives.
  m.sock = 4242;
  ASSERT_EQ(us_ctl_send(cfd, &m, -1), 0);
  EXPECT_EQ(call(req(US_CTL_GETOPT, id, IPPROTO_TCP, 3)).a, 1);
  close(fd);
}

TEST_F(CtlServer, HostileRequestsGetErrorsNotCrashes) {
  EXPECT_EQ(call(req(US_CTL_SOCKET, 0, 99)).err, EPROTONOSUPPORT);
  EXPECT_EQ(call(req(US_CTL_BIND, 12345)).err, EBADF);
  EXPECT_EQ(call(req(US_CTL_CONNECT, 0xffffffff, 1 << 30)).err, EBADF);
  EXPECT_EQ(call(req(US_CTL_STATE, 777)).a, US_CTL_ST_CLOSED);
  int fd;
  uint32_t id = new_socket(&fd);
  us_ctl_msg m = req(US_CTL_SETOPT, id, IPPROTO_TCP, 1 /* TCP_NODELAY */);
  us_ctl_set_data(&m, "x", 1); // shorter than an int
  EXPECT_EQ(call(m).err, EINVAL);
  EXPECT_EQ(call(req(US_CTL_GETOPT, id, IPPROTO_TCP, 9999)).err, ENOPROTOOPT);
  int acc = -1;
  EXPECT_EQ(call(req(US_CTL_LISTEN, id, -5), &acc).err, 0) << "a negative backlog is clamped";
  // A name that is not NUL-terminated, or empty.
  m = req(US_CTL_RESOLVE, 0, 0, AF_INET);
  memset(m.data, 'a', sizeof m.data);
  m.len = sizeof m.data;
  EXPECT_NE(call(m).a, 0);
  m = req(US_CTL_RESOLVE, 0, 0, AF_INET);
  EXPECT_NE(call(m).a, 0);
  // Garbage: the server drops this connection and keeps serving others.
  us_ctl_msg junk;
  memset(&junk, 0x5a, sizeof junk);
  ASSERT_EQ(us_ctl_send(cfd, &junk, -1), 0);
  ASSERT_TRUE(turn_until([&] { return ready(cfd, POLLIN); }));
  char b;
  EXPECT_EQ(read(cfd, &b, 1), 0);
  close(cfd);
  cfd = connect_to(path);
  ASSERT_GE(cfd, 0);
  EXPECT_EQ(call(req(US_CTL_STATE, id)).a, US_CTL_ST_LISTENING);
  // The program closes its accept channel: the listener goes.
  close(acc);
  close(fd);
  EXPECT_TRUE(turn_until([&] { return call(req(US_CTL_STATE, id)).a == US_CTL_ST_CLOSED; }, 50));
}

// A datagram channel carries only what the interposer framed: a message
// without the socket's key (written around the interposer: a raw syscall,
// sendfile), a short one or an empty one is dropped and counted, never sent,
// and the socket lives on. The key comes with the socket() answer, again on
// US_CTL_DGRAM_KEY, and differs per socket.
TEST_F(CtlServer, DatagramChannelSendsOnlyKeyedMessages) {
  struct Got {
    std::vector<std::string> d;
    static void on_dgram(void *u, udp_sock *, uint32_t, uint16_t, const uint8_t *p, size_t n) {
      static_cast<Got *>(u)->d.emplace_back(reinterpret_cast<const char *>(p), n);
    }
  } got;
  const udp_sock_ops ops = {Got::on_dgram, nullptr};
  udp_sock *ub = us_udp_open(t.b, &ops, &got);
  ASSERT_EQ(us_udp_bind(ub, 0, 5353), 0);

  int fd = -1, fd2 = -1;
  us_ctl_msg r = call(req(US_CTL_SOCKET, 0, SOCK_DGRAM), &fd);
  ASSERT_EQ(r.err, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(r.len, sizeof(uint64_t));
  uint64_t key, key2;
  memcpy(&key, r.data, sizeof key);
  EXPECT_NE(key, 0u);
  us_ctl_msg k = call(req(US_CTL_DGRAM_KEY, r.sock));
  EXPECT_EQ(k.err, 0);
  ASSERT_EQ(k.len, sizeof(uint64_t));
  EXPECT_EQ(memcmp(k.data, &key, sizeof key), 0);
  us_ctl_msg r2 = call(req(US_CTL_SOCKET, 0, SOCK_DGRAM), &fd2);
  memcpy(&key2, r2.data, sizeof key2);
  EXPECT_NE(key, key2) << "each channel its own key";
  int sfd = -1;
  uint32_t sid = new_socket(&sfd);
  EXPECT_EQ(call(req(US_CTL_DGRAM_KEY, sid)).err, EOPNOTSUPP);

  auto framed = [&](uint64_t kk, const std::string &payload) {
    us_dgram_hdr h{};
    h.key = kk;
    h.ip = htonl(TwoStack::kIpB);
    h.port = htons(5353);
    std::string m(reinterpret_cast<const char *>(&h), sizeof h);
    return m + payload;
  };
  uint64_t drops = us_stack_counter(t.a, US_CNT_UDP_DROP_UNFRAMED);
  for (const std::string &m : {framed(key ^ 1, "wrong key"), framed(key2, "other socket's key"),
                               std::string("short"), std::string()})
    ASSERT_EQ(send(fd, m.data(), m.size(), 0), (ssize_t)m.size());
  std::string ok = framed(key, "keyed");
  ASSERT_EQ(send(fd, ok.data(), ok.size(), 0), (ssize_t)ok.size());
  ASSERT_TRUE(turn_until([&] { return !got.d.empty(); }));
  for (int i = 0; i < 20; i++) turn();
  EXPECT_EQ(got.d, std::vector<std::string>{"keyed"});
  EXPECT_EQ(us_stack_counter(t.a, US_CNT_UDP_DROP_UNFRAMED), drops + 4);
  EXPECT_EQ(call(req(US_CTL_DGRAM_KEY, r.sock)).err, 0) << "the socket lives on";
  close(fd);
  close(fd2);
  close(sfd);
  EXPECT_TRUE(turn_until([&] { return us_ctl_server_busy(srv) == 0; }));
  us_udp_close(ub);
}

// After exec a program knows only its fds: the stack tells which inherited
// AF_UNIX sockets are its channels, by the inode of the program end.
static uint64_t ino_of(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

TEST_F(CtlServer, RecogniseChannelsByInode) {
  Peer peer;
  listen_on_b(t, peer, 80);
  int conn;
  uint32_t cid = connect_to_peer(peer, 80, &conn);
  int fresh = -1;
  us_ctl_msg r = call(req(US_CTL_SOCKET, 0, SOCK_STREAM, AF_INET6), &fresh);
  uint32_t fid = r.sock;
  int dg = -1;
  uint32_t did = call(req(US_CTL_SOCKET, 0, SOCK_DGRAM, AF_INET), &dg).sock;
  int lfd2 = -1, acc = -1;
  uint32_t lid = new_socket(&lfd2);
  ASSERT_EQ(call(req(US_CTL_LISTEN, lid, 8), &acc).err, 0);
  int plain[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, plain), 0);

  uint64_t inos[5] = {ino_of(conn), ino_of(fresh), ino_of(dg), ino_of(acc), ino_of(plain[0])};
  us_ctl_msg m = req(US_CTL_RECOGNISE, 0, 5);
  us_ctl_set_data(&m, inos, sizeof inos);
  r = call(m);
  ASSERT_EQ(r.err, 0);
  ASSERT_EQ(r.a, 5);
  ASSERT_GE((size_t)r.b, sizeof(us_ctl_sockinfo));
  us_ctl_sockinfo si[5];
  for (int i = 0; i < 5; i++) memcpy(&si[i], r.data + i * r.b, sizeof si[i]);
  EXPECT_EQ(si[0].sock, cid);
  EXPECT_EQ(si[0].type, SOCK_STREAM);
  EXPECT_EQ(si[0].family, AF_INET);
  EXPECT_EQ(si[0].state, US_CTL_ST_CONNECTED);
  EXPECT_EQ(si[1].sock, fid);
  EXPECT_EQ(si[1].family, AF_INET6) << "the family the program asked for";
  EXPECT_EQ(si[1].state, US_CTL_ST_NONE);
  EXPECT_EQ(si[2].sock, did);
  EXPECT_EQ(si[2].type, SOCK_DGRAM);
  EXPECT_EQ(si[3].sock, lid) << "a listener is known by its accept channel";
  EXPECT_EQ(si[3].state, US_CTL_ST_LISTENING);
  EXPECT_EQ(si[4].sock, 0u) << "an ordinary socketpair is not ours";

  // Bad counts are refused, not read past.
  m = req(US_CTL_RECOGNISE, 0, US_CTL_RECOGNISE_MAX + 1);
  EXPECT_EQ(call(m).err, EINVAL);
  m = req(US_CTL_RECOGNISE, 0, 2);
  us_ctl_set_data(&m, inos, sizeof inos[0]);
  EXPECT_EQ(call(m).err, EINVAL);
  for (int fd : {conn, fresh, dg, lfd2, acc, plain[0], plain[1]}) close(fd);
  us_tcp_close(peer.c);
  us_tcp_close(peer.l);
}

// The peer's FIN is marked in the clean-end table before the channel shows
// it; a reset is not.
TEST_F(CtlServer, CleanEndTableMarksFinNotReset) {
  char dir[] = "/tmp/ustack-ends.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ASSERT_EQ(us_chan_end_create(dir), 0);
  us_chan_end_attach((std::string(dir) + "/ctl").c_str());
  Peer peer;
  listen_on_b(t, peer, 80);
  int a, b;
  uint32_t ida = connect_to_peer(peer, 80, &a);
  ASSERT_TRUE(turn_until([&] { return peer.c != nullptr; }));
  us_tcp_sock *pa = peer.c;
  peer.c = nullptr;
  uint32_t idb = connect_to_peer(peer, 80, &b);
  ASSERT_TRUE(turn_until([&] { return peer.c != nullptr; }));
  us_tcp_sock *pb = peer.c;
  EXPECT_FALSE(us_chan_end_clean(ida));
  us_tcp_shutdown(pa, SHUT_WR);
  ASSERT_TRUE(turn_until([&] { return ready(a, POLLIN); }));
  char buf[8];
  EXPECT_EQ(read(a, buf, sizeof buf), 0);
  EXPECT_TRUE(us_chan_end_clean(ida));
  us_tcp_abort(pb);
  ASSERT_TRUE(turn_until([&] { return ready(b, POLLIN); }));
  EXPECT_EQ(read(b, buf, sizeof buf), 0);
  EXPECT_FALSE(us_chan_end_clean(idb)) << "a reset is no clean end";
  close(a);
  close(b);
  us_tcp_close(pa);
  us_tcp_close(peer.l);
  us_chan_end_remove(dir);
  EXPECT_EQ(rmdir(dir), 0) << "the table file is removed";
}

}  // namespace
