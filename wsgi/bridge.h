/*
 * bridge.h: the C side of the WSGI bridge.
 *
 * Go calls into this layer once per request (gw_call) and once per streamed
 * chunk (gw_next); everything Python-facing (the environ dict, start_response,
 * wsgi.input, wsgi.errors, iterating the response) happens here, holding the
 * GIL only for the length of a call. Only the public CPython C API is used so
 * the same source builds against 3.11, 3.12 and 3.13; behaviour that differs
 * is guarded by PY_VERSION_HEX.
 *
 * PY_SSIZE_T_CLEAN is deliberately not defined: before 3.13 it renames
 * PyArg_Parse*, Py_BuildValue and PyObject_Call{Function,Method} to private
 * _SizeT symbols, and no format string here uses '#', the only format it
 * changes. (3.13 behaves as if it were always defined.)
 */
#ifndef GOWSGI_BRIDGE_H
#define GOWSGI_BRIDGE_H

#include <Python.h>
#include <stdint.h>

/* gw_field is one environ entry. Go fills an array of them plus one flat
 * byte buffer; offsets index that buffer. key < 0 means the key's bytes are
 * in the buffer at koff/klen (an uncommon HTTP_ header). */
typedef struct {
    int32_t key;
    uint32_t flags;
    uint32_t koff, klen;
    uint32_t voff, vlen;
} gw_field;

/* gw_field.flags */
#define GW_F_HEADER 1 /* an HTTP_ header: a repeat is joined with "," */

/* gw_chunk points at bytes owned by a Python object the executor holds until
 * its next call. */
typedef struct {
    const char *p;
    Py_ssize_t n;
} gw_chunk;

/* Results of gw_call and gw_next. */
enum {
    GW_DONE = 0,   /* head and the whole body are in the executor's output */
    GW_STREAM = 1, /* head and one chunk are there; call gw_next for more */
    GW_ERROR = 2,  /* the app failed; errtext holds the traceback */
    GW_GONE = 3,   /* the client went away (a write from the app failed) */
    GW_FILE = 4,   /* head is there; send file_len bytes of file_fd from file_off, then gw_next */
    GW_NO_THREAD = 5, /* no Python thread state could be made for the calling thread */
};

/* gw_held is a set of Python objects whose bytes a response still points
 * into after its executor moved on; the executor releases it, holding the
 * GIL, once the connection has written them (held.go). */
typedef struct {
    PyObject **objs;
    int n;
    int cap;
} gw_held;

/* gw_exec is one executor's state: the output of its current request, and
 * the thread serving it. Allocated by gw_exec_new; used by one thread at a
 * time (the Go side hands executors out one request at a time). */
typedef struct gw_exec {
    int id;
    PyThreadState *ts;          /* the serving thread's, while a request runs */
    unsigned long thread_ident; /* the serving thread, for PyThreadState_SetAsyncExc */

    /* timeouts (timeout.c); read and written with the GIL held */
    uint64_t seq;    /* the request being served */
    int in_app;      /* inside gw_call or gw_next */
    int interrupted; /* RequestTimeout is pending for this thread */

    /* output of the last call, valid until the next call */
    gw_chunk status;
    gw_chunk *hdrs; /* name, value, name, value ... */
    int nhdrs;      /* number of pairs */
    int caphdrs;
    gw_chunk *body;
    int nbody;
    int capbody;
    char *errtext;
    Py_ssize_t errlen;
    Py_ssize_t errcap;

    /* the request in progress */
    PyObject *sr;     /* start_response object */
    PyObject *input;  /* wsgi.input object */
    PyObject *result; /* iterable the app returned */
    PyObject *iter;   /* its iterator while streaming */
    PyObject *ctx;    /* the request's contextvars context, entered while the app runs */
    PyObject **held;  /* objects whose bytes the output points into */
    int nheld;
    int capheld;
    int head_sent;    /* the head went to Go (write() or a streamed chunk) */
    int64_t declared_length; /* Content-Length the app declared, or -1 */
    int64_t body_bytes;      /* body bytes handed to Go so far */
    int file_fd;             /* with GW_FILE: the wrapped file's descriptor (the app's) */
    int64_t file_off, file_len;
    PyObject *hook_req; /* pre_request's req, while the request runs with request hooks (hooks.c) */
    PyObject *hook_env; /* and its environ, for post_request */
} gw_exec;

/* gw_config carries the start-up settings from Go. Strings are C strings
 * owned by Go's caller for the duration of gw_init. */
