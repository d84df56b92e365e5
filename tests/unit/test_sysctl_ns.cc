// shim/sysctl_ns.c: the namespace's net.ipv4 values read from a /proc/sys
// tree (here a folder of the test's own), handed to the stack, re-read when
// a file changes, rate-limited, and malformed values ignored.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "shim/sysctl_ns.h"
}
#include "tests/unit/twostack.h"

namespace {

struct SysTree {
  std::string root;
  SysTree() {
    char tmpl[] = "/tmp/ustack-sysctl.XXXXXX";
    root = mkdtemp(tmpl);
    mkdir((root + "/net").c_str(), 0755);
    mkdir((root + "/net/ipv4").c_str(), 0755);
    mkdir((root + "/net/core").c_str(), 0755);
  }
  ~SysTree() { std::system(("rm -rf " + root).c_str()); }
  // Rewrites in place, as the kernel's file keeps its identity.
  void put(const char *name, const char *text) {
    FILE *f = fopen((root + "/net/" + name).c_str(), "w");
    ASSERT_NE(nullptr, f);
    fputs(text, f);
    fclose(f);
  }
};

}  // namespace

TEST(SysctlNs, ReadsWhatIsThereAndKeepsTheRest) {
  SysTree t;
  t.put("ipv4/tcp_rmem", "4096\t87380\t6291456\n");
  t.put("ipv4/tcp_timestamps", "0\n");
  t.put("ipv4/ip_local_port_range", "10000\t10100\n");
  t.put("ipv4/tcp_sack", "yes\n");  // malformed: ignored
  t.put("core/rmem_max", "212992\n");
  us_sysctl_ns *n = us_sysctl_ns_open(t.root.c_str());
  ASSERT_NE(nullptr, n);
  us_tcp_sysctls v;
  us_tcp_sysctls_default(&v);
  EXPECT_EQ(4, us_sysctl_ns_read(n, &v));
  EXPECT_EQ(87380u, v.rmem[1]);
  EXPECT_EQ(6291456u, v.rmem[2]);
  EXPECT_EQ(0, v.timestamps);
  EXPECT_EQ(1, v.sack);
  EXPECT_EQ(10000, v.port_lo);
  EXPECT_EQ(10100, v.port_hi);
  EXPECT_EQ(9u, v.keepalive_probes);  // no file: the default stays
  us_sysctl_ns_close(n);
}

TEST(SysctlNs, RefreshHandsChangesToTheStack) {
  SysTree t;
  t.put("ipv4/tcp_ecn", "2\n");
  t.put("ipv4/tcp_syn_retries", "6\n");
  ustest::TwoStack ts;
  us_sysctl_ns *n = us_sysctl_ns_open(t.root.c_str());
  us_time_t now = US_SEC(100);
  us_sysctl_ns_refresh(n, ts.a, now);
  us_tcp_sysctls v;
  us_tcp_get_sysctls(ts.a, &v);
  EXPECT_EQ(2, v.ecn);
  t.put("ipv4/tcp_ecn", "1\n");
  t.put("ipv4/tcp_syn_retries", "3\n");
  us_sysctl_ns_refresh(n, ts.a, now + US_MS(1));  // too soon: not read again
  us_tcp_get_sysctls(ts.a, &v);
  EXPECT_EQ(2, v.ecn);
  us_sysctl_ns_refresh(n, ts.a, now + US_SYSCTL_NS_MIN_GAP);
  us_tcp_get_sysctls(ts.a, &v);
  EXPECT_EQ(1, v.ecn);
  EXPECT_EQ(3, v.syn_retries);
  t.put("ipv4/tcp_syn_retries", "0\n");  // out of Linux's range: refused whole
  us_sysctl_ns_refresh(n, ts.a, now + 2 * US_SYSCTL_NS_MIN_GAP);
  us_tcp_get_sysctls(ts.a, &v);
  EXPECT_EQ(3, v.syn_retries);
  us_sysctl_ns_close(n);
}
