/* /etc/resolv.conf parser, following resolv.conf(5) and glibc's reading of
 * it: a keyword starts the line; the last "search" or "domain" line wins;
 * at most three nameservers; options are clamped to glibc's limits. */
#include "shim/resolv_conf.h"

#include <arpa/inet.h>
#include <string.h>

#include "shim/conf_file.h"
#include "common/alloc.h"

#define RESOLV_FILE_MAX (64 * 1024)

void us_resolv_conf_defaults(struct us_resolv_conf *rc) {
  memset(rc, 0, sizeof *rc);
  rc->ndots = 1;
  rc->timeout = 5;
  rc->attempts = 2;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* A cursor over one line. Tokens are separated by blanks; '#' or ';' starts
 * a comment that runs to the end of the line. */
struct line {
  const char *p, *end;
};

static int next_token(struct line *l, const char **tok, size_t *tlen) {
  while (l->p < l->end && is_space(*l->p)) l->p++;
  if (l->p == l->end || *l->p == '#' || *l->p == ';') return 0;
  const char *start = l->p;
  while (l->p < l->end && !is_space(*l->p)) l->p++;
  *tok = start;
  *tlen = (size_t)(l->p - start);
  return 1;
}

static int tok_is(const char *tok, size_t tlen, const char *word) {
  return tlen == strlen(word) && memcmp(tok, word, tlen) == 0;
}

static void add_nameserver(struct us_resolv_conf *rc, const char *tok, size_t tlen) {
  char buf[64];
  struct in_addr a;
  if (rc->nns >= US_RESOLV_MAXNS || tlen >= sizeof buf) return;
  memcpy(buf, tok, tlen);
  buf[tlen] = 0;
  /* IPv6 servers are skipped: the stack speaks IPv4 only. */
  if (inet_pton(AF_INET, buf, &a) != 1) return;
  rc->ns[rc->nns++] = ntohl(a.s_addr);
}

/* Replace the search list with the tokens left on the line (or in a
 * LOCALDOMAIN string). Domains too long for a name are skipped; a trailing
 * dot is dropped. */
static void set_search(struct us_resolv_conf *rc, struct line *l) {
  const char *tok;
  size_t tlen;
  rc->nsearch = 0;
  while (rc->nsearch < US_RESOLV_MAXSEARCH && next_token(l, &tok, &tlen)) {
    if (tlen > 1 && tok[tlen - 1] == '.') tlen--;
    if (tlen == 0 || tlen >= DNS_TEXT_MAX) continue;
    if (tlen == 1 && tok[0] == '.') continue; /* the root adds nothing */
    memcpy(rc->search[rc->nsearch], tok, tlen);
    rc->search[rc->nsearch][tlen] = 0;
    rc->nsearch++;
  }
}

/* "name:value" with a small decimal value, clamped to max. Returns 0 if tok
 * is not this option, -1 if it is but the value is malformed (ignored, as
 * glibc does), 1 with *out set. */
static int option_value(const char *tok, size_t tlen, const char *name, int max, int *out) {
  size_t nlen = strlen(name);
  if (tlen <= nlen || memcmp(tok, name, nlen) != 0 || tok[nlen] != ':') return 0;
  if (tlen == nlen + 1) return -1;
  long v = 0;
  for (size_t i = nlen + 1; i < tlen; i++) {
    if (tok[i] < '0' || tok[i] > '9') return -1;
    if (v <= max) v = v * 10 + (tok[i] - '0');
  }
  *out = v > max ? max : (int)v;
  return 1;
}

static void parse_options(struct us_resolv_conf *rc, struct line *l) {
  const char *tok;
  size_t tlen;
  while (next_token(l, &tok, &tlen)) {
    int v;
    if (option_value(tok, tlen, "ndots", 15, &v) > 0) {
      rc->ndots = v;
    } else if (option_value(tok, tlen, "timeout", 30, &v) > 0) {
      if (v >= 1) rc->timeout = v;
    } else if (option_value(tok, tlen, "attempts", US_DNS_MAX_ATTEMPTS, &v) > 0) {
      if (v >= 1) rc->attempts = v;
    }
    /* rotate, edns0, single-request, ...: not used by this resolver */
  }
}

static void parse_line(struct us_resolv_conf *rc, const char *p, const char *end) {
  struct line l = {p, end};
  const char *kw, *tok;
  size_t klen, tlen;
  /* glibc requires the keyword at the start of the line. */
  if (p == end || is_space(*p)) return;
  if (!next_token(&l, &kw, &klen)) return;
  if (tok_is(kw, klen, "nameserver")) {
    if (next_token(&l, &tok, &tlen)) add_nameserver(rc, tok, tlen);
  } else if (tok_is(kw, klen, "search") || tok_is(kw, klen, "domain")) {
    set_search(rc, &l);
    if (tok_is(kw, klen, "domain") && rc->nsearch > 1) rc->nsearch = 1;
  } else if (tok_is(kw, klen, "options")) {
    parse_options(rc, &l);
  }
}

void us_resolv_conf_parse(const char *text, size_t len, struct us_resolv_conf *rc) {
  us_resolv_conf_defaults(rc);
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end;
    parse_line(rc, p, eol);
    p = nl ? nl + 1 : end;
  }
}

int us_resolv_conf_load(const char *path, struct us_resolv_conf *rc) {
  char *text_buf;
  size_t len = 0;
  int err = us_read_small_file(path, RESOLV_FILE_MAX, &text_buf, &len);
  if (err) {
    us_resolv_conf_defaults(rc);
    return err;
  }
  us_resolv_conf_parse(text_buf, len, rc);
  us_free(text_buf);
  return 0;
}

void us_resolv_conf_env(struct us_resolv_conf *rc, const char *localdomain,
                        const char *res_options) {
  if (localdomain) {
    struct line l = {localdomain, localdomain + strlen(localdomain)};
    set_search(rc, &l);
  }
  if (res_options) {
    struct line l = {res_options, res_options + strlen(res_options)};
    parse_options(rc, &l);
  }
}

void us_resolv_conf_to_dns(const struct us_resolv_conf *rc, struct us_dns_config *cfg) {
  if (!cfg->server && rc->nns > 0) cfg->server = rc->ns[0];
  cfg->nsearch = rc->nsearch;
  for (int i = 0; i < rc->nsearch; i++) cfg->search[i] = rc->search[i];
  cfg->ndots = rc->ndots;
  cfg->timeout_ms = (uint32_t)rc->timeout * 1000u;
  cfg->attempts = rc->attempts;
}