typedef struct {
    int argc;
    char **argv;
    const char *boot_source; /* Python source of the boot module */
    const char *spec;
    const char *pythonpath;  /* entries separated by '\n' */
    const char *virtualenv;
    int multithread;
    int multiprocess;
    const char *server_software;
    int errfd; /* file descriptor wsgi.errors writes to */
    const char *home; /* PyConfig.home, or "" to let Python find its prefix */
    const char *executable; /* PyConfig.executable (a venv's python), or "" */
    const char *hop_by_hop; /* field names start_response refuses, separated by '\n' */
    const char *environ_keys; /* keys to intern, separated by '\n'; gw_field.key indexes them */
    int traceback_fd;     /* faulthandler writes every thread's traceback here (-1: nowhere) ... */
    int traceback_signal; /* ... on this signal (WriteTracebacks) */
    const char *hooks_source; /* Python source of the hooks module (hooks.py) */
    const char *hooks_file;   /* the config file whose server hooks run here, or "" */
    int worker_age;           /* worker.age, for the hooks */
    int num_workers;          /* server.num_workers, for the hooks */
} gw_config;

/* interp.c */
int gw_init(const gw_config *cfg);
int gw_finalize(void);
int gw_run_command(const gw_config *cfg);
int gw_preload(const gw_config *cfg);
int gw_adopt(const gw_config *cfg);

/* zygote.c */
extern int gw_zygote; /* this process is a zygote: no Go runtime runs */
extern int gw_preloaded;
extern char *gw_preloaded_env;
extern size_t gw_preloaded_env_len;
int gw_config_write(int fd, const gw_config *cfg);
const char *gw_python_version(void);

/* exec.c */
int gw_exec_init(void);
gw_exec *gw_exec_new(int id);
void gw_exec_free(gw_exec *ex);
int gw_call(gw_exec *ex, const char *buf, const gw_field *fields, int nfields, int64_t content_length,
            uint64_t seq, gw_held *const *released, int nreleased);
int gw_next(gw_exec *ex, int stop);

/* environ.c */
int gw_environ_init(const gw_config *cfg);
PyObject *gw_environ_build(const char *buf, const gw_field *fields, int nfields, PyObject *input);

/* startresponse.c */
int gw_start_response_init(PyObject *module, const char *hop_by_hop);
PyObject *gw_start_response_new(gw_exec *ex);
int gw_start_response_called(PyObject *sr);
int gw_head_prepare(gw_exec *ex);
void gw_start_response_detach(PyObject *sr);
void gw_start_response_reset(PyObject *sr);
void gw_start_response_head(PyObject *sr, PyObject **status, PyObject **headers);

/* input.c */
int gw_input_init(PyObject *module);
PyObject *gw_input_new(gw_exec *ex, int64_t content_length);
void gw_input_detach(PyObject *input);

/* timeout.c */
int gw_timeout_init(PyObject *module);
void gw_enter(gw_exec *ex);
void gw_leave(gw_exec *ex);
int gw_interrupt(PyThreadState *watchdog, gw_exec *target, uint64_t seq);
PyThreadState *gw_thread_state_new(void);
void gw_thread_state_free(PyThreadState *ts);

/* filewrapper.c */
int gw_file_wrapper_init(PyObject *module);
PyObject *gw_file_wrapper_type(void);
int gw_file_wrapper_fd(PyObject *result, int *fd, int64_t *offset, int64_t *length);

/* errors.c */
int gw_errors_init(PyObject *module, int fd);
PyObject *gw_errors_stream(void);

/* hooks.c */
extern int gw_request_hooks;
int gw_hooks_init_module(PyObject *module, const char *source);
int gw_hooks_ready(PyObject *module);
const char *gw_hooks_defined(void);
int gw_hooks_begin(gw_exec *ex, PyObject *env);
void gw_hooks_end(gw_exec *ex, int rc);
int gw_hooks_run(const char *name);
char *gw_hooks_event(const char *line);

/* signals.c */
void gw_signals_keep(int sig);
int gw_signals_kept(int sig);
void gw_signals_prepare(void);
void gw_signals_restore(void);
void gw_signals_check(void);
void gw_signals_release(void);
int gw_signals_init(PyObject *module);

/* gw_python_thread is set on the threads gowsgi gives a Python thread state
 * (main, executors, watchdog); gw_bridge_depth counts the bridge calls the
 * thread is inside, holding or having released the GIL. With them a fault
 * is told apart: in Go code (Go's handler) or in Python or C (faulthandler). */
extern __thread int gw_python_thread;
extern __thread int gw_bridge_depth;
extern __thread PyThreadState *gw_thread_ts;

/* gw_restore and gw_save are PyEval_RestoreThread and PyEval_SaveThread for
 * the bridge's entry and exit: every call from Go into Python goes through
 * them. */
static inline void gw_restore(PyThreadState *ts) {
    gw_bridge_depth++;
    PyEval_RestoreThread(ts);
}

static inline PyThreadState *gw_save(void) {
    PyThreadState *ts = PyEval_SaveThread();
    gw_bridge_depth--;
    return ts;
}

/* shared helpers (exec.c) */
int gw_forked(void);
void gw_format_exception(gw_exec *ex);
int gw_hold(gw_exec *ex, PyObject *obj);
int gw_body_append(gw_exec *ex, const char *p, Py_ssize_t n);

#endif
