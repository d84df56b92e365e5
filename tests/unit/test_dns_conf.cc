// resolv.conf and /etc/hosts parsers, from temp files and buffers.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

extern "C" {
#include "shim/hosts_file.h"
#include "shim/resolv_conf.h"
}

namespace {

// A temp file holding `text`, removed at scope end.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string &text) {
    char tmpl[] = "/tmp/ustack_dns_XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(ssize_t(text.size()), write(fd, text.data(), text.size()));
    close(fd);
    path = tmpl;
  }
  ~TempFile() { unlink(path.c_str()); }
};

uint32_t Ip(const char *s) {
  in_addr a;
  EXPECT_EQ(1, inet_pton(AF_INET, s, &a));
  return ntohl(a.s_addr);
}

TEST(ResolvConf, DefaultsWithoutFile) {
  us_resolv_conf rc;
  EXPECT_EQ(-ENOENT, us_resolv_conf_load("/nonexistent/ustack/resolv.conf", &rc));
  EXPECT_EQ(0, rc.nns);
  EXPECT_EQ(0, rc.nsearch);
  EXPECT_EQ(1, rc.ndots);
  EXPECT_EQ(5, rc.timeout);
  EXPECT_EQ(2, rc.attempts);
}

TEST(ResolvConf, TypicalFile) {
  TempFile f(
      "# generated\n"
      "nameserver 198.18.0.1\n"
      "nameserver ::1\n"                 // IPv6: skipped
      "nameserver 198.18.0.2 # second\n"
      "search corp.test ustack.test.\n"
      "options ndots:2 timeout:3 attempts:4 rotate edns0\n");
  us_resolv_conf rc;
  ASSERT_EQ(0, us_resolv_conf_load(f.path.c_str(), &rc));
  ASSERT_EQ(2, rc.nns);
  EXPECT_EQ(Ip("198.18.0.1"), rc.ns[0]);
  EXPECT_EQ(Ip("198.18.0.2"), rc.ns[1]);
  ASSERT_EQ(2, rc.nsearch);
  EXPECT_STREQ("corp.test", rc.search[0]);
  EXPECT_STREQ("ustack.test", rc.search[1]);  // trailing dot dropped
  EXPECT_EQ(2, rc.ndots);
  EXPECT_EQ(3, rc.timeout);
  EXPECT_EQ(4, rc.attempts);
}

TEST(ResolvConf, LastSearchOrDomainWins) {
  const char *t1 = "search a.test b.test\ndomain c.test\n";
  us_resolv_conf rc;
  us_resolv_conf_parse(t1, strlen(t1), &rc);
  ASSERT_EQ(1, rc.nsearch);
  EXPECT_STREQ("c.test", rc.search[0]);
  const char *t2 = "domain c.test\nsearch a.test b.test\n";
  us_resolv_conf_parse(t2, strlen(t2), &rc);
  ASSERT_EQ(2, rc.nsearch);
  EXPECT_STREQ("a.test", rc.search[0]);
}

TEST(ResolvConf, LimitsAndOddLines) {
  std::string t =
      "nameserver 198.18.0.1\nnameserver 198.18.0.2\nnameserver 198.18.0.3\n"
      "nameserver 198.18.0.4\n"                          // fourth: ignored (MAXNS 3)
      " nameserver 198.18.0.9\n"                        // keyword not at column 0
      "; comment\n#comment\n\n"
      "nameserver not-an-ip\n"
      "search s1 s2 s3 s4 s5 s6 s7 s8\n"                // at most 6
      "options ndots:99 timeout:0 attempts:17 ndots:x\n"  // clamped / ignored
      "nameserver";                                      // no value, no newline
  us_resolv_conf rc;
  us_resolv_conf_parse(t.data(), t.size(), &rc);
  EXPECT_EQ(3, rc.nns);
  EXPECT_EQ(Ip("198.18.0.3"), rc.ns[2]);
  EXPECT_EQ(6, rc.nsearch);
  EXPECT_STREQ("s6", rc.search[5]);
  EXPECT_EQ(15, rc.ndots);
  EXPECT_EQ(5, rc.timeout);  // timeout:0 refused
  EXPECT_EQ(5, rc.attempts);
}

TEST(ResolvConf, CrlfAndTabs) {
  const char *t = "nameserver\t198.18.0.1\r\nsearch\tx.test\r\noptions\tndots:3\r\n";
  us_resolv_conf rc;
  us_resolv_conf_parse(t, strlen(t), &rc);
  ASSERT_EQ(1, rc.nns);
  ASSERT_EQ(1, rc.nsearch);
  EXPECT_STREQ("x.test", rc.search[0]);
  EXPECT_EQ(3, rc.ndots);
}

TEST(ResolvConf, EnvironmentOverrides) {
  const char *t = "search a.test\noptions ndots:2\n";
  us_resolv_conf rc;
  us_resolv_conf_parse(t, strlen(t), &rc);
  us_resolv_conf_env(&rc, "l1.test l2.test", "ndots:4 attempts:1");
  ASSERT_EQ(2, rc.nsearch);
  EXPECT_STREQ("l2.test", rc.search[1]);
  EXPECT_EQ(4, rc.ndots);
  EXPECT_EQ(1, rc.attempts);
}

