/*
 * zygote.c: --preload. A zygote is a process that imports the application
 * once and forks the workers from itself, so that the pages the import
 * filled stay shared, copy-on-write, between them.
 *
 * A Go program cannot fork once its runtime runs (the child would have one
 * thread of many), so the zygote never starts it: the supervisor starts the
 * zygote as it starts a worker, the Go side prepares the interpreter's
 * settings as a worker would and hands them here by re-executing the binary
 * (Preload, preload.go), and the constructor below, which runs before the
 * Go runtime does, starts Python, loads the app and serves fork requests
 * from then on. A child forked here returns from the constructor: its Go
 * runtime starts as a worker's would, finds the interpreter loaded (Start
 * adopts it, gw_adopt) and takes the environment the supervisor sent for it.
 *
 * Each worker is forked twice (the zygote's child forks it and exits), so
 * that it is reparented to the supervisor, a child subreaper: the
 * supervisor waits for it, signals it and sees its exit status as for a
 * worker it started itself, and the worker lives on when the zygote dies.
 * Both forks are the C library's fork(), so the application's libraries
 * see them (pthread_atfork handlers: OpenSSL, OpenBLAS...), and Python's
 * fork protocol runs around them (os.register_at_fork: random reseeds).
 *
 * The protocol on the zygote's socket (SOCK_SEQPACKET, one message each) is
 * described in prefork/zygote.go, the supervisor's side.
 */
#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The environment that makes a process a zygote: the supervisor's socket
 * (prefork's envZygoteFD) and the settings written by Preload. */
#define ZYGOTE_FD_ENV "GOWSGI_ZYGOTE_FD"
#define CONFIG_FD_ENV "GOWSGI_PRELOAD_CONFIG_FD"

#define MAX_FORK_FDS 16
#define MAX_MESSAGE (1 << 20)

int gw_zygote;

/* Set in a worker forked from a zygote, before its Go runtime starts. */
int gw_preloaded;
char *gw_preloaded_env; /* the worker's environment: entries, each NUL-terminated */
size_t gw_preloaded_env_len;

/* The signal dispositions and mask the zygote was started with: a worker
 * forked from it starts its Go runtime with them, as if started afresh. */
static struct sigaction start_actions[NSIG];
static sigset_t start_mask;

static void die(const char *what) {
    fprintf(stderr, "gowsgi: zygote: %s: %s\n", what, strerror(errno));
    _exit(1);
}

/* The settings a zygote needs, in the order written: the strings, then the
 * numbers, then the kept signals. One list, for writer and reader. */
#define CONFIG_STRINGS(X)                                                                                     \
    X(boot_source) X(spec) X(pythonpath) X(virtualenv) X(server_software) X(home) X(executable) X(hop_by_hop) \
        X(environ_keys) X(hooks_source)
#define CONFIG_INTS(X) X(multithread) X(multiprocess) X(errfd)

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_field(int fd, const char *s) { return write_all(fd, s ? s : "", strlen(s ? s : "") + 1); }

/* gw_config_write writes the settings a zygote loads the app with to fd:
 * cfg's, and the signals the server keeps (signals.c). */
int gw_config_write(int fd, const gw_config *cfg) {
    char num[32];
#define W_STR(f)                          \
    if (write_field(fd, cfg->f) < 0)      \
        return -1;
#define W_INT(f)                                 \
    snprintf(num, sizeof num, "%d", cfg->f);     \
    if (write_field(fd, num) < 0)                \
        return -1;
    CONFIG_STRINGS(W_STR)
    CONFIG_INTS(W_INT)
#undef W_STR
#undef W_INT
    for (int sig = 1; sig < NSIG; sig++) {
        if (!gw_signals_kept(sig))
            continue;
        snprintf(num, sizeof num, "%d", sig);
        if (write_field(fd, num) < 0)
            return -1;
    }
    return 0;
}

/* read_config reads what gw_config_write wrote into cfg, whose strings
 * point into the returned buffer. */
static char *read_config(int fd, gw_config *cfg) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            die("reading the settings");
        if (n == cap)
            buf = realloc(buf, cap *= 2);
        if (buf == NULL)
            die("reading the settings");
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("reading the settings");
        if (r == 0)
            break;
        n += (size_t)r;
    }
    char *p = buf, *end = buf + n;
