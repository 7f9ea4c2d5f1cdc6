/* The real libc functions behind the interposed names (calls.def), and synack_real_NAME: what
 * the library's own copy of synack calls instead of NAME (renamed at build time), so that the
 * runtime's reads, writes, polls and closes never come back through the wrappers. */
#include <dlfcn.h>
#include <stdarg.h>

#include "preload.h"

struct preload_real real;

void preload_resolve(void)
{
    /* dlsym returns an object pointer; POSIX guarantees it converts to a function pointer. */
#define CALL(name, ret, params, args)                                                              \
    if (!real.name) *(void **)&real.name = dlsym(RTLD_NEXT, #name);
#define VCALL(name, ret, params) CALL(name, ret, params, ())
#include "calls.def"
#undef CALL
#undef VCALL
}

/* At load time, before the program runs: afterwards the pointers are only read. */
__attribute__((constructor)) static void real_init(void)
{
    preload_resolve();
}

#define CALL(name, ret, params, args)                                                              \
    ret synack_real_##name params;                                                                 \
    ret synack_real_##name params                                                                  \
    {                                                                                              \
        return REAL(name) args;                                                                    \
    }
#define VCALL(name, ret, params)
#include "calls.def"
#undef CALL
#undef VCALL

/* The variadic ones take their one argument as a pointer, as glibc's own fcntl and ioctl
 * read it (an int argument fills the same register). */
int synack_real_fcntl(int fd, int cmd, ...);
int synack_real_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return REAL(fcntl)(fd, cmd, arg);
}

int synack_real_fcntl64(int fd, int cmd, ...);
int synack_real_fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return REAL(fcntl64)(fd, cmd, arg);
}

int synack_real_ioctl(int fd, unsigned long request, ...);
int synack_real_ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return REAL(ioctl)(fd, request, arg);
}