TEST(ResolvConf, ToDnsConfigKeepsExplicitServer) {
  const char *t = "nameserver 198.18.0.1\nsearch a.test\noptions timeout:2 attempts:3 ndots:0\n";
  us_resolv_conf rc;
  us_resolv_conf_parse(t, strlen(t), &rc);
  us_dns_config cfg;
  us_dns_config_defaults(&cfg);
  us_resolv_conf_to_dns(&rc, &cfg);
  EXPECT_EQ(Ip("198.18.0.1"), cfg.server);
  EXPECT_EQ(2000u, cfg.timeout_ms);
  EXPECT_EQ(3, cfg.attempts);
  EXPECT_EQ(0, cfg.ndots);
  ASSERT_EQ(1, cfg.nsearch);
  EXPECT_STREQ("a.test", cfg.search[0]);
  us_dns_config_defaults(&cfg);
  cfg.server = Ip("198.18.0.53");  // --dns given
  us_resolv_conf_to_dns(&rc, &cfg);
  EXPECT_EQ(Ip("198.18.0.53"), cfg.server);
}

TEST(HostsFile, LookupByNameAndAlias) {
  TempFile f(
      "127.0.0.1\tlocalhost\n"
      "::1 localhost ip6-localhost ip6-loopback\n"
      "198.18.0.1  web.ustack.test web  # the server\n"
      "198.18.0.2  Web.Ustack.Test\n"
      "bogus       nothing.test\n"
      "198.18.0.3\n"
      "# 198.18.0.4 commented.test\n"
      "fe80::1%eth0 scoped.test\n");
  int err = 0;
  us_hosts *h = us_hosts_load(f.path.c_str(), &err);
  ASSERT_NE(nullptr, h);
  EXPECT_EQ(4u, us_hosts_count(h));
  us_dns_addr out[8];
  const char *canon = nullptr;
  ASSERT_EQ(2u, us_hosts_lookup(h, "WEB.ustack.test.", 0, out, 8, &canon));
  EXPECT_STREQ("web.ustack.test", canon);
  EXPECT_EQ(4, out[0].family);
  EXPECT_EQ(1, out[0].addr[3]);
  EXPECT_EQ(2, out[1].addr[3]);
  ASSERT_EQ(1u, us_hosts_lookup(h, "web", 4, out, 8, &canon));
  EXPECT_STREQ("web.ustack.test", canon);
  ASSERT_EQ(1u, us_hosts_lookup(h, "localhost", 6, out, 8, &canon));
  EXPECT_EQ(6, out[0].family);
  EXPECT_EQ(1, out[0].addr[15]);
  EXPECT_EQ(2u, us_hosts_lookup(h, "localhost", 0, out, 1, nullptr));  // count beyond max
  EXPECT_EQ(0u, us_hosts_lookup(h, "commented.test", 0, out, 8, nullptr));
  EXPECT_EQ(0u, us_hosts_lookup(h, "nothing.test", 0, out, 8, nullptr));
  uint8_t a[4] = {198, 18, 0, 1};
  EXPECT_STREQ("web.ustack.test", us_hosts_reverse(h, 4, a));
  uint8_t b[4] = {198, 18, 0, 9};
  EXPECT_EQ(nullptr, us_hosts_reverse(h, 4, b));
  us_hosts_free(h);
}

TEST(HostsFile, MissingFile) {
  int err = 0;
  EXPECT_EQ(nullptr, us_hosts_load("/nonexistent/ustack/hosts", &err));
  EXPECT_EQ(-ENOENT, err);
}

TEST(HostsFile, EmptyAndUnterminated) {
  us_hosts *h = us_hosts_parse("", 0);
  ASSERT_NE(nullptr, h);
  EXPECT_EQ(0u, us_hosts_count(h));
  us_hosts_free(h);
  const char t[] = "198.18.0.7 last.test";  // no newline at the end
  h = us_hosts_parse(t, sizeof t - 1);
  us_dns_addr out[1];
  EXPECT_EQ(1u, us_hosts_lookup(h, "last.test", 4, out, 1, nullptr));
  us_hosts_free(h);
}

TEST(HostsFile, NulBytesSeparateNamesAndTrailingDotsMatch) {
  // Found by fuzzing: a NUL inside a name desynchronised the name store.
  const char t[] = "198.18.0.8 a\0b c.\n198.18.0.9 d\n";
  us_hosts *h = us_hosts_parse(t, sizeof t - 1);
  ASSERT_NE(nullptr, h);
  us_dns_addr out[2];
  const char *canon = nullptr;
  EXPECT_EQ(1u, us_hosts_lookup(h, "b", 4, out, 2, &canon));
  EXPECT_STREQ("a", canon);
  EXPECT_EQ(1u, us_hosts_lookup(h, "c", 4, out, 2, nullptr));
  EXPECT_EQ(1u, us_hosts_lookup(h, "c.", 4, out, 2, nullptr));
  ASSERT_EQ(1u, us_hosts_lookup(h, "d", 4, out, 2, nullptr));
  EXPECT_EQ(9, out[0].addr[3]);
  us_hosts_free(h);
}

}  // namespace
