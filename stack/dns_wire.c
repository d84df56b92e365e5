/* DNS message reading and building. See dns_wire.h for the rules; every
 * read below is checked against len before it happens. */
#include "stack/byteorder.h"
#include "stack/dns_wire.h"

#include <string.h>

const char *dns_err_str(int err) {
  switch (err) {
  case DNS_OK: return "ok";
  case DNS_E_SHORT: return "length past the end of the message";
  case DNS_E_PTR_RANGE: return "compression pointer out of range";
  case DNS_E_PTR_LOOP: return "compression pointer not backward (loop)";
  case DNS_E_LABEL: return "bad label length or type";
  case DNS_E_NAME_LONG: return "name longer than 255 bytes";
  case DNS_E_RDATA: return "rdata inconsistent with its type";
  case DNS_E_TEXT: return "name is not a valid host name";
  case DNS_E_SPACE: return "no room in the output buffer";
  case DNS_E_CNAME_LOOP: return "CNAME chain too long";
  default: return "unknown error";
  }
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

int dns_read_header(const uint8_t *msg, size_t len, struct dns_header *h) {
  if (len < DNS_HDR_LEN) return DNS_E_SHORT;
  h->id = us_rd16(msg);
  h->flags = us_rd16(msg + 2);
  h->qdcount = us_rd16(msg + 4);
  h->ancount = us_rd16(msg + 6);
  h->nscount = us_rd16(msg + 8);
  h->arcount = us_rd16(msg + 10);
  return DNS_OK;
}

/* Follows labels and pointers from *off. `bound` is the lowest offset the
 * walk has started a label run at; a pointer must land strictly below it and
 * inside the message body, so every jump lowers the bound and the walk ends. */
int dns_read_name(const uint8_t *msg, size_t len, size_t *off, uint8_t *out, size_t *out_len) {
  size_t pos = *off, bound = *off, end = 0, n = 0;
  int jumped = 0;
  for (;;) {
    if (pos >= len) return DNS_E_SHORT;
    uint8_t c = msg[pos];
    if ((c & 0xc0) == 0xc0) {
      if (pos + 1 >= len) return DNS_E_SHORT;
      size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
      if (!jumped) end = pos + 2;
      jumped = 1;
      if (target < DNS_HDR_LEN || target >= len) return DNS_E_PTR_RANGE;
      if (target >= bound) return DNS_E_PTR_LOOP;
      bound = pos = target;
      continue;
    }
    if (c & 0xc0) return DNS_E_LABEL; /* 0x40 / 0x80: extended or reserved */
    if (c == 0) {
      out[n++] = 0; /* room guaranteed by the check on every label */
      if (!jumped) end = pos + 1;
      break;
    }
    if (c > len - pos - 1) return DNS_E_SHORT;
    if (n + 1 + c + 1 > DNS_NAME_MAX) return DNS_E_NAME_LONG; /* keep room for root */
    memcpy(out + n, msg + pos, (size_t)c + 1);
    n += (size_t)c + 1;
    pos += (size_t)c + 1;
  }
  *out_len = n;
  *off = end;
  return DNS_OK;
}

int dns_skip_name(const uint8_t *msg, size_t len, size_t *off) {
  uint8_t tmp[DNS_NAME_MAX];
  size_t n;
  return dns_read_name(msg, len, off, tmp, &n);
}

int dns_read_question(const uint8_t *msg, size_t len, size_t *off, struct dns_question *q) {
  size_t n, pos = *off;
  int err = dns_read_name(msg, len, &pos, q->name, &n);
  if (err) return err;
  if (len - pos < 4) return DNS_E_SHORT;
  q->name_len = (uint8_t)n;
  q->type = us_rd16(msg + pos);
  q->qclass = us_rd16(msg + pos + 2);
  *off = pos + 4;
  return DNS_OK;
}

int dns_read_rr(const uint8_t *msg, size_t len, size_t *off, struct dns_rr *rr) {
  size_t n, pos = *off;
  int err = dns_read_name(msg, len, &pos, rr->name, &n);
  if (err) return err;
  if (len - pos < 10) return DNS_E_SHORT;
  rr->name_len = (uint8_t)n;
  rr->type = us_rd16(msg + pos);
  rr->rclass = us_rd16(msg + pos + 2);
  rr->ttl = us_rd32(msg + pos + 4);
  if (rr->ttl & 0x80000000u) rr->ttl = 0;
  rr->rdlen = us_rd16(msg + pos + 8);
  pos += 10;
  if (rr->rdlen > len - pos) return DNS_E_SHORT;
  rr->rdoff = pos;
  *off = pos + rr->rdlen;
  return DNS_OK;
}

int dns_rr_name(const uint8_t *msg, size_t len, const struct dns_rr *rr, uint8_t *out,
                size_t *out_len) {
  size_t pos = rr->rdoff;
  int err = dns_read_name(msg, len, &pos, out, out_len);
  if (err) return err;
  return pos == rr->rdoff + rr->rdlen ? DNS_OK : DNS_E_RDATA;
}

int dns_rr_soa_ttl(const uint8_t *msg, size_t len, const struct dns_rr *rr, uint32_t *ttl) {
  size_t pos = rr->rdoff, rdend = rr->rdoff + rr->rdlen;
  int err = dns_skip_name(msg, len, &pos);        /* MNAME */
  if (!err) err = dns_skip_name(msg, len, &pos);  /* RNAME */
  if (err) return err;
  /* SERIAL REFRESH RETRY EXPIRE MINIMUM, ending exactly at the rdata end. */
  if (pos > rdend || rdend - pos != 20) return DNS_E_RDATA;
  uint32_t minimum = us_rd32(msg + pos + 16);
  if (minimum & 0x80000000u) minimum = 0;
  *ttl = minimum < rr->ttl ? minimum : rr->ttl;
  return DNS_OK;
}

/* Type-specific checks for the record types the resolver reads. */
static int rr_check(const uint8_t *msg, size_t len, const struct dns_rr *rr) {
  uint8_t tmp[DNS_NAME_MAX];
  size_t n;
  uint32_t ttl;
  if (rr->rclass != DNS_CLASS_IN) return DNS_OK; /* OPT and others: opaque */
  switch (rr->type) {
  case DNS_TYPE_A: return rr->rdlen == 4 ? DNS_OK : DNS_E_RDATA;
  case DNS_TYPE_AAAA: return rr->rdlen == 16 ? DNS_OK : DNS_E_RDATA;
  case DNS_TYPE_CNAME:
  case DNS_TYPE_NS:
  case DNS_TYPE_PTR: return dns_rr_name(msg, len, rr, tmp, &n);
  case DNS_TYPE_SOA: return dns_rr_soa_ttl(msg, len, rr, &ttl);
  default: return DNS_OK;
  }
}

int dns_validate(const uint8_t *msg, size_t len) {
  struct dns_header h;
  int err = dns_read_header(msg, len, &h);
  if (err) return err;
  size_t off = DNS_HDR_LEN;
  for (unsigned i = 0; i < h.qdcount; i++) {
    struct dns_question q;
    if ((err = dns_read_question(msg, len, &off, &q))) return err;
  }
  unsigned records = (unsigned)h.ancount + h.nscount + h.arcount;
  for (unsigned i = 0; i < records; i++) {
    struct dns_rr rr;
    if ((err = dns_read_rr(msg, len, &off, &rr))) return err;
    if ((err = rr_check(msg, len, &rr))) return err;
  }
  return DNS_OK;
}

/* --- Answers --------------------------------------------------------- */

/* One pass over the answer records for the current chain name: collect its
 * addresses of qtype, and note the first CNAME it has. */
static int chain_step(const uint8_t *msg, size_t len, size_t off, unsigned an, uint16_t qtype,
                      struct dns_extract *out, uint8_t *next, size_t *next_len,
                      uint32_t *cname_ttl) {
  int have_cname = 0;
  for (unsigned i = 0; i < an; i++) {
    struct dns_rr rr;
    int err = dns_read_rr(msg, len, &off, &rr);
    if (err) return err;
    if (rr.rclass != DNS_CLASS_IN ||
        !dns_name_eq(rr.name, rr.name_len, out->canon, out->canon_len))
      continue;
    if (rr.type == qtype && qtype == DNS_TYPE_PTR) {
      if (!out->ptr_len && (err = dns_rr_name(msg, len, &rr, out->ptr, &out->ptr_len)))
        return err;
      out->ttl = min_u32(out->ttl, rr.ttl);
    } else if (rr.type == qtype) {
      size_t alen = qtype == DNS_TYPE_A ? 4 : 16;
      if (rr.rdlen != alen) return DNS_E_RDATA;
      if (out->naddrs < US_DNS_MAX_ADDRS) {
        struct us_dns_addr *a = &out->addrs[out->naddrs++];
        memset(a, 0, sizeof *a);
        a->family = qtype == DNS_TYPE_A ? 4 : 6;
        memcpy(a->addr, msg + rr.rdoff, alen);
      }
      out->ttl = min_u32(out->ttl, rr.ttl);
    } else if (rr.type == DNS_TYPE_CNAME && !have_cname) {
      if ((err = dns_rr_name(msg, len, &rr, next, next_len))) return err;
      *cname_ttl = rr.ttl;
      have_cname = 1;
    }
  }
  return have_cname;
}

/* The SOA in the authority section gives the negative TTL (RFC 2308 5). */
static void find_neg_ttl(const uint8_t *msg, size_t len, size_t off, unsigned ns,
                         struct dns_extract *out) {
  for (unsigned i = 0; i < ns; i++) {
    struct dns_rr rr;
    if (dns_read_rr(msg, len, &off, &rr)) return;
    if (rr.type == DNS_TYPE_SOA && rr.rclass == DNS_CLASS_IN &&
        dns_rr_soa_ttl(msg, len, &rr, &out->neg_ttl) == DNS_OK) {
      out->neg_ttl_set = 1;
      return;
    }
  }
}

int dns_extract_answer(const uint8_t *msg, size_t len, size_t off, const struct dns_header *h,
                       const uint8_t *qname, size_t qname_len, uint16_t qtype, int lenient,
                       struct dns_extract *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->canon, qname, qname_len);
  out->canon_len = qname_len;
  out->ttl = UINT32_MAX;

  /* Count the complete answer records; a truncated message may hold fewer
   * than ancount says. */
  unsigned an = 0;
  size_t p = off;
  for (; an < h->ancount; an++) {
    struct dns_rr rr;
    int err = dns_read_rr(msg, len, &p, &rr);
    if (err && lenient) break;
    if (err) return err;
  }

  for (int hop = 0;; hop++) {
    uint8_t next[DNS_NAME_MAX];
    size_t next_len = 0;
    uint32_t cname_ttl = 0;
    int r = chain_step(msg, len, off, an, qtype, out, next, &next_len, &cname_ttl);
    if (r < 0) return r;
    if (out->naddrs || out->ptr_len || r == 0) break; /* found, or the chain ends */
    if (hop >= US_DNS_MAX_CNAME) return DNS_E_CNAME_LOOP;
    out->ttl = min_u32(out->ttl, cname_ttl);
    memcpy(out->canon, next, next_len);
    out->canon_len = next_len;
  }
  if (out->naddrs || out->ptr_len) {
    char text[DNS_TEXT_MAX];
    int err = out->ptr_len ? dns_name_to_text(out->ptr, out->ptr_len, text, sizeof text)
                           : dns_name_to_text(out->canon, out->canon_len, text, sizeof text);
    if (err) return err;
  } else {
    out->ttl = 0;
  }
  if (an == h->ancount) find_neg_ttl(msg, len, p, h->nscount, out);
  return DNS_OK;
}