#define NEXT(dst)                                                          \
    if (p >= end || memchr(p, '\0', (size_t)(end - p)) == NULL) {          \
        fprintf(stderr, "gowsgi: zygote: the settings are incomplete\n"); \
        _exit(1);                                                          \
    }                                                                      \
    dst = p;                                                               \
    p += strlen(p) + 1;
#define R_STR(f) NEXT(cfg->f)
#define R_INT(f)         \
    {                    \
        const char *v;   \
        NEXT(v)          \
        cfg->f = atoi(v); \
    }
    CONFIG_STRINGS(R_STR)
    CONFIG_INTS(R_INT)
#undef R_STR
#undef R_INT
    while (p < end) {
        const char *v;
        NEXT(v)
        gw_signals_keep(atoi(v));
    }
#undef NEXT
    return buf;
}

/* reply sends one message to the supervisor; a zygote whose supervisor is
 * gone has nothing left to do. */
static void reply(int sock, char kind, const void *p, size_t n) {
    char msg[512];
    if (n > sizeof msg - 1)
        n = sizeof msg - 1;
    msg[0] = kind;
    if (n > 0)
        memcpy(msg + 1, p, n);
    if (send(sock, msg, n + 1, MSG_NOSIGNAL) < 0)
        _exit(0);
}

static void reply_error(int sock, const char *what, int err) {
    char msg[256];
    int n = snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
    reply(sock, 'E', msg, (size_t)n);
}

/* A fork request, as received. */
typedef struct {
    int nfds;
    int fds[MAX_FORK_FDS];
    int targets[MAX_FORK_FDS];
    const char *env; /* entries, each NUL-terminated */
    size_t env_len;
} fork_request;

/* receive reads the next fork request into buf; 0 at end of file (the
 * supervisor closed its end: the zygote is no longer wanted), -1 after
 * replying why a malformed one is refused. */
static int receive(int sock, char *buf, fork_request *req) {
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int) * MAX_FORK_FDS)];
    } ctl;
    struct iovec iov = {buf, MAX_MESSAGE};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.b;
    m.msg_controllen = sizeof ctl.b;
    ssize_t n;
    do
        n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        die("reading a request");
    if (n == 0)
        return 0;
    req->nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (req->nfds < MAX_FORK_FDS)
                req->fds[req->nfds++] = fd;
            else
                close(fd);
        }
    }
    uint32_t ntargets;
    size_t head = 1 + sizeof ntargets;
    if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < head || buf[0] != 'F')
        goto bad;
    memcpy(&ntargets, buf + 1, sizeof ntargets);
    if ((int)ntargets != req->nfds || (size_t)n < head + ntargets * sizeof(int32_t))
        goto bad;
    for (int i = 0; i < req->nfds; i++) {
        int32_t t;
        memcpy(&t, buf + head + i * sizeof t, sizeof t);
        req->targets[i] = t;
    }
    req->env = buf + head + ntargets * sizeof(int32_t);
    req->env_len = (size_t)n - head - ntargets * sizeof(int32_t);
    if (req->env_len > 0 && req->env[req->env_len - 1] != '\0')
        goto bad;
    return 1;
bad:
    for (int i = 0; i < req->nfds; i++)
        close(req->fds[i]);
    errno = EPROTO;
    reply_error(sock, "malformed fork request", EPROTO);
    return -1;
}

