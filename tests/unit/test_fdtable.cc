// The program-side fd table: O(1) "is this fd ours", per-fd state, dup,
// close_range, bypass for the stack thread, bounds.
#include <gtest/gtest.h>

#include <thread>

extern "C" {
#include "shim/fdtable.h"
}

namespace {

us_fd_info sock_info(uint32_t id) {
  us_fd_info i{};
  i.id = id;
  i.kind = US_FD_SOCK;
  i.family = 2;
  i.type = 1;
  return i;
}

TEST(FdTable, UnknownFdsAreNotOurs) {
  EXPECT_EQ(us_fd_get(5000), nullptr);
  EXPECT_EQ(us_fd_get(-1), nullptr);
  EXPECT_EQ(us_fd_get(US_FD_MAX), nullptr);
  EXPECT_EQ(us_fd_get(0x7fffffff), nullptr);
}

TEST(FdTable, SetGetClear) {
  us_fd_info i = sock_info(42);
  ASSERT_EQ(us_fd_set(7001, &i), 0);
  us_fd_info *e = us_fd_sock(7001);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->id, 42u);
  EXPECT_EQ(e->type, 1);
  EXPECT_EQ(us_fd_get(7000), nullptr);
  EXPECT_EQ(us_fd_get(7002), nullptr);
  us_fd_clear(7001);
  EXPECT_EQ(us_fd_get(7001), nullptr);
}

TEST(FdTable, RejectsOutOfRange) {
  us_fd_info i = sock_info(1);
  EXPECT_EQ(us_fd_set(-3, &i), -EBADF);
  EXPECT_EQ(us_fd_set(US_FD_MAX, &i), -EBADF);
  us_fd_clear(-3);            // harmless
  us_fd_clear(US_FD_MAX + 5); // harmless
}

TEST(FdTable, ControlFdsAreNotSockets) {
  us_fd_info i{};
  i.kind = US_FD_CTL;
  ASSERT_EQ(us_fd_set(7100, &i), 0);
  EXPECT_NE(us_fd_get(7100), nullptr);
  EXPECT_EQ(us_fd_sock(7100), nullptr);
  us_fd_clear(7100);
}

TEST(FdTable, DupCopiesAndOverwrites) {
  us_fd_info a = sock_info(1), b = sock_info(2);
  ASSERT_EQ(us_fd_set(7200, &a), 0);
  ASSERT_EQ(us_fd_set(7201, &b), 0);
  us_fd_copy(7200, 7201);
  EXPECT_EQ(us_fd_sock(7201)->id, 1u);
  // dup2 of a kernel fd over ours: ours is forgotten.
  us_fd_copy(7999, 7201);
  EXPECT_EQ(us_fd_get(7201), nullptr);
  EXPECT_EQ(us_fd_sock(7200)->id, 1u);
  us_fd_clear(7200);
}

TEST(FdTable, EntriesAreIndependentPerFd) {
  us_fd_info a = sock_info(1);
  ASSERT_EQ(us_fd_set(7300, &a), 0);
  us_fd_copy(7300, 7301);
  us_fd_sock(7301)->state = US_FDS_CONNECTED;
  EXPECT_EQ(us_fd_sock(7300)->state, US_FDS_NEW);
  us_fd_clear(7300);
  EXPECT_NE(us_fd_get(7301), nullptr);
  us_fd_clear(7301);
}

TEST(FdTable, ClearRangeAcrossChunks) {
  us_fd_info a = sock_info(9);
  for (int fd : {8000, 9023, 9024, 12000, 20000}) ASSERT_EQ(us_fd_set(fd, &a), 0);
  us_fd_clear_range(9000, 12000);
  EXPECT_NE(us_fd_get(8000), nullptr);
  EXPECT_EQ(us_fd_get(9023), nullptr);
  EXPECT_EQ(us_fd_get(9024), nullptr);
  EXPECT_EQ(us_fd_get(12000), nullptr);
  EXPECT_NE(us_fd_get(20000), nullptr);
  us_fd_clear_range(0, ~0u); // close_range(0, ~0U): everything, no overflow
  EXPECT_EQ(us_fd_get(8000), nullptr);
  EXPECT_EQ(us_fd_get(20000), nullptr);
}

TEST(FdTable, CountByKind) {
  int before = us_fd_count(US_FD_SOCK);
  us_fd_info a = sock_info(3);
  ASSERT_EQ(us_fd_set(7400, &a), 0);
  ASSERT_EQ(us_fd_set(7401, &a), 0);
  EXPECT_EQ(us_fd_count(US_FD_SOCK), before + 2);
  us_fd_clear(7400);
  us_fd_clear(7401);
  EXPECT_EQ(us_fd_count(US_FD_SOCK), before);
}

TEST(FdTable, BypassedThreadSeesNothing) {
  us_fd_info a = sock_info(4);
  ASSERT_EQ(us_fd_set(7500, &a), 0);
  bool seen = true;
  std::thread t([&] {
    us_fd_bypass = 1;
    seen = us_fd_get(7500) != nullptr;
  });
  t.join();
  EXPECT_FALSE(seen);
  EXPECT_NE(us_fd_get(7500), nullptr); // other threads unaffected
  us_fd_clear(7500);
}

TEST(FdTable, ConcurrentSettersKeepEntriesWhole) {
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++)
    ts.emplace_back([t] {
      for (int i = 0; i < 2000; i++) {
        int fd = 30000 + t * 2000 + i;
        us_fd_info a = sock_info((uint32_t)fd);
        us_fd_set(fd, &a);
      }
    });
  for (auto &t : ts) t.join();
  for (int fd = 30000; fd < 38000; fd++) {
    us_fd_info *e = us_fd_sock(fd);
    ASSERT_NE(e, nullptr) << fd;
    EXPECT_EQ(e->id, (uint32_t)fd);
  }
  us_fd_clear_range(30000, 38000);
}

}  // namespace
