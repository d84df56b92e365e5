/* DNS messages on the wire (RFC 1035 section 4, RFC 3596 for AAAA): reading
 * and building the header, the question, resource records and names.
 *
 * Reading works on a (msg, len) view of the whole message, because a
 * compressed name may point anywhere earlier in it. Every read is checked
 * against len; nothing reads past it. Names are returned in uncompressed wire
 * form (length-prefixed labels ending with the zero root label, at most 255
 * bytes), which is what the resolver compares; dns_name_to_text makes the
 * dotted form for programs.
 *
 * Compression pointers must point strictly before the start of the label run
 * that holds them (RFC 1035 4.1.4: "a prior occurrence"). That forbids
 * forward pointers and makes loops impossible: each jump lowers the bound. */
#ifndef USTACK_DNS_WIRE_H
#define USTACK_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNS_PORT 53
#define DNS_HDR_LEN 12
#define DNS_NAME_MAX 255   /* wire form, root label included */
#define DNS_LABEL_MAX 63
#define DNS_TEXT_MAX 254   /* dotted form without trailing dot, plus NUL */
#define DNS_UDP_MAX 512    /* without EDNS0 (RFC 1035 4.2.1) */

enum {
  DNS_TYPE_A = 1,
  DNS_TYPE_NS = 2,
  DNS_TYPE_CNAME = 5,
  DNS_TYPE_SOA = 6,
  DNS_TYPE_PTR = 12,
  DNS_TYPE_AAAA = 28,
  DNS_TYPE_OPT = 41,
  DNS_CLASS_IN = 1,
};

/* Header flag bits and fields. */
enum {
  DNS_F_QR = 0x8000,
  DNS_F_AA = 0x0400,
  DNS_F_TC = 0x0200,
  DNS_F_RD = 0x0100,
  DNS_F_RA = 0x0080,
};
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags) & 0xf)

enum {
  DNS_RCODE_NOERROR = 0,
  DNS_RCODE_FORMERR = 1,
  DNS_RCODE_SERVFAIL = 2,
  DNS_RCODE_NXDOMAIN = 3,
  DNS_RCODE_NOTIMP = 4,
  DNS_RCODE_REFUSED = 5,
};

/* Why a message was rejected. Negative return values of the readers. */
enum dns_err {
  DNS_OK = 0,
  DNS_E_SHORT = -1,      /* a field or length runs past the end of the message */
  DNS_E_PTR_RANGE = -2,  /* compression pointer outside the message or into the header */
  DNS_E_PTR_LOOP = -3,   /* compression pointer not strictly backward (forward or loop) */
  DNS_E_LABEL = -4,      /* label longer than 63, or a reserved label type (0x40/0x80) */
  DNS_E_NAME_LONG = -5,  /* name longer than 255 bytes */
  DNS_E_RDATA = -6,      /* rdata inconsistent with its type (A not 4 bytes, ...) */
  DNS_E_TEXT = -7,       /* name not representable as a host name */
  DNS_E_SPACE = -8,      /* builder: output buffer full */
  DNS_E_CNAME_LOOP = -9, /* answer: CNAME chain too long (a loop) */
};
const char *dns_err_str(int err);

