/* Configuration of a stack host: command-line flags and their USTACK_*
 * environment twins (flags override the environment), validated into one
 * struct. The launcher parses both; the preloaded library reads only the
 * environment, so plain LD_PRELOAD=.../libustack.so works too. */
#ifndef USTACK_SHIM_CONFIG_H
#define USTACK_SHIM_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct us_config {
  char ifname[IF_NAMESIZE]; /* "" = pick the only non-loopback interface */
  uint32_t ip;              /* host byte order; 0 = not given */
  uint8_t prefix_len;
  uint32_t gw;              /* 0 = no default route */
  uint32_t dns;             /* 0 = resolv.conf's first IPv4 nameserver, if any */
  uint8_t mac[6];
  int has_mac;              /* 1: use mac, promiscuous mode */
  char pcap[PATH_MAX];      /* "" = no recording */
  int log_level;            /* enum us_log_level */
  /* Watching the stack (shim/trace_*.c, diagram_*.c, stats_*.c). */
  unsigned trace;           /* US_TRACE_* categories printed; 0 = no text trace */
  char trace_file[PATH_MAX];  /* "" = stderr */
  char trace_json[PATH_MAX];  /* JSON lines of every event; "" = none */
  char diagram[PATH_MAX];     /* HTML page with ladder diagrams and plots; "" = none */
  int stats;                  /* 1: per-connection table and counters at exit */
  char stats_json[PATH_MAX];  /* the same as JSON; "" = none */
  uint32_t from_flags;      /* options given as flags: their twins are ignored */
};

enum {
  US_CONFIG_OK = 0,
  US_CONFIG_HELP = 1,   /* --help given: print us_config_usage, exit 0 */
  US_CONFIG_ERROR = -1, /* err holds one line naming the fix: exit 2 */
};

/* The environment twins, in the order --help lists them. */
#define US_ENV_IF "USTACK_IF"
#define US_ENV_IP "USTACK_IP"
#define US_ENV_GW "USTACK_GW"
#define US_ENV_DNS "USTACK_DNS"
#define US_ENV_MAC "USTACK_MAC"
#define US_ENV_PCAP "USTACK_PCAP"
#define US_ENV_LOG "USTACK_LOG"
#define US_ENV_CTL "USTACK_CTL" /* set by the launcher: its control socket */
#define US_ENV_LAUNCHER "USTACK_LAUNCHER" /* set by the launcher: its pid */
#define US_ENV_TRACE "USTACK_TRACE"
#define US_ENV_TRACE_FILE "USTACK_TRACE_FILE"
#define US_ENV_TRACE_JSON "USTACK_TRACE_JSON"
#define US_ENV_DIAGRAM "USTACK_DIAGRAM"
#define US_ENV_STATS "USTACK_STATS"
#define US_ENV_STATS_JSON "USTACK_STATS_JSON"

/* Trace categories (--trace=arp,dns,tcp,state,cc,drop). */
enum {
  US_TRACE_ARP = 1, US_TRACE_DNS = 2, US_TRACE_TCP = 4, US_TRACE_STATE = 8, US_TRACE_CC = 16,
  US_TRACE_DROP = 32, US_TRACE_ALL = 63,
};
/* "arp,dns" -> bits; "" or "all" -> US_TRACE_ALL. -1 on an unknown name. */
int us_config_parse_trace(const char *s, unsigned *out);

void us_config_init(struct us_config *c);

/* Reads the USTACK_* variables that are set and non-empty, except the twins
 * of options already given as flags (so a flag overrides even a malformed
 * variable). */
int us_config_from_env(struct us_config *c, char *err, size_t errlen);

/* Applies flags from argv[1..]: "--opt VALUE" or "--opt=VALUE". Stops at "--"
 * or at the first argument that is not an option; *prog_index is where the
 * program's argv starts (== argc when none). */
int us_config_parse_args(struct us_config *c, int argc, char **argv, int *prog_index,
                         char *err, size_t errlen);

/* Completes and checks a parsed config against this machine: requires an
 * address, checks the gateway is on-link, picks the interface when none was
 * named (the only non-loopback one), checks it exists, refuses an address
 * the kernel of this namespace owns (warns when it runs IPv6 on the
 * interface: shim/kernel_addr.h), and takes the DNS server from resolv_conf
 * (e.g. "/etc/resolv.conf"; NULL = don't) if unset. */
int us_config_finish(struct us_config *c, const char *resolv_conf, char *err, size_t errlen);

/* Interface choice, separated out for tests: from names (loopback excluded
 * by the caller), the only one; else an error naming the candidates. */
int us_config_pick_if(const char *const *names, size_t n, char *out, size_t outlen,
                      char *err, size_t errlen);

/* First IPv4 nameserver in a resolv.conf, host byte order; 0 if none. */
uint32_t us_config_resolv_dns(const char *path);

/* Field parsers (host byte order). Return 0 or -1. */
int us_config_parse_ip_prefix(const char *s, uint32_t *ip, uint8_t *prefix);
int us_config_parse_ipv4(const char *s, uint32_t *ip);
int us_config_parse_mac(const char *s, uint8_t mac[6]);

/* "NAME=value" strings of the USTACK_* twins of c (only the ones set), for a
 * child's environment. Returns how many were written to out (at most max);
 * each string is malloc'ed. */
int us_config_to_env(const struct us_config *c, char **out, int max);

void us_config_usage(FILE *f, const char *argv0);

#endif