/* become_worker turns the freshly forked grandchild into a worker about to
 * start its Go runtime: the descriptors the supervisor sent take the
 * numbers it chose, the environment it sent waits for the Go side
 * (PreloadedWorker), and once the supervisor is its parent the worker dies
 * with it, as a worker the supervisor started does. */
static void become_worker(int sock, const fork_request *req, pid_t supervisor) {
    PyOS_AfterFork_Child();
    gw_zygote = 0;
    close(sock);
    /* Out of the way of the targets first, then onto them. */
    int top = 0;
    for (int i = 0; i < req->nfds; i++)
        if (req->targets[i] > top)
            top = req->targets[i];
    int moved[MAX_FORK_FDS];
    for (int i = 0; i < req->nfds; i++) {
        moved[i] = fcntl(req->fds[i], F_DUPFD_CLOEXEC, top + 1);
        if (moved[i] < 0)
            die("moving a descriptor");
        close(req->fds[i]);
    }
    for (int i = 0; i < req->nfds; i++) {
        if (dup2(moved[i], req->targets[i]) < 0)
            die("placing a descriptor");
        close(moved[i]);
    }
    gw_preloaded_env = malloc(req->env_len + 1);
    if (gw_preloaded_env == NULL)
        die("copying the environment");
    memcpy(gw_preloaded_env, req->env, req->env_len);
    gw_preloaded_env_len = req->env_len;
    gw_preloaded = 1;

    /* The zygote's child exits right after forking this one. */
    for (int i = 0; getppid() != supervisor; i++) {
        if (i == 5000) {
            fprintf(stderr, "gowsgi: zygote: the forked worker was not handed to the supervisor "
                            "(is it a child subreaper?)\n");
            _exit(1);
        }
        usleep(1000);
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != supervisor)
        _exit(1);

    /* faulthandler's handlers go with the zygote's (after_fork sets the
     * worker's up once Go's are in place), and the dispositions the app's
     * import left go too: the Go runtime starts as in a fresh process. */
    PyObject *fh = PyImport_ImportModule("faulthandler");
    PyObject *r = fh ? PyObject_CallMethod(fh, "disable", NULL) : NULL;
    if (r == NULL)
        PyErr_Print();
    Py_XDECREF(r);
    Py_XDECREF(fh);
    /* faulthandler gave the main thread an alternate signal stack of its
     * own (SIGSTKSZ * 2, from the heap) and keeps it when disabled. A Go
     * runtime that finds an alternate stack on a thread adopts it for its
     * signal handler, which Go otherwise gives 32 KiB: a worker's main
     * thread was seen taking Go's signals on faulthandler's stack (a
     * SIGABRT traceback of a worker that had stopped serving). Without one
     * the worker starts as a fresh process does, and Go installs its own. */
    stack_t no_stack;
    memset(&no_stack, 0, sizeof no_stack);
    no_stack.ss_flags = SS_DISABLE;
    sigaltstack(&no_stack, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &start_actions[sig], NULL);
    sigprocmask(SIG_SETMASK, &start_mask, NULL);
}

/* fork_worker serves one fork request: it returns 1 in the new worker, 0 in
 * the zygote once it has replied with the worker's pid or the reason there
 * is none. */
static int fork_worker(int sock, const fork_request *req, pid_t supervisor) {
    int pids[2];
    if (pipe2(pids, O_CLOEXEC) < 0) {
        reply_error(sock, "pipe", errno);
        return 0;
    }
    PyOS_BeforeFork();
    pid_t mid = fork();
    if (mid == 0) {
        pid_t w = fork();
        if (w == 0) {
            become_worker(sock, req, supervisor);
            return 1;
        }
        int result[2] = {w, w < 0 ? errno : 0};
        (void)!write(pids[1], result, sizeof result);
        _exit(0);
    }
    int err = errno;
    PyOS_AfterFork_Parent();
    close(pids[1]);
    for (int i = 0; i < req->nfds; i++)
        close(req->fds[i]);
    if (mid < 0) {
        close(pids[0]);
        reply_error(sock, "fork", err);
        return 0;
    }
    int result[2] = {-1, EIO};
    ssize_t n;
    do
        n = read(pids[0], result, sizeof result);
    while (n < 0 && errno == EINTR);
    close(pids[0]);
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (n != sizeof result || result[0] < 0) {
        reply_error(sock, "fork", result[1]);
        return 0;
    }
    int32_t pid = result[0];
    reply(sock, 'P', &pid, sizeof pid);
    return 0;
}

