/* Configuration: flags, USTACK_* twins, validation (see config.h). */
#include "shim/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "shim/kernel_addr.h"
#include "shim/log.h"

#define CFG_FAIL(...) (snprintf(err, errlen, __VA_ARGS__), US_CONFIG_ERROR)

void us_config_init(struct us_config *c) {
  memset(c, 0, sizeof *c);
  c->log_level = US_LOG_WARN;
}

int us_config_parse_ipv4(const char *s, uint32_t *ip) {
  struct in_addr a;
  if (!s || inet_pton(AF_INET, s, &a) != 1) return -1;
  *ip = ntohl(a.s_addr);
  return 0;
}

int us_config_parse_ip_prefix(const char *s, uint32_t *ip, uint8_t *prefix) {
  char buf[32];
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash || (size_t)(slash - s) >= sizeof buf) return -1;
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = 0;
  char *end;
  errno = 0;
  long n = strtol(slash + 1, &end, 10);
  if (errno || end == slash + 1 || *end || n < 1 || n > 32) return -1;
  if (us_config_parse_ipv4(buf, ip) < 0) return -1;
  *prefix = (uint8_t)n;
  return 0;
}

int us_config_parse_mac(const char *s, uint8_t mac[6]) {
  unsigned v[6];
  char tail;
  if (!s) return -1;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
             &tail) != 6 &&
      sscanf(s, "%2x-%2x-%2x-%2x-%2x-%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
             &tail) != 6)
    return -1;
  unsigned any = 0;
  for (int i = 0; i < 6; i++) {
    mac[i] = (uint8_t)v[i];
    any |= v[i];
  }
  /* A host address: not multicast/broadcast (low bit of the first octet), not zero. */
  if ((mac[0] & 1) || !any) return -1;
  return 0;
}

