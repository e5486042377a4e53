/*
 * ldns, loaded when the first user network's DNS server starts (lib/lazy_lib.h): linked in, it
 * brought OpenSSL's libcrypto into every berthd, which most never serve a name. Include it
 * instead of <ldns/ldns.h>.
 */
#pragma once
#include <ldns/ldns.h>

#include "lib/lazy_lib.h"

#define LIBLDNS_FUNCTIONS(X)    \
	X(ldns_pkt2wire)        \
	X(ldns_pkt_free)        \
	X(ldns_pkt_get_opcode)  \
	X(ldns_pkt_id)          \
	X(ldns_pkt_new)         \
	X(ldns_pkt_push_rr)     \
	X(ldns_pkt_qdcount)     \
	X(ldns_pkt_qr)          \
	X(ldns_pkt_question)    \
	X(ldns_pkt_rd)          \
	X(ldns_pkt_set_id)      \
	X(ldns_pkt_set_opcode)  \
	X(ldns_pkt_set_qdcount) \
	X(ldns_pkt_set_qr)      \
	X(ldns_pkt_set_ra)      \
	X(ldns_pkt_set_rcode)   \
	X(ldns_pkt_set_rd)      \
	X(ldns_rdf2str)         \
	X(ldns_rr_clone)        \
	X(ldns_rr_get_class)    \
	X(ldns_rr_get_type)     \
	X(ldns_rr_list_rr)      \
	X(ldns_rr_new_frm_str)  \
	X(ldns_rr_owner)        \
	X(ldns_wire2pkt)

struct libldns_fns {
	LIBLDNS_FUNCTIONS(LAZY_FIELD)
};
extern struct libldns_fns libldns_fn;

/* libldns.so.3: lazy_lib_hold and lazy_lib_release it around its use, or lazy_lib_pin it. */
extern struct lazy_lib libldns_lib;

/* Defined by the loader, which takes the library's own symbols. */
#ifndef LIBLDNS_DIRECT
#define ldns_pkt2wire        libldns_fn.ldns_pkt2wire
#define ldns_pkt_free        libldns_fn.ldns_pkt_free
#define ldns_pkt_get_opcode  libldns_fn.ldns_pkt_get_opcode
#define ldns_pkt_id          libldns_fn.ldns_pkt_id
#define ldns_pkt_new         libldns_fn.ldns_pkt_new
#define ldns_pkt_push_rr     libldns_fn.ldns_pkt_push_rr
#define ldns_pkt_qdcount     libldns_fn.ldns_pkt_qdcount
#define ldns_pkt_qr          libldns_fn.ldns_pkt_qr
#define ldns_pkt_question    libldns_fn.ldns_pkt_question
#define ldns_pkt_rd          libldns_fn.ldns_pkt_rd
#define ldns_pkt_set_id      libldns_fn.ldns_pkt_set_id
#define ldns_pkt_set_opcode  libldns_fn.ldns_pkt_set_opcode
#define ldns_pkt_set_qdcount libldns_fn.ldns_pkt_set_qdcount
#define ldns_pkt_set_qr      libldns_fn.ldns_pkt_set_qr
#define ldns_pkt_set_ra      libldns_fn.ldns_pkt_set_ra
#define ldns_pkt_set_rcode   libldns_fn.ldns_pkt_set_rcode
#define ldns_pkt_set_rd      libldns_fn.ldns_pkt_set_rd
#define ldns_rdf2str         libldns_fn.ldns_rdf2str
#define ldns_rr_clone        libldns_fn.ldns_rr_clone
#define ldns_rr_get_class    libldns_fn.ldns_rr_get_class
#define ldns_rr_get_type     libldns_fn.ldns_rr_get_type
#define ldns_rr_list_rr      libldns_fn.ldns_rr_list_rr
#define ldns_rr_new_frm_str  libldns_fn.ldns_rr_new_frm_str
#define ldns_rr_owner        libldns_fn.ldns_rr_owner
#define ldns_wire2pkt        libldns_fn.ldns_wire2pkt
#endif
