/* Hints to the processor that change no result: a prefetch starts loading a cache line that
 * is about to be read, so that the wait for memory overlaps other work. */
#ifndef SYNACK_BASE_HINT_H
#define SYNACK_BASE_HINT_H

/* The cache line the hints assume (x86-64 and most AArch64 parts). */
#define HINT_LINE 64

#if defined(__GNUC__) || defined(__clang__)
#define hint_prefetch(p) __builtin_prefetch(p)
#else
#define hint_prefetch(p) ((void)(p))
#endif

#endif
