// Configuration: flags, USTACK_* environment twins, validation, --help.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" {
#include "shim/config.h"
#include "shim/kernel_addr.h"
#include "shim/log.h"
}

namespace {

const char *kVars[] = {"USTACK_IF", "USTACK_IP", "USTACK_GW", "USTACK_DNS",
                       "USTACK_MAC", "USTACK_PCAP", "USTACK_LOG"};

struct ConfigTest : ::testing::Test {
  us_config c;
  char err[512] = "";
  void SetUp() override {
    for (const char *v : kVars) unsetenv(v);
    us_config_init(&c);
  }
  void TearDown() override {
    for (const char *v : kVars) unsetenv(v);
  }
  int Parse(std::vector<const char *> args, int *prog = nullptr) {
    std::vector<char *> argv{const_cast<char *>("ustack")};
    for (const char *a : args) argv.push_back(const_cast<char *>(a));
    int p = 0;
    int r = us_config_parse_args(&c, (int)argv.size(), argv.data(), &p, err, sizeof err);
    if (prog) *prog = p;
    return r;
  }
};

TEST_F(ConfigTest, ParsesEveryFlagBothSpellings) {
  int prog = 0;
  ASSERT_EQ(US_CONFIG_OK,
            Parse({"--if", "uc0", "--ip=198.18.0.10/24", "--gw", "198.18.0.1", "--dns=198.18.0.2",
                   "--mac", "02:00:00:00:00:0a", "--pcap", "/tmp/x.pcap", "--log=debug", "--",
                   "sleep", "10"},
                  &prog));
  EXPECT_STREQ("uc0", c.ifname);
  EXPECT_EQ(0xc612000au, c.ip);
  EXPECT_EQ(24, c.prefix_len);
  EXPECT_EQ(0xc6120001u, c.gw);
  EXPECT_EQ(0xc6120002u, c.dns);
  EXPECT_EQ(1, c.has_mac);
  EXPECT_EQ(0x0a, c.mac[5]);
  EXPECT_STREQ("/tmp/x.pcap", c.pcap);
  EXPECT_EQ(US_LOG_DEBUG, c.log_level);
  EXPECT_EQ(13, prog);  // argv[13] == "sleep"
}

TEST_F(ConfigTest, ProgramStartsAtFirstNonOption) {
  int prog = 0;
  ASSERT_EQ(US_CONFIG_OK, Parse({"--ip", "198.18.0.10/24", "ping", "--if", "x"}, &prog));
  EXPECT_EQ(3, prog);
  EXPECT_STREQ("", c.ifname);  // "--if x" belongs to ping
}

TEST_F(ConfigTest, HelpAndBadFlags) {
  EXPECT_EQ(US_CONFIG_HELP, Parse({"--help"}));
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--bogus", "1"}));
  EXPECT_NE(nullptr, strstr(err, "--bogus"));
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--ip"}));
  EXPECT_NE(nullptr, strstr(err, "needs a value"));
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--ip", "198.18.0.10"}));  // no prefix
  EXPECT_NE(nullptr, strstr(err, "ADDRESS/PREFIX"));
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--ip", "198.18.0.300/24"}));
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--ip", "198.18.0.1/33"}));
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--gw", "nope"}));
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--mac", "01:00:5e:00:00:01"}));  // multicast
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--mac", "02:00:00:00:00"}));
  EXPECT_EQ(US_CONFIG_ERROR, Parse({"--log", "loud"}));
  EXPECT_EQ(nullptr, strchr(err, '\n'));  // one line
}

TEST_F(ConfigTest, EnvironmentTwinsAndFlagsOverride) {
  setenv("USTACK_IF", "envif", 1);
  setenv("USTACK_IP", "198.18.0.20/16", 1);
  setenv("USTACK_GW", "198.18.0.1", 1);
  setenv("USTACK_DNS", "198.18.0.53", 1);
  setenv("USTACK_MAC", "02-00-00-00-00-0b", 1);
  setenv("USTACK_PCAP", "/tmp/env.pcap", 1);
  setenv("USTACK_LOG", "info", 1);
  ASSERT_EQ(US_CONFIG_OK, us_config_from_env(&c, err, sizeof err));
  EXPECT_STREQ("envif", c.ifname);
  EXPECT_EQ(0xc6120014u, c.ip);
  EXPECT_EQ(16, c.prefix_len);
  EXPECT_EQ(0xc6120035u, c.dns);
  EXPECT_EQ(0x0b, c.mac[5]);
  EXPECT_STREQ("/tmp/env.pcap", c.pcap);
  EXPECT_EQ(US_LOG_INFO, c.log_level);
  ASSERT_EQ(US_CONFIG_OK, Parse({"--if", "flagif", "--ip", "198.18.0.10/24", "true"}));
  EXPECT_STREQ("flagif", c.ifname);
  EXPECT_EQ(0xc612000au, c.ip);
  EXPECT_EQ(24, c.prefix_len);
  EXPECT_EQ(0xc6120001u, c.gw);  // untouched by flags
}

TEST_F(ConfigTest, FlagsParsedFirstWinOverEvenBadVariables) {
  setenv("USTACK_IP", "garbage", 1);
  setenv("USTACK_GW", "198.18.0.1", 1);
  ASSERT_EQ(US_CONFIG_OK, Parse({"--ip", "198.18.0.10/24", "true"}));
  ASSERT_EQ(US_CONFIG_OK, us_config_from_env(&c, err, sizeof err)) << err;
  EXPECT_EQ(0xc612000au, c.ip);
  EXPECT_EQ(0xc6120001u, c.gw);  // no flag: the variable counts
}

TEST_F(ConfigTest, BadEnvironmentNamesTheVariable) {
  setenv("USTACK_IP", "garbage", 1);
  EXPECT_EQ(US_CONFIG_ERROR, us_config_from_env(&c, err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "USTACK_IP"));
}

TEST_F(ConfigTest, FinishRequiresAddress) {
  strcpy(c.ifname, "lo");
  EXPECT_EQ(US_CONFIG_ERROR, us_config_finish(&c, nullptr, err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "--ip"));
  EXPECT_NE(nullptr, strstr(err, "USTACK_IP"));
}

TEST_F(ConfigTest, FinishChecksGatewayAndAddress) {
  strcpy(c.ifname, "lo");
  ASSERT_EQ(US_CONFIG_OK, Parse({"--ip", "198.18.0.10/24", "--gw", "198.19.0.1"}));
  EXPECT_EQ(US_CONFIG_ERROR, us_config_finish(&c, nullptr, err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "not on the stack's subnet"));
  ASSERT_EQ(US_CONFIG_OK, Parse({"--gw", "198.18.0.10"}));
  EXPECT_EQ(US_CONFIG_ERROR, us_config_finish(&c, nullptr, err, sizeof err));
  ASSERT_EQ(US_CONFIG_OK, Parse({"--ip", "198.18.0.0/24", "--gw", "198.18.0.1"}));
  EXPECT_EQ(US_CONFIG_ERROR, us_config_finish(&c, nullptr, err, sizeof err));
  ASSERT_EQ(US_CONFIG_OK, Parse({"--ip", "198.18.0.10/24"}));
  EXPECT_EQ(US_CONFIG_OK, us_config_finish(&c, nullptr, err, sizeof err)) << err;
}

TEST_F(ConfigTest, FinishRejectsUnknownInterface) {
  strcpy(c.ifname, "nosuch_if9");
  c.ip = 0xc612000a;
  c.prefix_len = 24;
  EXPECT_EQ(US_CONFIG_ERROR, us_config_finish(&c, nullptr, err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "'nosuch_if9'"));
}

TEST(ConfigPickIf, OnlyCandidateOrClearError) {
  char out[IF_NAMESIZE], err[512];
  const char *one[] = {"uc0"};
  ASSERT_EQ(US_CONFIG_OK, us_config_pick_if(one, 1, out, sizeof out, err, sizeof err));
  EXPECT_STREQ("uc0", out);
  const char *two[] = {"eth0", "uc0"};
  ASSERT_EQ(US_CONFIG_ERROR, us_config_pick_if(two, 2, out, sizeof out, err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "eth0, uc0"));
  EXPECT_NE(nullptr, strstr(err, "--if"));
  ASSERT_EQ(US_CONFIG_ERROR, us_config_pick_if(two, 0, out, sizeof out, err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "--if"));
}

TEST(ConfigResolv, FirstIpv4Nameserver) {
  char path[] = "/tmp/us_resolv_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const char text[] = "# comment\nsearch test\nnameserver fe80::1\nnameserver 198.18.0.1\n"
                      "nameserver 198.18.0.2\n";
  ASSERT_EQ((ssize_t)strlen(text), write(fd, text, strlen(text)));
  close(fd);
  EXPECT_EQ(0xc6120001u, us_config_resolv_dns(path));
  unlink(path);
  EXPECT_EQ(0u, us_config_resolv_dns("/nonexistent/resolv.conf"));
}

TEST_F(ConfigTest, ToEnvRoundTrips) {
  ASSERT_EQ(US_CONFIG_OK, Parse({"--if", "uc0", "--ip", "198.18.0.10/24", "--gw", "198.18.0.1",
                                 "--mac", "02:00:00:00:00:0a", "--pcap", "/tmp/a b.pcap"}));
  char *env[16];
  int n = us_config_to_env(&c, env, 16);
  ASSERT_GE(n, 5);
  for (int i = 0; i < n; i++) {
    char *eq = strchr(env[i], '=');
    ASSERT_NE(nullptr, eq);
    *eq = 0;
    setenv(env[i], eq + 1, 1);
    free(env[i]);
  }
  us_config d;
  us_config_init(&d);
  ASSERT_EQ(US_CONFIG_OK, us_config_from_env(&d, err, sizeof err)) << err;
  EXPECT_STREQ(c.ifname, d.ifname);
  EXPECT_EQ(c.ip, d.ip);
  EXPECT_EQ(c.prefix_len, d.prefix_len);
  EXPECT_EQ(c.gw, d.gw);
  EXPECT_EQ(0, memcmp(c.mac, d.mac, 6));
  EXPECT_STREQ(c.pcap, d.pcap);
}

TEST(ConfigUsage, DocumentsEveryOptionAndVariable) {
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  us_config_usage(f, "ustack");
  fclose(f);
  std::string help(buf, len);
  free(buf);
  for (const char *s : {"--if", "--ip", "--gw", "--dns", "--mac", "--pcap", "--log", "--help"})
    EXPECT_NE(std::string::npos, help.find(s)) << s;
  for (const char *v : kVars) EXPECT_NE(std::string::npos, help.find(v)) << v;
}

TEST(ConfigLog, LevelNames) {
  EXPECT_EQ(US_LOG_NONE, us_log_parse_level("none"));
  EXPECT_EQ(US_LOG_ERROR, us_log_parse_level("ERROR"));
  EXPECT_EQ(US_LOG_WARN, us_log_parse_level("warn"));
  EXPECT_EQ(US_LOG_DEBUG, us_log_parse_level("4"));
  EXPECT_EQ(-1, us_log_parse_level("verbose"));
  EXPECT_EQ(-1, us_log_parse_level(nullptr));
}

}  // namespace