/* --- Names ------------------------------------------------------------- */

/* Printable ASCII except the two bytes with a meaning in the dotted form. */
static int host_char_ok(unsigned char ch) {
  return ch > 0x20 && ch < 0x7f && ch != '.' && ch != '\\';
}

int dns_name_from_text(const char *text, uint8_t *out, size_t *out_len) {
  size_t n = 0, tlen = strlen(text);
  if (tlen == 1 && text[0] == '.') { /* the root */
    out[0] = 0;
    *out_len = 1;
    return DNS_OK;
  }
  if (tlen > 0 && text[tlen - 1] == '.') tlen--;
  if (tlen == 0) return DNS_E_TEXT;
  size_t i = 0;
  while (i <= tlen) {
    size_t j = i;
    while (j < tlen && text[j] != '.') {
      if (!host_char_ok((unsigned char)text[j])) return DNS_E_TEXT;
      j++;
    }
    size_t lab = j - i;
    if (lab == 0) return DNS_E_TEXT; /* "a..b", ".a" */
    if (lab > DNS_LABEL_MAX) return DNS_E_LABEL;
    if (n + 1 + lab + 1 > DNS_NAME_MAX) return DNS_E_NAME_LONG;
    out[n++] = (uint8_t)lab;
    memcpy(out + n, text + i, lab);
    n += lab;
    i = j + 1;
  }
  out[n++] = 0;
  *out_len = n;
  return DNS_OK;
}