struct dns_header {
  uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

struct dns_question {
  uint8_t name[DNS_NAME_MAX];
  uint8_t name_len;
  uint16_t type, qclass;
};

/* A resource record; rdata stays in the message (rdoff, rdlen) because names
 * inside it may be compressed against the message. */
struct dns_rr {
  uint8_t name[DNS_NAME_MAX];
  uint8_t name_len;
  uint16_t type, rclass;
  uint32_t ttl;   /* already clamped: RFC 2181 8, values with the top bit set are 0 */
  uint16_t rdlen;
  size_t rdoff;
};

/* --- Reading ----------------------------------------------------------- */

/* Header at the start of msg. */
int dns_read_header(const uint8_t *msg, size_t len, struct dns_header *h);

/* Name at *off: writes the uncompressed wire form to out (DNS_NAME_MAX bytes)
 * and its length to *out_len; advances *off past the name where it sits
 * (past the first pointer if it is compressed). Returns 0 or a dns_err. */
int dns_read_name(const uint8_t *msg, size_t len, size_t *off, uint8_t *out, size_t *out_len);

/* Skip a name at *off without decoding it (still fully validated). */
int dns_skip_name(const uint8_t *msg, size_t len, size_t *off);

int dns_read_question(const uint8_t *msg, size_t len, size_t *off, struct dns_question *q);
int dns_read_rr(const uint8_t *msg, size_t len, size_t *off, struct dns_rr *rr);

/* The target of a CNAME (or NS/PTR) record; it must fill rdata exactly. */
int dns_rr_name(const uint8_t *msg, size_t len, const struct dns_rr *rr, uint8_t *out,
                size_t *out_len);
/* The negative-caching TTL of an SOA record: min(rr ttl, SOA MINIMUM)
 * (RFC 2308 5). */
int dns_rr_soa_ttl(const uint8_t *msg, size_t len, const struct dns_rr *rr, uint32_t *ttl);

/* Walk a whole message: header, every question and record of all sections.
 * Used to validate a message before trusting any part of it (and by the
 * fuzzer). Returns 0 or a dns_err. */
int dns_validate(const uint8_t *msg, size_t len);

/* --- Answers --------------------------------------------------------- */

#define US_DNS_MAX_ADDRS 32 /* per record type in one result */
#define US_DNS_MAX_CNAME 16 /* longest CNAME chain followed */

/* An address from an A or AAAA record (also the resolver's result type). */
struct us_dns_addr {
  uint8_t family;   /* 4 or 6 */
  uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
};

/* The answer section of a NOERROR/NXDOMAIN reply, read for (qname, qtype):
 * follows the CNAME chain from qname and collects the addresses (A, AAAA)
 * or the first host name (PTR) at its end. */
struct dns_extract {
  struct us_dns_addr addrs[US_DNS_MAX_ADDRS];
  int naddrs;
  uint8_t canon[DNS_NAME_MAX]; /* end of the chain, wire form */
  size_t canon_len;
  uint8_t ptr[DNS_NAME_MAX];   /* PTR: the name pointed to; ptr_len 0 if none */
  size_t ptr_len;
  uint32_t ttl;     /* min TTL of the chain and the addresses */
  int neg_ttl_set;  /* an SOA in the authority section gave a negative TTL */
  uint32_t neg_ttl;
};
/* off: first byte after the question. lenient: the message was truncated
 * (TC), so stop quietly at the first incomplete record. Returns 0 or a
 * dns_err (DNS_E_CNAME_LOOP for a chain longer than US_DNS_MAX_CNAME). */
int dns_extract_answer(const uint8_t *msg, size_t len, size_t off, const struct dns_header *h,
                       const uint8_t *qname, size_t qname_len, uint16_t qtype, int lenient,
                       struct dns_extract *out);

/* --- Names ------------------------------------------------------------- */

/* "www.Example.com" or "www.example.com." to wire form. Rejects empty
 * labels, labels over 63, names over 255 wire bytes, and characters that
 * cannot be in a host name query (control bytes, space, backslash, 0x7f+). */
int dns_name_from_text(const char *text, uint8_t *out, size_t *out_len);
/* Wire form to "www.example.com" (no trailing dot; the root is "."). Rejects
 * names with bytes that would be ambiguous or unsafe in text: '.', '\\',
 * control bytes, space and non-ASCII. cap >= DNS_TEXT_MAX always suffices. */
int dns_name_to_text(const uint8_t *name, size_t name_len, char *out, size_t cap);
/* Case-insensitive (ASCII) equality of two wire-form names. */
int dns_name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Number of labels (the root not counted). */
int dns_name_labels(const uint8_t *name, size_t name_len);

/* --- Building ---------------------------------------------------------- */

/* Builds a message into a caller's buffer; the first error sticks in err and
 * later calls do nothing, so a caller checks once at the end. Names are
 * written uncompressed (queries only carry one). */
struct dns_builder {
  uint8_t *buf;
  size_t cap, len;
  int err;
};

void dns_b_init(struct dns_builder *b, uint8_t *buf, size_t cap);
void dns_b_header(struct dns_builder *b, const struct dns_header *h);
void dns_b_u16(struct dns_builder *b, uint16_t v);
void dns_b_u32(struct dns_builder *b, uint32_t v);
void dns_b_bytes(struct dns_builder *b, const void *p, size_t n);
void dns_b_name(struct dns_builder *b, const uint8_t *name, size_t name_len);
void dns_b_question(struct dns_builder *b, const uint8_t *name, size_t name_len, uint16_t type,
                    uint16_t qclass);
void dns_b_rr(struct dns_builder *b, const uint8_t *name, size_t name_len, uint16_t type,
              uint16_t rclass, uint32_t ttl, const void *rdata, uint16_t rdlen);

/* A standard recursive query for (name, type, IN). Returns its length, or a
 * negative dns_err if cap is too small. */
int dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *name,
                    size_t name_len, uint16_t type);

#endif
