/*
 * Length-prefixed messages over TCP's byte stream. TCP keeps no message boundaries: two
 * writes may arrive in one read (glued, 粘包) and one write in several reads (split,
 * 拆包). Sending each message after its length (2 bytes, big-endian) and reassembling on
 * the other side gives the boundaries back; `synack demo --scenario sticky-packets` shows
 * both the problem and this fix.
 */
#ifndef SYNACK_FRAMING_H
#define SYNACK_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 65535 /* the largest message a 2-byte length can announce */

/* Writes `len` (at most FRAME_MAX) as the 2-byte prefix into `out`. Returns 2. */
size_t frame_prefix(uint8_t out[2], size_t len);

struct frame_decoder {
    uint8_t buf[FRAME_MAX + 2];
    size_t have; /* bytes of the current frame held, prefix included */
};

void frame_decoder_init(struct frame_decoder *d);

/* Feeds `n` bytes of the stream, in any pieces; calls `on_message` for each whole message
 * (its bytes, its length), in order. Returns how many messages completed. */
size_t frame_decoder_push(struct frame_decoder *d, const uint8_t *data, size_t n,
                          void (*on_message)(void *ctx, const uint8_t *msg, size_t len), void *ctx);

#endif
