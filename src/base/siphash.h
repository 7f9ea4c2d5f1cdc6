/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): the
 * keyed hash behind RFC 6528 ISNs, RFC 6056 port offsets and the demux table. */
#ifndef SYNACK_SIPHASH_H
#define SYNACK_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#include <synack/synack.h>

uint64_t siphash24(const uint8_t key[16], const uint8_t *msg, size_t len);

/* The keyed hash of a TCP or UDP 4-tuple (either family; ports in host order). */
uint64_t siphash_tuple(const uint8_t key[16], const struct synack_addr *laddr, uint16_t lport,
                       const struct synack_addr *raddr, uint16_t rport);

#endif
