// libustack.so exports only the libc names it interposes (interpose/exports.map)
// and reaches tcmalloc and libuv as shared dependencies, never by carrying
// their code or exporting their names.
#include <gtest/gtest.h>

#include <climits>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <unistd.h>

namespace {

std::string Dir(std::string p) { return p.substr(0, p.rfind('/')); }

// The build tree puts unit_tests in bin/ and libustack.so in lib/.
std::string LibPath() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  exe[n] = 0;
  return Dir(exe) + "/../lib/libustack.so";
}

std::string Shell(const std::string &cmd) {
  std::string out;
  FILE *f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

// Names listed between "global:" and "local:" in the version script.
std::set<std::string> AllowedNames() {
  std::string map = Dir(Dir(Dir(__FILE__))) + "/interpose/exports.map";
  std::ifstream in(map);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  // Drop the /* ... */ comment.
  for (size_t a; (a = text.find("/*")) != std::string::npos;)
    text.erase(a, text.find("*/", a) + 2 - a);
  size_t g = text.find("global:"), l = text.find("local:");
  std::set<std::string> names;
  if (g == std::string::npos || l == std::string::npos) return names;
  std::string body = text.substr(g + 7, l - g - 7);
  for (char &c : body)
    if (c == ';' || c == '\n' || c == '\t') c = ' ';
  std::istringstream words(body);
  for (std::string w; words >> w;) names.insert(w);
  return names;
}

TEST(Exports, OnlyInterposedNames) {
  std::string lib = LibPath();
  if (access(lib.c_str(), R_OK) != 0) GTEST_SKIP() << "libustack.so not built at " << lib;
  std::set<std::string> allowed = AllowedNames();
  ASSERT_GT(allowed.size(), 10u) << "could not read interpose/exports.map";
  ASSERT_TRUE(allowed.count("socket"));
  std::istringstream syms(Shell("nm -D --defined-only " + lib));
  int checked = 0;
  for (std::string line; std::getline(syms, line);) {
    std::istringstream w(line);
    std::string addr, type, name;
    if (!(w >> addr >> type >> name)) continue;
    name = name.substr(0, name.find('@'));  // symbol versions
    EXPECT_TRUE(allowed.count(name)) << "libustack.so exports " << name;
    checked++;
  }
  // The stack, the shim and the libraries it uses stay inside.
  std::string all = Shell("nm -D --defined-only " + lib);
  for (const char *hidden : {"us_stack_new", "us_log", "us_config_parse_args", "us_host_start",
                             "tcp_input", "uv_run", "tc_malloc"})
    EXPECT_EQ(std::string::npos, all.find(std::string(" ") + hidden + "\n")) << hidden;
  RecordProperty("exported", checked);
}

TEST(Exports, TcmallocAndLibuvAreSharedDependencies) {
  std::string lib = LibPath();
  if (access(lib.c_str(), R_OK) != 0) GTEST_SKIP() << "libustack.so not built at " << lib;
  std::string dyn = Shell("objdump -p " + lib + " | grep NEEDED");
  EXPECT_NE(std::string::npos, dyn.find("libuv.so")) << dyn;
#ifdef USTACK_TCMALLOC
  EXPECT_NE(std::string::npos, dyn.find("libtcmalloc_minimal.so")) << dyn;
#endif
  // Neither library's code is carried (and re-exported) by ours.
  std::string defined = Shell("nm -D --defined-only " + lib);
  EXPECT_EQ(std::string::npos, defined.find(" tc_malloc\n"));
  EXPECT_EQ(std::string::npos, defined.find(" uv_loop_init\n"));
}

}  // namespace