static uint32_t prefix_mask(uint8_t prefix) {
  return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

static void ip_str(uint32_t ip, char *out, size_t n) {
  struct in_addr a = {htonl(ip)};
  inet_ntop(AF_INET, &a, out, (socklen_t)n);
}

/* One setter per option, shared by flags and environment twins; `what` names
 * the source in error messages ("--ip" or "USTACK_IP"). */
enum opt_id { OPT_IF, OPT_IP, OPT_GW, OPT_DNS, OPT_MAC, OPT_PCAP, OPT_LOG, OPT_TRACE,
              OPT_TRACE_FILE, OPT_TRACE_JSON, OPT_DIAGRAM, OPT_STATS, OPT_STATS_JSON, OPT__N };

/* Flags whose value is optional: only "--flag=VALUE" gives one. */
static int opt_value_optional(int id) { return id == OPT_TRACE || id == OPT_STATS; }

static const struct {
  const char *flag, *env;
} opt_names[OPT__N] = {
    [OPT_IF] = {"--if", US_ENV_IF},       [OPT_IP] = {"--ip", US_ENV_IP},
    [OPT_GW] = {"--gw", US_ENV_GW},       [OPT_DNS] = {"--dns", US_ENV_DNS},
    [OPT_MAC] = {"--mac", US_ENV_MAC},    [OPT_PCAP] = {"--pcap", US_ENV_PCAP},
    [OPT_LOG] = {"--log", US_ENV_LOG},
    /* Longest first where one flag is a prefix of another. */
    [OPT_TRACE_FILE] = {"--trace-file", US_ENV_TRACE_FILE},
    [OPT_TRACE_JSON] = {"--trace-json", US_ENV_TRACE_JSON},
    [OPT_TRACE] = {"--trace", US_ENV_TRACE},
    [OPT_DIAGRAM] = {"--diagram", US_ENV_DIAGRAM},
    [OPT_STATS_JSON] = {"--stats-json", US_ENV_STATS_JSON},
    [OPT_STATS] = {"--stats", US_ENV_STATS},
};

int us_config_parse_trace(const char *s, unsigned *out) {
  static const struct { const char *name; unsigned bit; } cats[] = {
      {"arp", US_TRACE_ARP}, {"dns", US_TRACE_DNS}, {"tcp", US_TRACE_TCP},
      {"state", US_TRACE_STATE}, {"cc", US_TRACE_CC}, {"drop", US_TRACE_DROP},
      {"all", US_TRACE_ALL}, {"1", US_TRACE_ALL},
  };
  unsigned bits = 0;
  if (!*s) return *out = US_TRACE_ALL, 0;
  while (*s) {
    size_t n = strcspn(s, ",");
    size_t k;
    for (k = 0; k < sizeof cats / sizeof *cats; k++)
      if (strlen(cats[k].name) == n && strncmp(s, cats[k].name, n) == 0) break;
    if (k == sizeof cats / sizeof *cats) return -1;
    bits |= cats[k].bit;
    s += n;
    if (*s == ',') s++;
  }
  *out = bits;
  return 0;
}

static int set_path(char *dst, size_t cap, const char *v, const char *what, char *err,
                    size_t errlen) {
  if (!*v || strlen(v) >= cap) return CFG_FAIL("%s: '%s' is not a usable file name", what, v);
  strcpy(dst, v);
  return 0;
}

static int set_opt(struct us_config *c, enum opt_id id, const char *v, const char *what,
                   char *err, size_t errlen) {
  switch (id) {
  case OPT_IF:
    if (!*v || strlen(v) >= sizeof c->ifname || strchr(v, '/'))
      return CFG_FAIL("%s: '%s' is not an interface name (see `ip link`)", what, v);
    strcpy(c->ifname, v);
    return 0;
  case OPT_IP:
    if (us_config_parse_ip_prefix(v, &c->ip, &c->prefix_len) < 0)
      return CFG_FAIL("%s: '%s' is not ADDRESS/PREFIX, e.g. 198.18.0.10/24", what, v);
    return 0;
  case OPT_GW:
    if (us_config_parse_ipv4(v, &c->gw) < 0)
      return CFG_FAIL("%s: '%s' is not an IPv4 address, e.g. 198.18.0.1", what, v);
    return 0;
  case OPT_DNS:
    if (us_config_parse_ipv4(v, &c->dns) < 0)
      return CFG_FAIL("%s: '%s' is not an IPv4 address, e.g. 198.18.0.1", what, v);
    return 0;
  case OPT_MAC:
    if (us_config_parse_mac(v, c->mac) < 0)
      return CFG_FAIL("%s: '%s' is not a unicast MAC address, e.g. 02:00:00:00:00:0a", what, v);
    c->has_mac = 1;
    return 0;
  case OPT_PCAP:
    if (!*v || strlen(v) >= sizeof c->pcap)
      return CFG_FAIL("%s: '%s' is not a usable file name", what, v);
    strcpy(c->pcap, v);
    return 0;
  case OPT_LOG: {
    int l = us_log_parse_level(v);
    if (l < 0) return CFG_FAIL("%s: '%s' is not a log level: none, error, warn, info, debug", what, v);
    c->log_level = l;
    return 0;
  }
  case OPT_TRACE:
    if (us_config_parse_trace(v, &c->trace) < 0)
      return CFG_FAIL("%s: '%s' is not a list of arp, dns, tcp, state, cc, drop (or all)", what, v);
    return 0;
  case OPT_TRACE_FILE:
    if (!c->trace) c->trace = US_TRACE_ALL; /* a trace file means a trace */
    return set_path(c->trace_file, sizeof c->trace_file, v, what, err, errlen);
  case OPT_TRACE_JSON: return set_path(c->trace_json, sizeof c->trace_json, v, what, err, errlen);
  case OPT_DIAGRAM: return set_path(c->diagram, sizeof c->diagram, v, what, err, errlen);
  case OPT_STATS:
    if (*v && strcmp(v, "1") && strcmp(v, "0"))
      return CFG_FAIL("%s: '%s' is not 0 or 1 (--stats takes no value)", what, v);
    c->stats = strcmp(v, "0") != 0;
    return 0;
  case OPT_STATS_JSON: return set_path(c->stats_json, sizeof c->stats_json, v, what, err, errlen);
  default:
    return US_CONFIG_ERROR;
  }
}

int us_config_from_env(struct us_config *c, char *err, size_t errlen) {
  for (int id = 0; id < OPT__N; id++) {
    const char *v = getenv(opt_names[id].env);
    if (!v || !*v || (c->from_flags & (1u << id))) continue;
    if (set_opt(c, (enum opt_id)id, v, opt_names[id].env, err, errlen) < 0) return US_CONFIG_ERROR;
  }
  return US_CONFIG_OK;
}

int us_config_parse_args(struct us_config *c, int argc, char **argv, int *prog_index,
                         char *err, size_t errlen) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return US_CONFIG_HELP;
    if (a[0] != '-') break; /* the program */
    int id;
    size_t flen = 0;
    for (id = 0; id < OPT__N; id++) {
      flen = strlen(opt_names[id].flag);
      if (strncmp(a, opt_names[id].flag, flen) == 0 && (a[flen] == 0 || a[flen] == '=')) break;
    }
    if (id == OPT__N) return CFG_FAIL("unknown option '%s' (see ustack --help)", a);
    const char *v;
    if (a[flen] == '=') {
      v = a + flen + 1;
    } else if (opt_value_optional(id)) {
      v = "";
    } else {
      if (i + 1 >= argc) return CFG_FAIL("%s needs a value (see ustack --help)", a);
      v = argv[++i];
    }
    if (set_opt(c, (enum opt_id)id, v, opt_names[id].flag, err, errlen) < 0) return US_CONFIG_ERROR;
    c->from_flags |= 1u << id;
  }
  *prog_index = i;
  return US_CONFIG_OK;
}