/* zygote runs a zygote: loads the app, says so, and forks workers until the
 * supervisor closes the socket. It returns only in a forked worker. */
static void zygote(int argc, char **argv, const char *config_fd, const char *sock_fd) {
    gw_zygote = 1;
    /* Executed as /proc/self/exe, the process is named "exe": take the
     * program's name back (ps, pgrep, top), for the zygote and the workers
     * it forks. */
    const char *name = strrchr(argv[0], '/');
    prctl(PR_SET_NAME, name ? name + 1 : argv[0], 0, 0, 0);
    pid_t supervisor = getppid();
    int sock = atoi(sock_fd), cfd = atoi(config_fd);
    unsetenv(CONFIG_FD_ENV);
    unsetenv(ZYGOTE_FD_ENV);
    if (fcntl(sock, F_SETFD, FD_CLOEXEC) < 0)
        die("the supervisor's socket");
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, NULL, &start_actions[sig]);
    sigprocmask(SIG_SETMASK, NULL, &start_mask);
    /* As in a worker: SIGPIPE and SIGXFSZ ignored before Python starts,
     * so that the signal module sees them so. */
    gw_signals_prepare();

    gw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    read_config(cfd, &cfg); /* kept for the life of the zygote and its workers */
    close(cfd);
    cfg.argc = argc;
    cfg.argv = argv;
    if (gw_preload(&cfg) < 0)
        _exit(3); /* prefork.ExitBootFailed: the reason is on stderr */
    /* What the import allocated and freed goes back to the system rather
     * than into every worker's copy of the heap. */
    malloc_trim(0);
    /* The supervisor ends the zygote by closing its socket: the stop
     * signals a terminal or systemd sends the whole group (INT, TERM, HUP,
     * QUIT) are for the supervisor, which would otherwise take the
     * zygote's death for a failure. They are blocked as well as ignored:
     * a worker forked from here inherits both, and one the supervisor
     * signals before the worker has put back the original dispositions
     * (become_worker) must not lose the signal; blocked, it waits, where
     * an ignored one would be dropped. (Python read the dispositions when
     * boot.py imported signal.) */
    static const int group_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    sigset_t group;
    sigemptyset(&group);
    for (size_t i = 0; i < sizeof group_signals / sizeof group_signals[0]; i++) {
        sigaddset(&group, group_signals[i]);
        signal(group_signals[i], SIG_IGN);
    }
    sigprocmask(SIG_BLOCK, &group, NULL);
    reply(sock, 'R', NULL, 0);

    char *buf = malloc(MAX_MESSAGE);
    if (buf == NULL)
        die("allocating");
    for (;;) {
        fork_request req;
        int r = receive(sock, buf, &req);
        if (r == 0)
            _exit(0);
        if (r > 0 && fork_worker(sock, &req, supervisor))
            return; /* a worker: its Go runtime starts next */
    }
}

/* zygote_start runs before the Go runtime (and before main), in every
 * process of this binary; only a process started as a zygote does
 * anything here. */
__attribute__((constructor)) static void zygote_start(int argc, char **argv, char **envp) {
    const char *config_fd = getenv(CONFIG_FD_ENV), *sock_fd = getenv(ZYGOTE_FD_ENV);
    if (config_fd == NULL || sock_fd == NULL)
        return;
    zygote(argc, argv, config_fd, sock_fd);
}
