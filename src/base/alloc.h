/* The allocator a configuration names (alloc and free with alloc_ctx), else malloc and free:
 * the one way the core gets memory, whichever layer asks. */
#ifndef SYNACK_ALLOC_H
#define SYNACK_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

#include <synack/synack.h>

static inline void *alloc_mem(const struct synack_config *cfg, size_t size)
{
    return cfg->alloc ? cfg->alloc(cfg->alloc_ctx, size) : malloc(size);
}

/* Gives back what alloc_mem returned; NULL is nothing to free. */
static inline void alloc_free(const struct synack_config *cfg, void *p)
{
    if (!p) return;
    if (cfg->free)
        cfg->free(cfg->alloc_ctx, p);
    else
        free(p);
}

#endif
