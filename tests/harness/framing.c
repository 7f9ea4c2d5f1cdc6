#include "framing.h"

#include <string.h>

size_t frame_prefix(uint8_t out[2], size_t len)
{
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    return 2;
}

void frame_decoder_init(struct frame_decoder *d)
{
    d->have = 0;
}

size_t frame_decoder_push(struct frame_decoder *d, const uint8_t *data, size_t n,
                          void (*on_message)(void *ctx, const uint8_t *msg, size_t len), void *ctx)
{
    size_t done = 0;
    while (n > 0) {
        /* First the 2-byte length, then as many bytes as it says. */
        size_t want = d->have < 2 ? 2 : 2 + (((size_t)d->buf[0] << 8) | d->buf[1]);
        size_t take = want - d->have < n ? want - d->have : n;
        memcpy(d->buf + d->have, data, take);
        d->have += take;
        data += take;
        n -= take;
        if (d->have < 2) continue;
        size_t len = ((size_t)d->buf[0] << 8) | d->buf[1];
        if (d->have == 2 + len) {
            if (on_message) on_message(ctx, d->buf + 2, len);
            d->have = 0;
            done++;
        }
    }
    return done;
}
