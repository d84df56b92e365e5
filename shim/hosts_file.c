/* /etc/hosts parser and lookups. Lines are kept in file order because the
 * first line naming a host gives its canonical name. */
#include "shim/hosts_file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "shim/conf_file.h"
#include "common/alloc.h"

#define HOSTS_FILE_MAX (4 * 1024 * 1024)

struct hosts_line {
  struct us_dns_addr addr;
  size_t first_name; /* offset in names */
  size_t nnames;
};

struct us_hosts {
  struct hosts_line *lines;
  size_t nlines, cap_lines;
  char *names; /* NUL-terminated names, back to back */
  size_t names_len, cap_names;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 16;
  while (ncap < need) ncap *= 2;
  void *np = us_realloc(*p, ncap * elem);
  if (!np) return -1;
  *p = np;
  *cap = ncap;
  return 0;
}

/* NUL counts as a blank: names are stored NUL-terminated. */
static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == 0;
}

/* Next blank-separated token of [*p, end), stopping at a comment. */
static int token(const char **p, const char *end, const char **tok, size_t *tlen) {
  while (*p < end && is_blank(**p)) (*p)++;
  if (*p == end || **p == '#') return 0;
  *tok = *p;
  while (*p < end && !is_blank(**p) && **p != '#') (*p)++;
  *tlen = (size_t)(*p - *tok);
  return 1;
}

static int parse_addr(const char *tok, size_t tlen, struct us_dns_addr *a) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (tlen >= sizeof buf) return -1;
  memcpy(buf, tok, tlen);
  buf[tlen] = 0;
  memset(a, 0, sizeof *a);
  if (inet_pton(AF_INET, buf, a->addr) == 1) {
    a->family = 4;
    return 0;
  }
  if (inet_pton(AF_INET6, buf, a->addr) == 1) {
    a->family = 6;
    return 0;
  }
  return -1;
}

static int add_line(struct us_hosts *h, const char *p, const char *end) {
  const char *tok;
  size_t tlen;
  struct hosts_line line = {.first_name = h->names_len};
  if (!token(&p, end, &tok, &tlen) || parse_addr(tok, tlen, &line.addr)) return 0;
  while (token(&p, end, &tok, &tlen)) {
    if (tlen >= DNS_TEXT_MAX) continue; /* cannot be a host name */
    if (grow((void **)&h->names, &h->cap_names, h->names_len + tlen + 1, 1)) return -1;
    memcpy(h->names + h->names_len, tok, tlen);
    h->names[h->names_len + tlen] = 0;
    h->names_len += tlen + 1;
    line.nnames++;
  }
  if (!line.nnames) return 0;
  if (grow((void **)&h->lines, &h->cap_lines, h->nlines + 1, sizeof line)) return -1;
  h->lines[h->nlines++] = line;
  return 0;
}

struct us_hosts *us_hosts_parse(const char *text, size_t len) {
  struct us_hosts *h = us_calloc(1, sizeof *h);
  if (!h) return NULL;
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end;
    if (add_line(h, p, eol)) {
      us_hosts_free(h);
      return NULL;
    }
    p = nl ? nl + 1 : end;
  }
  return h;
}

struct us_hosts *us_hosts_load(const char *path, int *err) {
  char *text;
  size_t len;
  int rc = us_read_small_file(path, HOSTS_FILE_MAX, &text, &len);
  if (rc) {
    if (err) *err = rc;
    return NULL;
  }
  struct us_hosts *h = us_hosts_parse(text, len);
  us_free(text);
  if (!h && err) *err = -ENOMEM;
  return h;
}

void us_hosts_free(struct us_hosts *h) {
  if (!h) return;
  us_free(h->lines);
  us_free(h->names);
  us_free(h);
}

size_t us_hosts_count(const struct us_hosts *h) { return h ? h->nlines : 0; }

/* Equal ignoring ASCII case and one trailing dot on either side (name's
 * is already cut by the caller). */
static int name_match(const char *entry, const char *name, size_t nlen) {
  size_t elen = strlen(entry);
  if (elen > 1 && entry[elen - 1] == '.') elen--;
  return elen == nlen && strncasecmp(entry, name, nlen) == 0;
}

size_t us_hosts_lookup(const struct us_hosts *h, const char *name, int family,
                       struct us_dns_addr *out, size_t max, const char **canon) {
  size_t nlen = strlen(name), found = 0;
  if (nlen > 1 && name[nlen - 1] == '.') nlen--;
  if (!h || nlen == 0) return 0;
  for (size_t i = 0; i < h->nlines; i++) {
    const struct hosts_line *l = &h->lines[i];
    if (family && l->addr.family != family) continue;
    const char *n = h->names + l->first_name;
    for (size_t k = 0; k < l->nnames; k++, n += strlen(n) + 1) {
      if (!name_match(n, name, nlen)) continue;
      if (found == 0 && canon) *canon = h->names + l->first_name;
      if (found < max) out[found] = l->addr;
      found++;
      break;
    }
  }
  return found;
}

const char *us_hosts_reverse(const struct us_hosts *h, int family, const uint8_t *addr) {
  size_t alen = family == 4 ? 4 : 16;
  if (!h || (family != 4 && family != 6)) return NULL;
  for (size_t i = 0; i < h->nlines; i++) {
    const struct hosts_line *l = &h->lines[i];
    if (l->addr.family == family && memcmp(l->addr.addr, addr, alen) == 0)
      return h->names + l->first_name;
  }
  return NULL;
}
