/*
 * The receiver's out-of-order queue. Text that arrives above RCV.NXT is copied straight
 * into the receive ring's free space at its offset, and remembered as a block
 * [left, right); when RCV.NXT reaches a block, its bytes become readable without another
 * copy. The blocks are also what SACK reports (RFC 2018 §4), most recent first.
 */
#include <string.h>

#include "tcp/conn.h"

/* RFC 2883 §4: remember [left, right) as a duplicate to report in the next ACK. */
static void note_dsack(struct synack_tcp *c, uint32_t left, uint32_t right)
{
    if (!(c->flags & TCP_F_SACK) || !seq_lt(left, right)) return;
    struct tcp_rare *r = tcp_rare_get(c); /* the report lives there: without it, none */
    if (!r) return;
    r->dsack_left = left;
    r->dsack_right = right;
    c->flags |= TCP_F_DSACK;
}

void tcp_reasm_note_duplicate(struct synack_tcp *c, uint32_t left, uint32_t right)
{
    note_dsack(c, left, right);
}

static void ooo_remove(struct tcp_ooo_table *t, unsigned i)
{
    t->bytes -= t->blk[i].right - t->blk[i].left;
    memmove(&t->blk[i], &t->blk[i + 1], (t->n - i - 1) * sizeof t->blk[0]);
    t->n--;
}

/* Merges [left, right) into the sorted block list. Returns false if it needs a new block
 * and none is free. Sets *dup when every byte was already held. */
static bool ooo_insert(struct synack_tcp *c, uint32_t left, uint32_t right, bool *dup)
{
    *dup = false;
    struct tcp_ooo_table *t = c->ooo;
    unsigned n = tcp_ooo_count(c);
    /* The first block whose right edge reaches `left` (binary search: blocks are sorted
     * and disjoint). */
    unsigned lo = 0, hi = n;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (seq_lt(t->blk[mid].right, left))
            lo = mid + 1;
        else
            hi = mid;
    }
    unsigned i = lo;
    if (i < n && seq_leq(t->blk[i].left, left) && seq_geq(t->blk[i].right, right)) {
        *dup = true;
        t->blk[i].stamp = ++t->stamp;
        return true;
    }
    if (i == n || seq_lt(right, t->blk[i].left)) {
        /* Touches no block: a new one at i (the table may come, grow and move). */
        if (!tcp_ooo_room(c)) return false;
        t = c->ooo;
        memmove(&t->blk[i + 1], &t->blk[i], (n - i) * sizeof t->blk[0]);
        t->n++;
        t->blk[i].left = left;
        t->blk[i].right = right;
        t->blk[i].stamp = ++t->stamp;
        t->bytes += right - left;
        return true;
    }
    /* Overlaps or abuts block i (and maybe the ones after it): widen i, absorb them. */
    struct tcp_ooo *b = &t->blk[i];
    t->bytes -= b->right - b->left;
    if (seq_lt(left, b->left)) b->left = left;
    if (seq_gt(right, b->right)) b->right = right;
    while (i + 1 < t->n && seq_leq(t->blk[i + 1].left, b->right)) {
        if (seq_gt(t->blk[i + 1].right, b->right)) b->right = t->blk[i + 1].right;
        ooo_remove(t, i + 1);
    }
    t->bytes += b->right - b->left;
    b->stamp = ++t->stamp;
    return true;
}

uint32_t tcp_reasm_input(struct synack_tcp *c, uint32_t seq, const uint8_t *data, uint32_t len,
                         bool *immediate)
{
    bool had_ooo = tcp_ooo_count(c) > 0;
    uint32_t off = seq - c->rcv_nxt;
    size_t space = ring_space(&c->rcvq);
    /* The window may have been rounded up by the scale factor (RFC 7323 §2.4): keep only
     * what the buffer holds. */
    if (off >= space) {
        tcp_count_drop(c, SYNACK_DROP_RCV_BUFFER);
        *immediate = true;
        return 0;
    }
    if (len > space - off) {
        tcp_count_drop(c, SYNACK_DROP_RCV_BUFFER);
        len = (uint32_t)(space - off);
    }
    if (!tcp_ring_storage(c, &c->rcvq)) {
        /* The first data, and the allocator refused its buffer: the sender resends it. */
        tcp_count_drop(c, SYNACK_DROP_NO_MEMORY);
        return 0;
    }
    if (off > 0) {
        /* Out of order: keep it (RFC 9293 §3.10.7.4 seventh step allows it; RFC 5681
         * §4.2 wants an immediate duplicate ACK). */
        bool dup;
        TCP_COUNT(c, out_of_order);
        *immediate = true;
        if (tcp_mem_pressure(c)) {
            /* The stack holds its mem_budget: what is not in order waits for the sender's
             * retransmission (it has it; RFC 9293 lets a receiver drop it). */
            tcp_count_drop(c, SYNACK_DROP_MEM_BUDGET);
            return 0;
        }
        if (!ooo_insert(c, seq, seq + len, &dup)) {
            tcp_count_drop(c, SYNACK_DROP_RCV_BUFFER);
            return 0;
        }
        if (dup)
            note_dsack(c, seq, seq + len);
        else
            ring_write_at(&c->rcvq, off, data, len);
        return 0;
    }
    ring_write_at(&c->rcvq, 0, data, len);
    uint32_t end = seq + len;
    /* Absorb the blocks the new text reaches. */
    struct tcp_ooo_table *t = c->ooo;
    while (t && t->n && seq_leq(t->blk[0].left, end)) {
        if (seq_gt(t->blk[0].right, end)) end = t->blk[0].right;
        ooo_remove(t, 0);
    }
    uint32_t took = end - seq;
    ring_commit(&c->rcvq, took);
    /* RFC 5681 §4.2: ACK at once when the segment fills (part of) a hole. */
    if (had_ooo) *immediate = true;
    return took;
}

unsigned tcp_reasm_sack_blocks(struct synack_tcp *c, struct wire_tcp_sack_block *out, unsigned max)
{
    unsigned n = 0;
    if (!(c->flags & TCP_F_SACK) || max == 0) return 0;
    if (c->flags & TCP_F_DSACK) { /* set only with the rare block (note_dsack) */
        out[n].left = c->rare->dsack_left;
        out[n].right = c->rare->dsack_right;
        n++;
    }
    /* RFC 2018 §4: the first block holds the most recently received segment; the rest
     * repeat the most recently reported blocks. Selection by stamp, newest first. */
    uint32_t below = UINT32_MAX;
    while (n < max) {
        int best = -1;
        const struct tcp_ooo *blk = c->ooo ? c->ooo->blk : NULL;
        for (unsigned i = 0; i < tcp_ooo_count(c); i++) {
            if (blk[i].stamp >= below) continue;
            if (best < 0 || blk[i].stamp > blk[best].stamp) best = (int)i;
        }
        if (best < 0) break;
        out[n].left = blk[best].left;
        out[n].right = blk[best].right;
        below = blk[best].stamp;
        n++;
    }
    return n;
}
