// The address lock that keeps two stacks off one (interface, address).
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "shim/host.h"
}

namespace {

struct HostLock : ::testing::Test {
  std::string dir;
  char err[512] = "";
  void SetUp() override {
    char tmpl[] = "/tmp/us_lock_XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(tmpl));
    dir = std::string(tmpl) + "/locks";  // created on demand
  }
  void TearDown() override { ASSERT_EQ(0, system(("rm -rf " + dir.substr(0, dir.rfind('/'))).c_str())); }
};

TEST_F(HostLock, SecondClaimFailsWithOwnerUntilReleased) {
  int a = us_host_claim_address(dir.c_str(), "lo", 0xc612000a, err, sizeof err);
  ASSERT_GE(a, 0) << err;
  struct stat st;
  ASSERT_EQ(0, stat(dir.c_str(), &st));  // the directory was made
  int b = us_host_claim_address(dir.c_str(), "lo", 0xc612000a, err, sizeof err);
  EXPECT_EQ(-EADDRINUSE, b);
  EXPECT_NE(nullptr, strstr(err, "198.18.0.10 is already in use on lo by another ustack"));
  EXPECT_NE(nullptr, strstr(err, ("(pid " + std::to_string(getpid()) + ")").c_str())) << err;
  EXPECT_EQ(nullptr, strchr(err, '\n'));
  // Another address on the same interface is independent.
  int c = us_host_claim_address(dir.c_str(), "lo", 0xc612000b, err, sizeof err);
  EXPECT_GE(c, 0) << err;
  close(a);
  int d = us_host_claim_address(dir.c_str(), "lo", 0xc612000a, err, sizeof err);
  EXPECT_GE(d, 0) << "released with its holder: " << err;
  close(c);
  close(d);
}

// The owner removes its lock file when it stops. A claimer that opened the
// file just before and then locks it holds a removed file: the next claim
// makes a fresh one, which is the one that counts.
TEST_F(HostLock, ReleaseRemovesTheFile) {
  int a = us_host_claim_address(dir.c_str(), "lo", 0xc612000a, err, sizeof err);
  ASSERT_GE(a, 0) << err;
  DIR *d = opendir(dir.c_str());
  ASSERT_NE(nullptr, d);
  std::string name;
  while (dirent *e = readdir(d))
    if (e->d_name[0] != '.') name = e->d_name;
  closedir(d);
  ASSERT_FALSE(name.empty());
  int stale = open((dir + "/" + name).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(stale, 0);
  us_host_release_address(dir.c_str(), "lo", 0xc612000a, a);
  struct stat st;
  EXPECT_NE(0, stat((dir + "/" + name).c_str(), &st)) << "the file is gone with its owner";
  EXPECT_EQ(0, flock(stale, LOCK_EX | LOCK_NB));  // a lock on nothing anyone finds
  int b = us_host_claim_address(dir.c_str(), "lo", 0xc612000a, err, sizeof err);
  EXPECT_GE(b, 0) << err;
  us_host_release_address(dir.c_str(), "lo", 0xc612000a, b);
  close(stale);
}

TEST_F(HostLock, UnusableDirectoryIsAClearError) {
  int r = us_host_claim_address("/proc/nope/locks", "lo", 0xc612000a, err, sizeof err);
  EXPECT_LT(r, 0);
  EXPECT_NE(nullptr, strstr(err, "/proc/nope/locks"));
}

TEST(HostClock, MonotonicMicroseconds) {
  us_time_t a = us_host_now(), b = us_host_now();
  EXPECT_GT(a, 0u);
  EXPECT_GE(b, a);
}

}  // namespace