int dns_name_to_text(const uint8_t *name, size_t name_len, char *out, size_t cap) {
  size_t i = 0, o = 0;
  if (cap < 2) return DNS_E_SPACE;
  while (i < name_len && name[i] != 0) {
    size_t lab = name[i];
    if (lab > DNS_LABEL_MAX || lab > name_len - i - 1) return DNS_E_LABEL;
    if (o + lab + 2 > cap) return DNS_E_SPACE; /* label, '.' or NUL */
    if (o) out[o++] = '.';
    for (size_t k = 0; k < lab; k++) {
      unsigned char ch = name[i + 1 + k];
      if (!host_char_ok(ch)) return DNS_E_TEXT;
      out[o++] = (char)ch;
    }
    i += lab + 1;
  }
  if (i >= name_len) return DNS_E_SHORT; /* no root label */
  if (o == 0) out[o++] = '.';
  out[o] = 0;
  return DNS_OK;
}

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int dns_name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  if (alen != blen) return 0;
  for (size_t i = 0; i < alen; i++)
    if (lower(a[i]) != lower(b[i])) return 0;
  return 1;
}

int dns_name_labels(const uint8_t *name, size_t name_len) {
  int labels = 0;
  for (size_t i = 0; i < name_len && name[i] != 0; i += (size_t)name[i] + 1) labels++;
  return labels;
}

