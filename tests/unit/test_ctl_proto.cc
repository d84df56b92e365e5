// The control protocol: message checks, transport over stream and
// seqpacket sockets with fds attached, incremental receive, accept-channel
// messages, peer credentials.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

extern "C" {
#include "shim/ctl_proto.h"
}

namespace {

struct Pair {
  int fd[2] = {-1, -1};
  explicit Pair(int type) { EXPECT_EQ(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fd), 0); }
  ~Pair() {
    close(fd[0]);
    close(fd[1]);
  }
};

// A pipe whose read end travels with a message: the receiver reads what we
// wrote to prove it got the very same file.
std::string through(int fd) {
  char b[16] = {0};
  ssize_t n = read(fd, b, sizeof b - 1);
  return n > 0 ? std::string(b, (size_t)n) : "";
}

TEST(CtlProto, InitAndData) {
  us_ctl_msg m;
  us_ctl_init(&m, US_CTL_CONNECT, 77);
  EXPECT_EQ(m.magic, US_CTL_MAGIC);
  EXPECT_EQ(m.op, US_CTL_CONNECT);
  EXPECT_EQ(m.sock, 77u);
  EXPECT_EQ(us_ctl_validate(&m), 0);
  EXPECT_EQ(us_ctl_set_data(&m, "abc", 4), 0);
  EXPECT_EQ(m.len, 4);
  std::string big(US_CTL_DATA_MAX + 1, 'x');
  EXPECT_EQ(us_ctl_set_data(&m, big.data(), big.size()), -EMSGSIZE);
  EXPECT_EQ(m.len, 4); // unchanged
}

TEST(CtlProto, ValidateRejectsBadMessages) {
  us_ctl_msg m;
  us_ctl_init(&m, US_CTL_SOCKET, 0);
  m.magic ^= 1;
  EXPECT_EQ(us_ctl_validate(&m), -EPROTO);
  us_ctl_init(&m, US_CTL_SOCKET, 0);
  m.op = 0;
  EXPECT_EQ(us_ctl_validate(&m), -EPROTO);
  m.op = US_CTL__MAX;
  EXPECT_EQ(us_ctl_validate(&m), -EPROTO);
  us_ctl_init(&m, US_CTL_SOCKET, 0);
  m.len = US_CTL_DATA_MAX + 1;
  EXPECT_EQ(us_ctl_validate(&m), -EPROTO);
}

class CtlTransport : public ::testing::TestWithParam<int> {};

TEST_P(CtlTransport, RoundTripWithFd) {
  Pair p(GetParam());
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  us_ctl_msg m;
  us_ctl_init(&m, US_CTL_SOCKET, 5);
  m.a = 1;
  m.ip = 0x0100a8c0;
  m.port = 0x5000;
  ASSERT_EQ(us_ctl_set_data(&m, "hello", 6), 0);
  ASSERT_EQ(us_ctl_send(p.fd[0], &m, pp[0]), 0);
  close(pp[0]);
  ASSERT_EQ(write(pp[1], "fd!", 3), 3);
  close(pp[1]);
  us_ctl_msg r;
  int got = -1;
  ASSERT_EQ(us_ctl_recv(p.fd[1], &r, &got), 0);
  EXPECT_EQ(r.op, US_CTL_SOCKET);
  EXPECT_EQ(r.sock, 5u);
  EXPECT_EQ(r.a, 1);
  EXPECT_EQ(r.ip, 0x0100a8c0u);
  EXPECT_EQ(r.port, 0x5000);
  EXPECT_STREQ((const char *)r.data, "hello");
  ASSERT_GE(got, 0);
  EXPECT_TRUE(fcntl(got, F_GETFD) & FD_CLOEXEC) << "received fds are close-on-exec";
  EXPECT_EQ(through(got), "fd!");
  close(got);
}

TEST_P(CtlTransport, NoFdMeansMinusOne) {
  Pair p(GetParam());
  us_ctl_msg m, r;
  us_ctl_init(&m, US_CTL_STATE, 9);
  ASSERT_EQ(us_ctl_send(p.fd[0], &m, -1), 0);
  int got = 123;
  ASSERT_EQ(us_ctl_recv(p.fd[1], &r, &got), 0);
  EXPECT_EQ(got, -1);
}

TEST_P(CtlTransport, EofIsConnReset) {
  Pair p(GetParam());
  shutdown(p.fd[0], SHUT_WR);
  us_ctl_msg r;
  EXPECT_EQ(us_ctl_recv(p.fd[1], &r, nullptr), -ECONNRESET);
}

TEST_P(CtlTransport, GarbageIsProtocolError) {
  Pair p(GetParam());
  us_ctl_msg m;
  memset(&m, 0xab, sizeof m);
  ASSERT_EQ(us_ctl_send(p.fd[0], &m, -1), 0);
  us_ctl_msg r;
  EXPECT_EQ(us_ctl_recv(p.fd[1], &r, nullptr), -EPROTO);
}

