/*
 * signals.c: the signals the server owns stay the server's, and a fault
 * reaches the handler that can deal with it.
 *
 * Kept signals. Before Python starts, the dispositions of the signals the
 * server keeps (its own, given by Go, and SIGPIPE and SIGXFSZ, ignored here
 * as python3 ignores them) are recorded; once the boot module has set up
 * faulthandler, its handlers (the faults, SIGUSR2, the watchdog's dump, and
 * the signal of WriteTracebacks) are recorded too. A Python attempt to take one is refused by boot.py's
 * guard on _signal.signal; any other change (C code calling sigaction) is
 * undone once the app is loaded, and then every second while it serves.
 * Each attempt is reported to Go, once.
 *
 * Faults. faulthandler's handler dumps every thread's traceback, puts back
 * the handler it replaced (Go's) and raises the signal again, which Go then
 * takes as fatal. That is right for a crash in C or Python code, and wrong
 * for a nil dereference in Go code, which Go turns into a panic that the
 * code may recover. So route_fault, installed in front of faulthandler,
 * decides per fault: Go's handler when the faulting thread is running Go
 * (a thread with no Python thread state, or a thread gowsgi locked for
 * Python that is not inside a bridge call), or when the signal was sent by
 * a process; faulthandler's otherwise. Go's documentation asks exactly this
 * of a handler for the synchronous signals installed over Go's: call Go's
 * handler, with the same arguments, when the fault happened in Go code.
 */
#include "bridge.h" /* Python.h defines _GNU_SOURCE: sigabbrev_np */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "_cgo_export.h"

__thread int gw_python_thread;
__thread int gw_bridge_depth;

static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define NFAULTS ((int)(sizeof(fault_signals) / sizeof(fault_signals[0])))

static char kept[NSIG];                 /* the signal is the server's */
static struct sigaction kept_act[NSIG]; /* and must keep this disposition */
static struct sigaction go_fault[NSIG]; /* Go's handlers for the faults */
static struct sigaction fh_fault[NSIG]; /* faulthandler's */

/* gw_signals_keep marks sig as the server's; Go calls it before gw_init. */
/* gw_signals_kept reports whether sig is the server's. */
int gw_signals_kept(int sig) { return sig > 0 && sig < NSIG && kept[sig]; }

void gw_signals_keep(int sig) {
    if (sig > 0 && sig < NSIG)
        kept[sig] = 1;
}

static void record(int sig) {
    kept[sig] = 1;
    sigaction(sig, NULL, &kept_act[sig]);
}

/* gw_signals_prepare runs before Python starts, when only Go's handlers
 * are installed: it ignores SIGPIPE and SIGXFSZ, so that a write to a
 * closed socket or past RLIMIT_FSIZE fails with an error on every thread
 * (Go kills the process for one on a thread it did not create), and
 * records what every kept signal must keep. Python's signal module then
 * reports them as SIG_IGN, as under python3, and subprocess restores their
 * default in the children it starts. */
void gw_signals_prepare(void) {
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);
    sigaction(SIGXFSZ, &ign, NULL);
    kept[SIGPIPE] = kept[SIGXFSZ] = 1;
    for (int i = 0; i < NFAULTS; i++)
        sigaction(fault_signals[i], NULL, &go_fault[fault_signals[i]]);
    for (int sig = 1; sig < NSIG; sig++)
        if (kept[sig])
            record(sig);
}

/* call_handler runs the handler act describes as the kernel would have. A
 * disposition that is not a function is installed instead: the fault
 * happens again and meets it. */
static void call_handler(const struct sigaction *act, int sig, siginfo_t *info, void *uc) {
    if (act->sa_flags & SA_SIGINFO)
        act->sa_sigaction(sig, info, uc);
    else if (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN)
        act->sa_handler(sig);
    else
        sigaction(sig, act, NULL);
}

/* in_python says whether the faulting thread was running Python or C code
 * called from it, rather than Go. */
static int in_python(void) {
    if (gw_python_thread)
        return gw_bridge_depth > 0;
    return PyGILState_GetThisThreadState() != NULL; /* a thread Python made */
}

static void route_fault(int sig, siginfo_t *info, void *uc) {
    if (info->si_code <= 0 || !in_python()) {
        call_handler(&go_fault[sig], sig, info, uc);
        return;
    }
    call_handler(&fh_fault[sig], sig, info, uc);
    /* faulthandler returns only when it is disabled (the app called
     * faulthandler.disable()): Go's handler ends the process. */
    call_handler(&go_fault[sig], sig, info, uc);
}

/* seal_signals(traceback_signal) is called by the boot module once
 * faulthandler is enabled and registered for SIGUSR2 and traceback_signal:
 * it puts route_fault in front of faulthandler and records these handlers
 * as the server's. */
