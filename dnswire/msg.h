/* SPDX-License-Identifier: MIT */
/*
 * DNS message pieces: constants, the 12-byte header, the question, and the
 * EDNS(0) OPT record (RFC 6891) including DNS cookies (RFC 7873).
 *
 * dw_query_parse() turns untrusted bytes into a struct dw_query without
 * allocating; it never reads outside [msg, msg+len). Pure: libc only.
 */
#ifndef DW_MSG_H
#define DW_MSG_H

#include "dnswire/name.h"

#define DW_HDR_LEN 12

/* header flag bits (second 16-bit word) */
#define DW_QR 0x8000u
#define DW_AA 0x0400u
#define DW_TC 0x0200u
#define DW_RD 0x0100u
#define DW_RA 0x0080u
#define DW_Z 0x0040u
#define DW_AD 0x0020u
#define DW_CD 0x0010u
#define DW_OPCODE(f) (((f) >> 11) & 0xFu)
#define DW_RCODE(f) ((f)&0xFu)

enum dw_opcode {
	DW_OP_QUERY = 0,
	DW_OP_IQUERY = 1,
	DW_OP_STATUS = 2,
	DW_OP_NOTIFY = 4,
	DW_OP_UPDATE = 5,
};

enum dw_rcode {
	DW_NOERROR = 0,
	DW_FORMERR = 1,
	DW_SERVFAIL = 2,
	DW_NXDOMAIN = 3,
	DW_NOTIMP = 4,
	DW_REFUSED = 5,
	DW_NOTAUTH = 9,
	DW_BADVERS = 16, /* extended: needs EDNS */
	DW_BADCOOKIE = 23,
};

enum dw_class {
	DW_C_IN = 1,
	DW_C_CH = 3,
	DW_C_HS = 4,
	DW_C_NONE = 254,
	DW_C_ANY = 255,
};

enum dw_type {
	DW_T_A = 1,
	DW_T_NS = 2,
	DW_T_CNAME = 5,
	DW_T_SOA = 6,
	DW_T_PTR = 12,
	DW_T_HINFO = 13,
	DW_T_MX = 15,
	DW_T_TXT = 16,
	DW_T_AAAA = 28,
	DW_T_SRV = 33,
	DW_T_DNAME = 39,
	DW_T_OPT = 41,
	DW_T_DS = 43,
	DW_T_RRSIG = 46,
	DW_T_NSEC = 47,
	DW_T_DNSKEY = 48,
	DW_T_NSEC3 = 50,
	DW_T_TLSA = 52,
	DW_T_TKEY = 249,
	DW_T_TSIG = 250,
	DW_T_IXFR = 251,
	DW_T_AXFR = 252,
	DW_T_MAILB = 253,
	DW_T_MAILA = 254,
	DW_T_ANY = 255,
	DW_T_CAA = 257,
};

/* EDNS option codes */
#define DW_OPT_COOKIE 10

struct dw_hdr {
	uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

struct dw_edns {
	bool present;
	bool do_bit;
	uint8_t version;
	uint8_t ext_rcode;
	uint16_t udp_size; /* as sent by the client */
	uint16_t flags;    /* the 16 flag bits (DO is the top one) */
	unsigned nopts;    /* number of options seen */
	bool has_cookie;
	uint8_t client_cookie[8];
	uint8_t server_cookie_len; /* 0, or 8..32 */
	uint8_t server_cookie[32];
};

/* Outcome of parsing a query; tells the answerer what to do. */
enum dw_parse_status {
	DW_PARSE_OK = 0,
	DW_PARSE_DROP,	      /* runt or QR=1: send nothing */
	DW_PARSE_FORMERR,     /* FORMERR, question not usable */
	DW_PARSE_FORMERR_Q,   /* FORMERR, question parsed and echoable */
	DW_PARSE_FORMERR_OPT, /* FORMERR because of the OPT record: no OPT back */
};

struct dw_query {
	struct dw_hdr hdr;
	/* question: valid when status is OK or FORMERR_Q/OPT */
	uint8_t qname[DW_NAME_MAX]; /* as sent (case kept) */
	size_t qname_len;
	uint16_t qtype, qclass;
	size_t question_len; /* bytes from offset 12: name + 4 */
	struct dw_edns edns;
};

/* Read the 12-byte header; AD_EMALF if len < 12. */
int dw_hdr_read(const uint8_t *msg, size_t len, struct dw_hdr *h);

/* Write a header at the cursor. */
void dw_hdr_write(struct dw_cur *c, const struct dw_hdr *h);

/*
 * Parse a query message. Sections: exactly what a query may carry - one
 * question, no answer/authority records (else FORMERR), and an additional
 * section with at most one OPT (root owner; a second OPT or a malformed one
 * is FORMERR_OPT). Other additional records (e.g. TSIG) are skipped after
 * bounds checks. Trailing bytes after the last record are ignored.
 * Opcode is not judged here. Returns the status; q is filled as far as
 * parsing got.
 */
enum dw_parse_status dw_query_parse(const uint8_t *msg, size_t len,
				    struct dw_query *q);

/* Append an OPT RR (root owner, no options) advertising udp_size. The
 * extended rcode bits are rcode >> 4. */
void dw_opt_write(struct dw_cur *c, uint16_t udp_size, unsigned rcode,
		  bool do_bit);

#define DW_OPT_LEN 11 /* size of an OPT RR with no options */

#endif
