/* The capture wrapper: every packet crossing it, either way, goes to a pcap file (link.h).
 *
 * It sits next to the stack, so the file holds what the stack really sent and received:
 * an outgoing packet is written when the stack hands it over, whether or not the inner
 * link then takes it; an incoming one when it is handed to the stack. A failed capture
 * write (disk full, ...) is counted in capture_errors and the packet goes on its way:
 * losing the capture must not break the connection. */
#include "synack/link.h"

#include <stdio.h>
#include <stdlib.h>

struct pcap_link {
    struct synack_link base;
    struct synack_link *inner;
    struct synack_pcap *file;
    synack_time_t epoch_offset; /* added to `now` for the file's timestamps */
    struct synack_link_stats stats;
};

static struct pcap_link *pcap_link_of(struct synack_link *l)
{
    return (struct pcap_link *)(void *)l;
}

static const struct pcap_link *pcap_link_of_const(const struct synack_link *l)
{
    return (const struct pcap_link *)(const void *)l;
}

static void pcap_link_capture(struct pcap_link *c, const uint8_t *pkt, size_t len,
                              synack_time_t now)
{
    if (synack_pcap_write(c->file, pkt, len, now + c->epoch_offset) < 0) c->stats.capture_errors++;
}

static synack_ssize pcap_link_recv(struct synack_link *l, uint8_t *buf, size_t cap,
                                   synack_time_t now)
{
    struct pcap_link *c = pcap_link_of(l);
    synack_ssize n = synack_link_recv(c->inner, buf, cap, now);
    if (n <= 0) return n;
    pcap_link_capture(c, buf, (size_t)n, now);
    c->stats.rx_packets++;
    c->stats.rx_bytes += (uint64_t)n;
    return n;
}

/* send and queue: captured, then handed to the inner link by `pass` (its send or queue). */
static int pcap_link_pass(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now,
                          int (*pass)(struct synack_link *, const uint8_t *, size_t, synack_time_t))
{
    struct pcap_link *c = pcap_link_of(l);
    if (pkt == NULL || len == 0) return SYNACK_ERR_INVAL;
    pcap_link_capture(c, pkt, len, now);
    int rc = pass(c->inner, pkt, len, now);
    if (rc < 0) {
        c->stats.tx_errors++;
        return rc;
    }
    c->stats.tx_packets++;
    c->stats.tx_bytes += len;
    return 0;
}

static int pcap_link_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    return pcap_link_pass(l, pkt, len, now, synack_link_send);
}

static int pcap_link_queue(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    return pcap_link_pass(l, pkt, len, now, synack_link_queue);
}

static void pcap_link_flush(struct synack_link *l, synack_time_t now)
{
    synack_link_flush(pcap_link_of(l)->inner, now);
}

static int pcap_link_fd(const struct synack_link *l)
{
    return synack_link_fd(pcap_link_of_const(l)->inner);
}

static synack_time_t pcap_link_next_deadline(const struct synack_link *l)
{
    return synack_link_next_deadline(pcap_link_of_const(l)->inner);
}

static void pcap_link_poll(struct synack_link *l, synack_time_t now)
{
    synack_link_poll(pcap_link_of(l)->inner, now);
}

static unsigned pcap_link_mtu(const struct synack_link *l)
{
    return synack_link_mtu(pcap_link_of_const(l)->inner);
}

static void pcap_link_stats(const struct synack_link *l, struct synack_link_stats *out)
{
    *out = pcap_link_of_const(l)->stats;
}

static void pcap_link_free(struct synack_link *l)
{
    struct pcap_link *c = pcap_link_of(l);
    /* free cannot report a failed flush; capture_errors already told what it could. */
    (void)synack_pcap_close(c->file);
    synack_link_free(c->inner);
    free(c);
}

static const struct synack_link_ops pcap_link_ops = {
    .kind = "pcap",
    .recv = pcap_link_recv,
    .send = pcap_link_send,
    .fd = pcap_link_fd,
    .next_deadline = pcap_link_next_deadline,
    .poll = pcap_link_poll,
    .mtu = pcap_link_mtu,
    .stats = pcap_link_stats,
    .free = pcap_link_free,
    .queue = pcap_link_queue,
    .flush = pcap_link_flush,
};

int synack_pcap_wrap(struct synack_link **out, struct synack_link *inner, const char *path,
                     synack_time_t epoch_offset, char *err, size_t errcap)
{
    if (out != NULL) *out = NULL;
    if (out == NULL || inner == NULL || path == NULL) {
        if (err != NULL && errcap > 0) snprintf(err, errcap, "capture: no link or no file name");
        synack_link_free(inner);
        return SYNACK_ERR_INVAL;
    }
    struct pcap_link *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        if (err != NULL && errcap > 0) snprintf(err, errcap, "capture %s: out of memory", path);
        synack_link_free(inner);
        return SYNACK_ERR_NOMEM;
    }
    int rc = synack_pcap_open(&c->file, path, err, errcap);
    if (rc < 0) {
        free(c);
        synack_link_free(inner);
        return rc;
    }
    c->base.ops = &pcap_link_ops;
    c->inner = inner;
    c->epoch_offset = epoch_offset;
    *out = &c->base;
    return 0;
}