static PyObject *seal_signals(PyObject *self, PyObject *args) {
    int traceback_signal;
    if (!PyArg_ParseTuple(args, "i:seal_signals", &traceback_signal))
        return NULL;
    if (traceback_signal <= 0 || traceback_signal >= NSIG)
        return PyErr_Format(PyExc_ValueError, "signal %d out of range", traceback_signal);
    struct sigaction route;
    memset(&route, 0, sizeof route);
    route.sa_sigaction = route_fault;
    route.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    /* Other signals wait, as under Go's own handler; the faults do not, so
     * that faulthandler's raise reaches Go's handler at once. */
    sigfillset(&route.sa_mask);
    for (int i = 0; i < NFAULTS; i++)
        sigdelset(&route.sa_mask, fault_signals[i]);
    for (int i = 0; i < NFAULTS; i++) {
        int sig = fault_signals[i];
        if (sigaction(sig, &route, &fh_fault[sig]) < 0)
            return PyErr_SetFromErrno(PyExc_OSError);
        record(sig);
    }
    record(SIGUSR2);
    record(traceback_signal);
    Py_RETURN_NONE;
}

/* report tells Go that the app tried to take sig; where says from where. */
static void report(int sig, const char *where) {
    char name[32];
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev != NULL)
        snprintf(name, sizeof name, "SIG%s", abbrev);
    else
        snprintf(name, sizeof name, "%d", sig);
    if (gw_zygote) { /* no Go runtime to report to: a line as Go's log writes it */
        struct timespec now;
        struct tm tm;
        char stamp[32];
        clock_gettime(CLOCK_REALTIME, &now);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now.tv_sec, &tm));
        fprintf(stderr,
                "time=%s.%03ldZ level=WARN msg=\"the application tried to take a signal the server owns; the server keeps it\" "
                "signal=%s by=\"%s\" zygote=%d\n",
                stamp, now.tv_nsec / 1000000, name, where, (int)getpid());
        return;
    }
    gowsgiSignalTaken(name, (char *)where);
}

/* refuse_signal(signum, where) is boot.py's guard on _signal.signal for a
 * kept signal: it reports the attempt and returns True, or in a child the
 * app forked (no server, no Go runtime) returns False: the child's signals
 * are its own. */
static PyObject *refuse_signal(PyObject *self, PyObject *args) {
    int sig;
    const char *where;
    if (!PyArg_ParseTuple(args, "is:refuse_signal", &sig, &where))
        return NULL;
    if (gw_forked())
        Py_RETURN_FALSE;
    report(sig, where);
    Py_RETURN_TRUE;
}

/* kept_signals() is the set of signal numbers the server keeps. */
static PyObject *kept_signals(PyObject *self, PyObject *unused) {
    PyObject *set = PySet_New(NULL);
    for (int sig = 1; set != NULL && sig < NSIG; sig++) {
        if (!kept[sig])
            continue;
        PyObject *n = PyLong_FromLong(sig);
        if (n == NULL || PySet_Add(set, n) < 0)
            Py_CLEAR(set);
        Py_XDECREF(n);
    }
    return set;
}

/* restore_changed gives a kept signal whose handler changed (C code called
 * sigaction) the server's back, and reports it. */
static void restore_changed(const char *where) {
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction now;
        if (!kept[sig] || sigaction(sig, NULL, &now) < 0)
            continue;
        if (now.sa_sigaction == kept_act[sig].sa_sigaction && now.sa_flags == kept_act[sig].sa_flags)
            continue;
        sigaction(sig, &kept_act[sig], NULL);
        report(sig, where);
    }
}

/* serving is set while the app is loaded and Python not being finalized:
 * the kept dispositions are final, and gw_signals_check may enforce them.
 * Finalization takes faulthandler's handlers away, so it must not race a
 * check that would put them back. */
static pthread_mutex_t serving_mu = PTHREAD_MUTEX_INITIALIZER;
static int serving;

/* gw_signals_restore runs once the app is loaded (before any request). */
void gw_signals_restore(void) {
    pthread_mutex_lock(&serving_mu);
    restore_changed("C code (sigaction) while the app loaded");
    serving = 1;
    pthread_mutex_unlock(&serving_mu);
}

/* gw_signals_check runs every second while the worker serves (Go's
 * KeepSignals), for C code that installs a handler after the app loaded: a
 * module imported by a request, a library set up on first use. */
void gw_signals_check(void) {
    pthread_mutex_lock(&serving_mu);
    if (serving)
        restore_changed("C code (sigaction) while serving");
    pthread_mutex_unlock(&serving_mu);
}

/* gw_signals_release ends the checks before Python is finalized. */
void gw_signals_release(void) {
    pthread_mutex_lock(&serving_mu);
    serving = 0;
    pthread_mutex_unlock(&serving_mu);
}

static PyMethodDef signals_methods[] = {
    {"seal_signals", seal_signals, METH_VARARGS, "Front faulthandler and keep the server's handlers."},
    {"refuse_signal", refuse_signal, METH_VARARGS, "Report an attempt to take a kept signal."},
    {"kept_signals", kept_signals, METH_NOARGS, "The signal numbers the server keeps."},
    {NULL, NULL, 0, NULL},
};

/* gw_signals_init adds the functions above to the _gowsgi module. */
int gw_signals_init(PyObject *module) { return PyModule_AddFunctions(module, signals_methods); }