// The kernel owning the stack's address anywhere in the namespace is a
// conflict (it answers ARP for it on every link); another address on the
// stack's interface is not.
TEST(ConfigKernel, AddressTheKernelOwnsIsRefusedNamingTheFix) {
  const us_kernel_addr addrs[] = {{"uc0", 0xc6120002, 24}, {"lo", 0x7f000001, 8},
                                  {"eth7", 0xc612000a, 32}};
  char err[512] = "";
  EXPECT_EQ(0, us_kernel_addr_conflict(addrs, 3, 0xc612000b, err, sizeof err));
  EXPECT_STREQ("", err);
  EXPECT_EQ(0, us_kernel_addr_conflict(addrs, 0, 0xc612000a, err, sizeof err));
  EXPECT_EQ(US_CONFIG_ERROR, us_kernel_addr_conflict(addrs, 3, 0xc612000a, err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "198.18.0.10 on eth7")) << err;
  EXPECT_NE(nullptr, strstr(err, "(ip addr del 198.18.0.10/32 dev eth7)")) << err;
  EXPECT_NE(nullptr, strstr(err, "--ip")) << err;
  EXPECT_EQ(nullptr, strchr(err, '\n'));
}

TEST(ConfigKernel, ListsAddressesAndIgnoresOddInterfaceNames) {
  us_kernel_addr addrs[64];
  int n = us_kernel_addrs(addrs, 64);
  ASSERT_GE(n, 0);
  for (int i = 0; i < n && i < 64; i++) {
    EXPECT_NE(0u, if_nametoindex(addrs[i].ifname)) << addrs[i].ifname;
    EXPECT_LE(addrs[i].prefix_len, 32);
    // lo, when up, holds 127.0.0.1/8
    if (addrs[i].ip == 0x7f000001) EXPECT_EQ(8, addrs[i].prefix_len);
  }
  EXPECT_EQ(n, us_kernel_addrs(nullptr, 0));
  EXPECT_EQ(0, us_kernel_ipv6_on(""));
  EXPECT_EQ(0, us_kernel_ipv6_on("../all"));
  EXPECT_EQ(0, us_kernel_ipv6_on("nosuch_if9"));
}
