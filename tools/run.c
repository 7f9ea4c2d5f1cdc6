/* `synack run`: an unmodified program with its TCP and UDP sockets on synack. Checks the
 * link options, finds the preload library (preload/), puts it in LD_PRELOAD with the options
 * in SYNACK_RUN_OPTS and executes the program; the library does the rest. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "netopt.h"

/* The separator of the options in SYNACK_RUN_OPTS (ASCII unit separator: no option holds it). */
#define RUN_OPTS_SEP '\x1f'
#define RUN_PRELOAD_NAME "libsynack-preload.so"
#define RUN_CAP_NET_ADMIN 12 /* linux/capability.h */

#ifndef SYNACK_RUN_LIBDIR
#define SYNACK_RUN_LIBDIR "lib" /* CMAKE_INSTALL_LIBDIR, relative to the install prefix */
#endif
#ifndef SYNACK_RUN_PREFIX
#define SYNACK_RUN_PREFIX "/usr/local" /* CMAKE_INSTALL_PREFIX as configured */
#endif

static const char run_usage[] =
    "usage: synack run [options] [--] PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM, unmodified, with its IPv4 and IPv6 TCP and UDP sockets on a synack stack of\n"
    "its own (an LD_PRELOAD library, " RUN_PRELOAD_NAME ", routes the socket calls),\n"
    "like Onload's `onload`. Everything else stays with the kernel: files, pipes, AF_UNIX and\n"
    "netlink sockets, raw sockets. poll, select and epoll over synack sockets and kernel\n"
    "descriptors together work; threads work.\n"
    "\n"
    "Defaults: a TUN device synack0 (root or CAP_NET_ADMIN) whose kernel side is\n"
    "198.18.0.1/24 and 2001:db8::1/64 while the program's stack takes 198.18.0.2/24 and\n"
    "2001:db8::2/64, so `sudo synack run -- curl http://198.18.0.1/` reaches a server of the\n"
    "kernel's. Any --addr or --tun-host-addr replaces those defaults.\n"
    "\n"
    "The stack starts at the program's first IPv4 or IPv6 socket: a program that opens none is\n"
    "not affected at all (no device is created). Each process has its own stack: a program that\n"
    "starts another under synack run gives it a stack of its own, so give each concurrent one\n"
    "its own --link (tun:NAME or udp:...) and --addr.\n"
    "\n"
    "  --trace               one line on stderr per call on a synack socket, with its result\n"
    "                        (\"synack run (nc): write(5) = 16384\"): strace for synack sockets\n"
    "  --stacks N            N stacks, one per core, on N queues of the TUN (the kernel steers\n"
    "                        each flow to one): connections go to the stacks in turn, listening\n"
    "                        and bound UDP sockets take what arrives at any (TUN only; not with\n"
    "                        impairments or --pcap)\n"
    "  -h, --help            this help\n"
    "\n"
    "%s"
    "\n"
    "What is not the kernel's (docs/RUN.md has the details):\n"
    "  fork                  allowed: the child keeps its kernel descriptors and may exec, but\n"
    "                        cannot use the parent's synack sockets (EBADF, and one line on\n"
    "                        stderr) nor open new ones (EACCES); closing them is fine\n"
    "  dup, dup2, dup3       of a synack socket: refused with EOPNOTSUPP (and one line on\n"
    "                        stderr); onto a synack socket: that socket is closed first\n"
    "  exit                  sockets still open are closed (FIN) and the process waits up to\n"
    "                        3 s for what they still have to send to be acknowledged\n"
    "  glibc's own sockets   the resolver (DNS) and getaddrinfo's address sorting use the\n"
    "                        kernel: glibc calls them internally, where no preload can see\n"
    "\n"
    "examples:\n"
    "  sudo synack run -- curl http://198.18.0.1:8000/         (a kernel server on the TUN)\n"
    "  sudo synack run --loss 1%% --pcap c.pcap -- python3 -m http.server 8000\n"
    "  synack run --link udp:127.0.0.1:9001,127.0.0.1:9000 --addr 198.18.77.1/24 -- nc -l 5000\n"
    "  synack run --link udp:127.0.0.1:9000,127.0.0.1:9001 --addr 198.18.77.2/24 -- \\\n"
    "      nc -N 198.18.77.1 5000 < file                      (two processes, no root)\n"
    "\n"
    "exit status: PROGRAM's; 2 for bad usage; 1 when the preload library is missing or the\n"
    "link cannot be used (TUN without root); 127 when PROGRAM is not found, 126 when it\n"
    "cannot be executed.\n";