/* --- Building ---------------------------------------------------------- */

void dns_b_init(struct dns_builder *b, uint8_t *buf, size_t cap) {
  b->buf = buf;
  b->cap = cap;
  b->len = 0;
  b->err = DNS_OK;
}

void dns_b_bytes(struct dns_builder *b, const void *p, size_t n) {
  if (b->err) return;
  if (n > b->cap - b->len) {
    b->err = DNS_E_SPACE;
    return;
  }
  if (n) memcpy(b->buf + b->len, p, n);
  b->len += n;
}

void dns_b_u16(struct dns_builder *b, uint16_t v) {
  uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  dns_b_bytes(b, x, 2);
}

void dns_b_u32(struct dns_builder *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  dns_b_bytes(b, x, 4);
}

void dns_b_header(struct dns_builder *b, const struct dns_header *h) {
  dns_b_u16(b, h->id);
  dns_b_u16(b, h->flags);
  dns_b_u16(b, h->qdcount);
  dns_b_u16(b, h->ancount);
  dns_b_u16(b, h->nscount);
  dns_b_u16(b, h->arcount);
}

void dns_b_name(struct dns_builder *b, const uint8_t *name, size_t name_len) {
  dns_b_bytes(b, name, name_len);
}

void dns_b_question(struct dns_builder *b, const uint8_t *name, size_t name_len, uint16_t type,
                    uint16_t qclass) {
  dns_b_name(b, name, name_len);
  dns_b_u16(b, type);
  dns_b_u16(b, qclass);
}

void dns_b_rr(struct dns_builder *b, const uint8_t *name, size_t name_len, uint16_t type,
              uint16_t rclass, uint32_t ttl, const void *rdata, uint16_t rdlen) {
  dns_b_name(b, name, name_len);
  dns_b_u16(b, type);
  dns_b_u16(b, rclass);
  dns_b_u32(b, ttl);
  dns_b_u16(b, rdlen);
  dns_b_bytes(b, rdata, rdlen);
}

int dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *name,
                    size_t name_len, uint16_t type) {
  struct dns_builder b;
  struct dns_header h = {.id = id, .flags = DNS_F_RD, .qdcount = 1};
  dns_b_init(&b, buf, cap);
  dns_b_header(&b, &h);
  dns_b_question(&b, name, name_len, type, DNS_CLASS_IN);
  return b.err ? b.err : (int)b.len;
}
