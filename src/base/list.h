/*
 * An intrusive doubly linked list with a tail: the node lives inside the element (found
 * again with LIST_ENTRY, container_of), so insert, append and remove are O(1) and cost no
 * allocation. One list serves the listener queues, the orphans and the TIME-WAIT records.
 */
#ifndef SYNACK_BASE_LIST_H
#define SYNACK_BASE_LIST_H

#include <stddef.h>

struct list_node {
    struct list_node *prev, *next; /* NULL at the ends; both NULL when in no list */
};

struct list {
    struct list_node *head, *tail; /* both NULL when empty */
};

/* The element of type `type` whose member `member` is the node `node` (NULL stays NULL). */
#define LIST_ENTRY(node, type, member)                                                             \
    ((node) ? (type *)(void *)((char *)(node)-offsetof(type, member)) : (type *)NULL)

/* Inserts `n` after `at` in `l`; `at` NULL inserts at the head. */
static inline void list_insert_after(struct list *l, struct list_node *at, struct list_node *n)
{
    n->prev = at;
    n->next = at ? at->next : l->head;
    if (n->next)
        n->next->prev = n;
    else
        l->tail = n;
    if (at)
        at->next = n;
    else
        l->head = n;
}

static inline void list_push_front(struct list *l, struct list_node *n)
{
    list_insert_after(l, NULL, n);
}

static inline void list_push_back(struct list *l, struct list_node *n)
{
    list_insert_after(l, l->tail, n);
}

/* Takes `n`, which is in `l`, out of it. */
static inline void list_remove(struct list *l, struct list_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

#endif
