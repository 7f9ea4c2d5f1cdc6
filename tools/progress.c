#include "progress.h"

#include <string.h>
#include <unistd.h>

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void progress_init(struct progress *p, bool wanted)
{
    memset(p, 0, sizeof *p);
    p->out = wanted && isatty(fileno(stderr)) ? stderr : NULL;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    p->last = p->start;
}

/* 1536 -> "1.5 KiB": the same binary units as the K, M, G of --bytes. */
static void human_bytes(double n, char *buf, size_t cap)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (n >= 1024 && u + 1 < sizeof unit / sizeof unit[0]) {
        n /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
}

void progress_update(struct progress *p, uint64_t done, uint64_t total, uint64_t sim_ns)
{
    if (!p->out) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (p->shown && seconds_between(&p->last, &now) < 1.0 / PROGRESS_HZ) return;
    double wall = seconds_between(&p->start, &now);
    char d[32], t[32], rate[32], line[160];
    human_bytes((double)done, d, sizeof d);
    human_bytes(wall > 0 ? (double)done / wall : 0, rate, sizeof rate);
    int n;
    if (total) {
        human_bytes((double)total, t, sizeof t);
        n = snprintf(line, sizeof line, "%s of %s (%.0f%%)", d, t,
                     100.0 * (double)done / (double)total);
    } else {
        n = snprintf(line, sizeof line, "%s", d);
    }
    if (sim_ns && n > 0 && (size_t)n < sizeof line)
        n +=
            snprintf(line + n, sizeof line - (size_t)n, ", %.3f s simulated", (double)sim_ns / 1e9);
    if (n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, ", %s/s real time", rate);
    size_t len = strlen(line);
    /* Pad over a longer line before it, so no tail of it stays on the terminal. */
    fprintf(p->out, "\r%s%*s", line, p->width > len ? (int)(p->width - len) : 0, "");
    fflush(p->out);
    if (len > p->width) p->width = len;
    p->last = now;
    p->shown = true;
}

void progress_end(struct progress *p)
{
    if (!p->out || !p->shown) return;
    fprintf(p->out, "\r%*s\r", (int)p->width, "");
    fflush(p->out);
    p->shown = false;
    p->width = 0;
}

void progress_scenario(void *ctx, uint64_t done, uint64_t total, uint64_t sim_ns)
{
    progress_update(ctx, done, total, sim_ns);
}