INSTANTIATE_TEST_SUITE_P(StreamAndSeqpacket, CtlTransport,
                         ::testing::Values(SOCK_STREAM, SOCK_SEQPACKET));

TEST(CtlProto, IncrementalReceiveOnStream) {
  Pair p(SOCK_STREAM);
  fcntl(p.fd[1], F_SETFL, O_NONBLOCK);
  us_ctl_msg m;
  us_ctl_init(&m, US_CTL_BIND, 3);
  m.port = 0x1f90;
  us_ctl_rxbuf rb;
  us_ctl_rxbuf_init(&rb);
  EXPECT_EQ(us_ctl_rx(p.fd[1], &rb), -EAGAIN);
  // Dribble the message in three pieces; the first carries an fd.
  const char *bytes = (const char *)&m;
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  iovec iov = {(void *)bytes, 10};
  union {
    char b[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } cb{};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cb.b;
  mh.msg_controllen = sizeof cb.b;
  cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &pp[0], sizeof(int));
  ASSERT_EQ(sendmsg(p.fd[0], &mh, 0), 10);
  EXPECT_EQ(us_ctl_rx(p.fd[1], &rb), -EAGAIN);
  ASSERT_EQ(write(p.fd[0], bytes + 10, 500), 500);
  EXPECT_EQ(us_ctl_rx(p.fd[1], &rb), -EAGAIN);
  ASSERT_EQ(write(p.fd[0], bytes + 510, sizeof m - 510), (ssize_t)(sizeof m - 510));
  ASSERT_EQ(us_ctl_rx(p.fd[1], &rb), 1);
  EXPECT_EQ(rb.msg.op, US_CTL_BIND);
  EXPECT_EQ(rb.msg.port, 0x1f90);
  EXPECT_GE(rb.fd, 0);
  close(rb.fd);
  close(pp[0]);
  close(pp[1]);
  // A second message reuses the buffer from the start.
  us_ctl_rxbuf_init(&rb);
  us_ctl_init(&m, US_CTL_LISTEN, 4);
  ASSERT_EQ(us_ctl_send(p.fd[0], &m, -1), 0);
  ASSERT_EQ(us_ctl_rx(p.fd[1], &rb), 1);
  EXPECT_EQ(rb.msg.op, US_CTL_LISTEN);
  EXPECT_EQ(rb.fd, -1);
  close(p.fd[0]);
  p.fd[0] = -1;
  EXPECT_EQ(us_ctl_rx(p.fd[1], &rb), -ECONNRESET);
}

TEST(CtlProto, AcceptChannelMessages) {
  Pair p(SOCK_SEQPACKET);
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  us_ctl_accept a{};
  a.magic = US_CTL_MAGIC;
  a.sock = 99;
  a.peer_ip = 0x0a000001;
  a.peer_port = 0x3412;
  ASSERT_EQ(us_ctl_send_accept(p.fd[0], &a, pp[0]), 0);
  ASSERT_EQ(write(pp[1], "conn", 4), 4);
  close(pp[0]);
  close(pp[1]);
  us_ctl_accept r{};
  int got = -1;
  ASSERT_EQ(us_ctl_recv_accept(p.fd[1], &r, &got, MSG_CMSG_CLOEXEC), 0);
  EXPECT_EQ(r.sock, 99u);
  EXPECT_EQ(r.peer_ip, 0x0a000001u);
  EXPECT_EQ(r.peer_port, 0x3412);
  EXPECT_EQ(through(got), "conn");
  close(got);
  // Non-blocking on an empty channel.
  EXPECT_EQ(us_ctl_recv_accept(p.fd[1], &r, &got, MSG_DONTWAIT), -EAGAIN);
  // A message without an fd, or a foreign one, is ECONNABORTED, not a crash.
  char junk[sizeof a] = {1, 2, 3};
  ASSERT_EQ(send(p.fd[0], junk, sizeof junk, 0), (ssize_t)sizeof junk);
  EXPECT_EQ(us_ctl_recv_accept(p.fd[1], &r, &got, 0), -ECONNABORTED);
  // The listener side gone (shut down, or the stack died): EINVAL, as
  // Linux's accept on a socket that no longer listens.
  close(p.fd[0]);
  p.fd[0] = -1;
  EXPECT_EQ(us_ctl_recv_accept(p.fd[1], &r, &got, 0), -EINVAL);
}

TEST(CtlProto, PeerCredentials) {
  Pair p(SOCK_STREAM);
  EXPECT_EQ(us_ctl_check_peer(p.fd[0], getuid()), 0);
  EXPECT_EQ(us_ctl_check_peer(p.fd[0], getuid() + 1), -EPERM);
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  EXPECT_LT(us_ctl_check_peer(pp[0], getuid()), 0); // not a socket
  close(pp[0]);
  close(pp[1]);
}

}  // namespace