int us_config_pick_if(const char *const *names, size_t n, char *out, size_t outlen, char *err,
                      size_t errlen) {
  if (n == 1) {
    snprintf(out, outlen, "%s", names[0]);
    return US_CONFIG_OK;
  }
  if (n == 0)
    return CFG_FAIL("no network interface besides loopback here: create one, or name it with --if (USTACK_IF)");
  char list[256] = "";
  size_t used = 0;
  for (size_t k = 0; k < n && used < sizeof list; k++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", names[k]);
  return CFG_FAIL("%zu interfaces could carry the stack (%s): choose one with --if (USTACK_IF)", n, list);
}

static int pick_default_if(struct us_config *c, char *err, size_t errlen) {
  struct if_nameindex *ifs = if_nameindex();
  if (!ifs) return CFG_FAIL("cannot list network interfaces (%s): name one with --if", strerror(errno));
  const char *names[64];
  size_t n = 0;
  for (struct if_nameindex *p = ifs; p->if_index && n < 64; p++)
    if (strcmp(p->if_name, "lo") != 0) names[n++] = p->if_name;
  int r = us_config_pick_if(names, n, c->ifname, sizeof c->ifname, err, errlen);
  if_freenameindex(ifs);
  return r;
}

uint32_t us_config_resolv_dns(const char *path) {
  FILE *f = path ? fopen(path, "re") : NULL;
  if (!f) return 0;
  char line[512], addr[128];
  uint32_t ip = 0;
  while (!ip && fgets(line, sizeof line, f))
    if (sscanf(line, " nameserver %127s", addr) == 1 && us_config_parse_ipv4(addr, &ip) < 0) ip = 0;
  fclose(f);
  return ip;
}

/* The kernel of this namespace must not own the stack's address (on any
 * interface: see kernel_addr.h); IPv6 on the stack's interface is worth a
 * warning. */
static int check_kernel(const struct us_config *c, char *err, size_t errlen) {
  int n = us_kernel_addrs(NULL, 0);
  if (n > 0) {
    struct us_kernel_addr *addrs = calloc((size_t)n, sizeof *addrs);
    int m = addrs ? us_kernel_addrs(addrs, (size_t)n) : -ENOMEM;
    int r = m > 0 ? us_kernel_addr_conflict(addrs, (size_t)(m < n ? m : n), c->ip, err, errlen) : 0;
    free(addrs);
    if (r < 0) return US_CONFIG_ERROR;
  } /* else cannot tell: the stack's own ARP conflict detection remains */
  if (us_kernel_ipv6_on(c->ifname))
    us_log_warn("the kernel runs IPv6 on %s beside the stack (its neighbour discovery shares the "
                "link); to turn it off: sysctl -w net.ipv6.conf.%s.disable_ipv6=1",
                c->ifname, c->ifname);
  return US_CONFIG_OK;
}

int us_config_finish(struct us_config *c, const char *resolv_conf, char *err, size_t errlen) {
  char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
  if (!c->ip)
    return CFG_FAIL("no address for the stack: give --ip ADDRESS/PREFIX (or set USTACK_IP), e.g. --ip 198.18.0.10/24");
  uint32_t mask = prefix_mask(c->prefix_len);
  ip_str(c->ip, a, sizeof a);
  if ((c->ip >> 24) == 0 || (c->ip >> 24) == 127 || (c->ip >> 28) >= 14)
    return CFG_FAIL("--ip %s/%u is not a usable host address", a, c->prefix_len);
  if (c->prefix_len <= 30 && ((c->ip & ~mask) == 0 || (c->ip & ~mask) == ~mask))
    return CFG_FAIL("--ip %s/%u is the network or broadcast address of its subnet: pick a host address", a, c->prefix_len);
  if (c->gw) {
    ip_str(c->gw, b, sizeof b);
    if (c->gw == c->ip) return CFG_FAIL("--gw %s is the stack's own address: give the router's", b);
    if ((c->gw & mask) != (c->ip & mask))
      return CFG_FAIL("--gw %s is not on the stack's subnet %s/%u: give a router on that link", b, a,
                      c->prefix_len);
  }
  if (!c->ifname[0] && pick_default_if(c, err, errlen) < 0) return US_CONFIG_ERROR;
  if (!if_nametoindex(c->ifname))
    return CFG_FAIL("no interface named '%s' here (see `ip link`): fix --if (USTACK_IF)", c->ifname);
  if (check_kernel(c, err, errlen) < 0) return US_CONFIG_ERROR;
  if (!c->dns) c->dns = us_config_resolv_dns(resolv_conf);
  return US_CONFIG_OK;
}

static char *env_str(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *env_str(const char *name, const char *fmt, ...) {
  char val[PATH_MAX + 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(val, sizeof val, fmt, ap);
  va_end(ap);
  size_t n = strlen(name) + 1 + strlen(val) + 1;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s=%s", name, val);
  return s;
}

int us_config_to_env(const struct us_config *c, char **out, int max) {
  char a[INET_ADDRSTRLEN];
  char *tmp[OPT__N];
  int n = 0;
  if (c->ifname[0]) tmp[n++] = env_str(US_ENV_IF, "%s", c->ifname);
  if (c->ip) ip_str(c->ip, a, sizeof a), tmp[n++] = env_str(US_ENV_IP, "%s/%u", a, c->prefix_len);
  if (c->gw) ip_str(c->gw, a, sizeof a), tmp[n++] = env_str(US_ENV_GW, "%s", a);
  if (c->dns) ip_str(c->dns, a, sizeof a), tmp[n++] = env_str(US_ENV_DNS, "%s", a);
  if (c->has_mac)
    tmp[n++] = env_str(US_ENV_MAC, "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1],
                       c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
  if (c->pcap[0]) tmp[n++] = env_str(US_ENV_PCAP, "%s", c->pcap);
  tmp[n++] = env_str(US_ENV_LOG, "%s", us_log_level_name((enum us_log_level)c->log_level));
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (tmp[i] && k < max) out[k++] = tmp[i];
    else free(tmp[i]);
  }
  return k;
}

void us_config_usage(FILE *f, const char *argv0) {
  fprintf(f,
"usage: %s [options] [--] PROGRAM [ARGS...]\n"
"\n"
"Runs PROGRAM over ustack, a TCP/IP stack in user space that owns one network\n"
"interface through an AF_PACKET socket. The stack lives in this process for as\n"
"long as PROGRAM runs; PROGRAM (and every process it starts) gets libustack.so\n"
"preloaded. The exit status is PROGRAM's (128+N if it was killed by signal N);\n"
"2 means ustack itself could not start.\n"
"\n"
"Options (each has an environment twin; a flag overrides its variable):\n"
"  --if IFACE          interface the stack owns                     USTACK_IF\n"
"                      default: the only non-loopback interface\n"
"  --ip A.B.C.D/N      the stack's IPv4 address and prefix length   USTACK_IP\n"
"                      (required; the kernel must not own it)\n"
"  --gw A.B.C.D        default gateway, on the stack's subnet       USTACK_GW\n"
"  --dns A.B.C.D       DNS server                                   USTACK_DNS\n"
"                      default: first nameserver in /etc/resolv.conf\n"
"  --mac MAC           send from MAC and listen in promiscuous mode USTACK_MAC\n"
"                      instead of using the interface's own MAC\n"
"  --pcap FILE         record every frame sent and received         USTACK_PCAP\n"
"                      (pcap format: tcpdump -r FILE, tshark -r FILE)\n"
"  --log LEVEL         none, error, warn, info or debug (warn)      USTACK_LOG\n"
"\n"
"Watching it work:\n"
"  --trace[=CATS]      print one line per event to stderr, as it    USTACK_TRACE\n"
"                      happens; CATS: arp,dns,tcp,state,cc,drop (all)\n"
"  --trace-file FILE   the trace into FILE instead of stderr        USTACK_TRACE_FILE\n"
"  --trace-json FILE   every event as one JSON object per line      USTACK_TRACE_JSON\n"
"  --diagram FILE      at exit, an HTML page with a ladder diagram  USTACK_DIAGRAM\n"
"                      and cwnd/flight/RTT/window plots per connection\n"
"  --stats             at exit, per-connection statistics (like     USTACK_STATS\n"
"                      ss -ti) and the stack's counters (netstat -s)\n"
"  --stats-json FILE   the same as JSON                             USTACK_STATS_JSON\n"
"  -h, --help          show this help\n"
"\n"
"Set by the launcher for PROGRAM:\n"
"  LD_PRELOAD          absolute path of libustack.so (prepended)\n"
"  USTACK_CTL          the launcher's control socket\n"
"\n"
"Example:\n"
"  %s --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 -- sleep 10\n"
"  %s --trace --stats --diagram out.html --if uc0 --ip 198.18.0.10/24 -- curl URL\n"
"\n"
"  %s ss            live connections and counters of running stacks (like ss -tani)\n"
"  %s stat PID      the same for the stack serving process PID\n",
          argv0, argv0, argv0, argv0, argv0);
}
