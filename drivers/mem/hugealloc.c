/* An allocator for the stack's hooks (synack_config alloc/free) that puts large blocks on
 * transparent huge pages: each block of at least `threshold` bytes is a mapping of its own,
 * aligned to 2 MiB and advised MADV_HUGEPAGE (madvise(2)), so that a multi-megabyte buffer
 * costs a page fault and a TLB entry per 2 MiB instead of per 4 KiB; everything smaller
 * comes from malloc. The hooks give free() no size, so the mappings are kept in a table:
 * a free of an address that is not 2 MiB-aligned is malloc's at once, an aligned one is
 * looked up (malloc's blocks may be aligned too, and are then not in the table). A mutex
 * guards the table, for stacks on several threads may share one allocator; only large blocks
 * take it. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <synack/link.h>

#define HUGE_PAGE ((size_t)2 << 20)

struct huge_slot {
    uintptr_t addr; /* the block, the mapping's start */
    size_t len;     /* the mapping's length, a multiple of HUGE_PAGE */
};

struct synack_hugealloc {
    size_t threshold;
    pthread_mutex_t lock;
    struct huge_slot *slots; /* st.blocks of them in use, in no order */
    size_t cap;
    struct synack_hugealloc_stats st;
};

/* Room for one more mapping in the table (doubling it). False if malloc refuses. */
static bool table_room(struct synack_hugealloc *h)
{
    if (h->st.blocks < h->cap) return true;
    size_t cap = h->cap ? 2 * h->cap : 16;
    struct huge_slot *slots = realloc(h->slots, cap * sizeof *slots);
    if (!slots) return false;
    h->slots = slots;
    h->cap = cap;
    return true;
}

/* Removes addr (and counts it out) and returns its mapping's length, or 0 if it is not in
 * the table. A scan: the table holds only the large blocks, a few per connection that moves
 * megabytes, and a scan of thousands costs less than the munmap that follows it. */
static size_t table_take(struct synack_hugealloc *h, uintptr_t addr)
{
    for (size_t i = 0; i < h->st.blocks; i++) {
        if (h->slots[i].addr != addr) continue;
        size_t len = h->slots[i].len;
        h->slots[i] = h->slots[--h->st.blocks];
        h->st.bytes -= len;
        h->st.unmaps++;
        return len;
    }
    return 0;
}

int synack_hugealloc_new(struct synack_hugealloc **out, size_t threshold)
{
    if (!out) return SYNACK_ERR_INVAL;
    *out = NULL;
    struct synack_hugealloc *h = calloc(1, sizeof *h);
    if (!h) return SYNACK_ERR_NOMEM;
    h->threshold = threshold ? threshold : HUGE_PAGE;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return SYNACK_ERR_NOMEM;
    }
    *out = h;
    return 0;
}

void synack_hugealloc_use(struct synack_hugealloc *h, struct synack_config *cfg)
{
    if (!h || !cfg) return;
    cfg->alloc = synack_hugealloc_alloc;
    cfg->free = synack_hugealloc_release;
    cfg->alloc_ctx = h;
}

/* A mapping of `size` bytes rounded up to 2 MiB, starting on a 2 MiB boundary: mapped
 * 2 MiB longer, then the head and the tail beyond the aligned part unmapped. */
static void *map_aligned(size_t size, size_t *len_out)
{
    size_t len = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (len < size || len + HUGE_PAGE < len) return NULL; /* overflow */
    uint8_t *raw =
        mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t start = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    size_t head = start - (uintptr_t)raw;
    if (head) munmap(raw, head);
    if (HUGE_PAGE - head) munmap((uint8_t *)start + len, HUGE_PAGE - head);
    /* Advice only: without THP (or with it "never") the block works on small pages. */
    (void)madvise((void *)start, len, MADV_HUGEPAGE);
    *len_out = len;
    return (void *)start;
}

void *synack_hugealloc_alloc(void *ctx, size_t size)
{
    struct synack_hugealloc *h = ctx;
    if (size < h->threshold) return malloc(size);
    size_t len;
    void *p = map_aligned(size, &len);
    pthread_mutex_lock(&h->lock);
    if (p && !table_room(h)) {
        munmap(p, len);
        p = NULL;
    }
    if (!p) {
        h->st.map_failures++;
        pthread_mutex_unlock(&h->lock);
        return NULL;
    }
    h->slots[h->st.blocks++] = (struct huge_slot){(uintptr_t)p, len};
    h->st.bytes += len;
    h->st.maps++;
    pthread_mutex_unlock(&h->lock);
    return p;
}

void synack_hugealloc_release(void *ctx, void *p)
{
    struct synack_hugealloc *h = ctx;
    if (!p) return;
    if (((uintptr_t)p & (HUGE_PAGE - 1)) == 0) {
        pthread_mutex_lock(&h->lock);
        size_t len = table_take(h, (uintptr_t)p);
        pthread_mutex_unlock(&h->lock);
        if (len) {
            munmap(p, len);
            return;
        }
    }
    free(p);
}

void synack_hugealloc_stats(struct synack_hugealloc *h, struct synack_hugealloc_stats *out)
{
    if (!h || !out) return;
    pthread_mutex_lock(&h->lock);
    *out = h->st;
    pthread_mutex_unlock(&h->lock);
}

void synack_hugealloc_delete(struct synack_hugealloc *h)
{
    if (!h) return;
    /* Blocks still out are unmapped with it: their owner must be gone already. */
    for (size_t i = 0; i < h->st.blocks; i++)
        munmap((void *)h->slots[i].addr, h->slots[i].len);
    free(h->slots);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