/* "DIR/NAME" into `out` if that is a readable file. */
static bool try_path(char *out, size_t cap, const char *dir, const char *rel)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, rel) >= sizeof path) return false;
    if (access(path, R_OK) != 0 || !realpath(path, out)) return false;
    return strlen(out) < cap;
}

/* The preload library: beside this binary (the build tree), then under the install prefix
 * this binary sits in (PREFIX/bin/synack: PREFIX/LIBDIR/synack/), then the configured one.
 * 0, or 1 after printing where it looked. */
static int find_preload(char *out, size_t cap)
{
    char exe[PATH_MAX], dir[PATH_MAX + 4];
    const char *in_prefix = SYNACK_RUN_LIBDIR "/synack/" RUN_PRELOAD_NAME;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        if (try_path(out, cap, exe, RUN_PRELOAD_NAME)) return 0;
        snprintf(dir, sizeof dir, "%s/..", exe);
        if (try_path(out, cap, dir, in_prefix)) return 0;
    }
    if (try_path(out, cap, SYNACK_RUN_PREFIX, in_prefix)) return 0;
    fprintf(stderr,
            "synack run: cannot find %s (looked beside %s, in ../%s/synack/ from it and in "
            "%s/%s/synack/): build it (make) or install synack (make install)\n",
            RUN_PRELOAD_NAME, n > 0 ? exe : "the synack binary", SYNACK_RUN_LIBDIR,
            SYNACK_RUN_PREFIX, SYNACK_RUN_LIBDIR);
    return 1;
}

/* Whether this process holds CAP_NET_ADMIN (its effective set, /proc/self/status). */
static bool has_net_admin(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return false;
    char line[256];
    unsigned long long caps = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &caps) == 1) break;
    fclose(f);
    return (caps >> RUN_CAP_NET_ADMIN) & 1;
}

/* A TUN link needs the privilege and the device node: say so now rather than at the
 * program's first socket. 0, or 1 after printing why. */
static int check_tun(const struct net_opts *o)
{
    if (strncmp(o->link, "tun:", 4) != 0) return 0;
    if (geteuid() != 0 && !has_net_admin()) {
        fprintf(stderr,
                "synack run: --link %s needs root or CAP_NET_ADMIN (sudo synack run ...); "
                "without them use --link udp:LOCALIP:PORT,PEERIP:PORT\n",
                o->link);
        return 1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "synack run: cannot open /dev/net/tun (%s)%s\n", strerror(errno),
                errno == ENOENT ? ": load the tun module (modprobe tun)" : "");
        return 1;
    }
    close(fd);
    return 0;
}

/* Where PROGRAM is: as given when it holds a '/', else the first match in PATH. 0, or the
 * exit status of a shell (127 not found, 126 not executable) after printing why. */
static int check_program(const char *prog)
{
    if (strchr(prog, '/')) {
        if (access(prog, F_OK) != 0)
            return fprintf(stderr, "synack run: %s: no such file\n", prog), 127;
        if (access(prog, X_OK) != 0)
            return fprintf(stderr, "synack run: %s: not executable\n", prog), 126;
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        char full[PATH_MAX];
        struct stat st;
        if (snprintf(full, sizeof full, "%.*s/%s", (int)len, len ? p : ".", prog) <
                (int)sizeof full &&
            stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            return 0;
        p += len;
        if (*p == ':') p++;
    }
    fprintf(stderr, "synack run: %s: command not found (not in PATH)\n", prog);
    return 127;
}

/* SYNACK_RUN_OPTS: the link options as given (without --trace), separated by RUN_OPTS_SEP.
 * 0, or 1. */
static int export_opts(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len), *w = s;
    if (!s) return fprintf(stderr, "synack run: out of memory\n"), 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0) continue;
        if (w > s) *w++ = RUN_OPTS_SEP;
        size_t n = strlen(argv[i]);
        memcpy(w, argv[i], n);
        w += n;
    }
    *w = 0;
    int rc = setenv("SYNACK_RUN_OPTS", s, 1);
    free(s);
    return rc == 0 ? 0 : (fprintf(stderr, "synack run: setenv: %s\n", strerror(errno)), 1);
}

/* LD_PRELOAD with the library first, before whatever was there already. 0, or 1. */
static int export_preload(const char *lib)
{
    if (strpbrk(lib, " :"))
        return fprintf(stderr,
                       "synack run: the preload library's path %s holds a space or a colon, "
                       "which LD_PRELOAD cannot carry: move the build or the install\n",
                       lib),
               1;
    const char *had = getenv("LD_PRELOAD");
    char *v = NULL;
    if (asprintf(&v, "%s%s%s", lib, had && *had ? " " : "", had && *had ? had : "") < 0)
        return fprintf(stderr, "synack run: out of memory\n"), 1;
    int rc = setenv("LD_PRELOAD", v, 1);
    free(v);
    return rc == 0 ? 0 : (fprintf(stderr, "synack run: setenv: %s\n", strerror(errno)), 1);
}

/* Parses the options up to PROGRAM; sets *prog to its index (and *trace for --trace). 0, -1
 * for --help (printed), or 2 after printing why. */
static int parse_args(struct net_opts *o, int argc, char **argv, int *prog, bool *trace)
{
    net_opts_default(o);
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(run_usage, net_opts_help);
            return -1;
        }
        if (strcmp(a, "--trace") == 0) {
            *trace = true;
            i++;
            continue;
        }
        if (a[0] != '-' || a[1] == 0) break; /* PROGRAM */
        int rc = net_opts_parse(o, "run", argc, argv, &i);
        if (rc < 0) return 2;
        if (rc == 0) return cli_fail("run", "unknown option '%s' (see synack run --help)", a);
    }
    if (i >= argc)
        return cli_fail("run", "no program to run: synack run [options] -- PROGRAM [ARGS...]");
    *prog = i;
    net_opts_default_tun_addrs(o);
    return net_opts_check(o, "run");
}

int cmd_run(int argc, char **argv)
{
    struct net_opts o;
    int prog = 0;
    bool trace = false;
    int rc = parse_args(&o, argc, argv, &prog, &trace);
    if (rc) return rc < 0 ? 0 : rc;
    int nopts = prog - 1;
    if (nopts > 0 && strcmp(argv[prog - 1], "--") == 0) nopts--;
    char lib[PATH_MAX];
    if ((rc = check_program(argv[prog])) != 0 || (rc = check_tun(&o)) != 0 ||
        (rc = find_preload(lib, sizeof lib)) != 0 || (rc = export_opts(nopts, argv + 1)) != 0 ||
        (rc = export_preload(lib)) != 0)
        return rc;
    if (trace && setenv("SYNACK_RUN_TRACE", "1", 1) != 0)
        return fprintf(stderr, "synack run: setenv: %s\n", strerror(errno)), 1;
    execvp(argv[prog], argv + prog);
    int err = errno;
    fprintf(stderr, "synack run: cannot execute %s: %s\n", argv[prog], strerror(err));
    return err == ENOENT ? 127 : 126;
}
