/*
 * hooks.c: the server hooks of a gunicorn config file (hooks.py), where
 * they touch C: around each request, and when Go calls one.
 *
 * pre_request and post_request run on the request's thread, in the same
 * hold of the GIL as the app call and in the request's contextvars
 * context: pre_request after the environ is built and before the app is
 * called, post_request once the app's part of the response is over (its
 * iterable is exhausted and closed, or it failed). Without either hook the
 * request path pays one test of a pointer.
 */
#include "bridge.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "_cgo_export.h"

static PyObject *hooks_module;
/* hooks.py's request functions; NULL when the file defines no such hook */
static PyObject *make_request, *pre_request, *post_request;
/* the hooks the config file defines, separated by '\n' */
static char *defined;

/* gw_request_hooks is set when pre_request or post_request is defined. */
int gw_request_hooks;

/* hook_log is _gowsgi.log(level, text): worker.log and server.log. In a
 * child the app forked there is no Go runtime: the line goes to stderr. */
static PyObject *hook_log(PyObject *self, PyObject *args) {
    int level;
    const char *text;
    if (!PyArg_ParseTuple(args, "is:log", &level, &text))
        return NULL;
    if (gw_forked()) {
        dprintf(2, "%s\n", text);
        Py_RETURN_NONE;
    }
    Py_BEGIN_ALLOW_THREADS
    gowsgiHookLog(level, (char *)text);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* requests_served is _gowsgi.requests_served(): worker.nr. */
static PyObject *requests_served(PyObject *self, PyObject *unused) {
    if (gw_forked())
        return PyLong_FromLong(0);
    return PyLong_FromLongLong(gowsgiRequestsServed());
}

static PyMethodDef hook_methods[] = {
    {"log", hook_log, METH_VARARGS, "log(level, text): a line in the server's error log at a logging level"},
    {"requests_served", requests_served, METH_NOARGS, "requests_served(): the requests this worker has served"},
    {NULL, NULL, 0, NULL},
};

/* gw_hooks_init_module adds the hooks' callbacks into Go to _gowsgi and
 * runs hooks.py as the module _gowsgi_hooks, for boot.py to use. */
int gw_hooks_init_module(PyObject *module, const char *source) {
    if (PyModule_AddFunctions(module, hook_methods) < 0)
        return -1;
    PyObject *code = Py_CompileString(source, "<gowsgi hooks>", Py_file_input);
    if (code == NULL)
        return -1;
    hooks_module = PyImport_ExecCodeModule("_gowsgi_hooks", code);
    Py_DECREF(code);
    return hooks_module == NULL ? -1 : 0;
}

/* optional returns hooks.py's attribute name, or NULL (no error) if it is
 * None. */
static int optional(const char *name, PyObject **out) {
    PyObject *v = PyObject_GetAttrString(hooks_module, name);
    if (v == NULL)
        return -1;
    if (v == Py_None)
        Py_CLEAR(v);
    *out = v;
    return 0;
}

/* gw_hooks_ready takes what boot left: the hooks defined (boot.py's
 * hooks_defined, in module) and, in a worker, the request functions. */
int gw_hooks_ready(PyObject *module) {
    PyObject *names = PyObject_GetAttrString(module, "hooks_defined");
    const char *s = names ? PyUnicode_AsUTF8(names) : NULL;
    if (s == NULL) {
        Py_XDECREF(names);
        return -1;
    }
    defined = PyMem_RawMalloc(strlen(s) + 1);
    if (defined == NULL) {
        Py_DECREF(names);
        PyErr_NoMemory();
        return -1;
    }
    strcpy(defined, s);
    Py_DECREF(names);
    if (optional("make_request", &make_request) < 0 || optional("pre_request", &pre_request) < 0 ||
        optional("post_request", &post_request) < 0)
        return -1;
    gw_request_hooks = make_request != NULL;
    return 0;
}

/* gw_hooks_defined lists the hooks the config file defines, separated by
 * '\n'; valid for the life of the process. */
const char *gw_hooks_defined(void) { return defined ? defined : ""; }

/* gw_hooks_begin makes the request's req object and calls pre_request;
 * -1 with the exception set if that raised (the request fails: 500). */
int gw_hooks_begin(gw_exec *ex, PyObject *env) {
    Py_CLEAR(ex->hook_req); /* a request that never ended (no thread state for gw_next) */
    Py_CLEAR(ex->hook_env);
    ex->hook_req = PyObject_CallOneArg(make_request, env);
    if (ex->hook_req == NULL)
        return -1;
    ex->hook_env = Py_NewRef(env);
    if (pre_request == NULL)
        return 0;
    PyObject *r = PyObject_CallOneArg(pre_request, ex->hook_req);
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

/* gw_hooks_end calls post_request for the request that just ended with rc
 * and forgets its req. The status is the app's, or none (500) when it
 * failed before its response began. */
void gw_hooks_end(gw_exec *ex, int rc) {
    PyObject *req = ex->hook_req, *env = ex->hook_env;
    ex->hook_req = ex->hook_env = NULL;
    if (post_request != NULL) {
        PyObject *status = NULL, *headers = NULL;
        if (ex->sr != NULL && !(rc == GW_ERROR && !ex->head_sent))
            gw_start_response_head(ex->sr, &status, &headers);
        PyObject *r = PyObject_CallFunction(post_request, "OOOOL", req, env, status ? status : Py_None,
                                            headers ? headers : Py_None, (long long)ex->body_bytes);
        if (r == NULL) /* hooks.py logs an Exception: this is a BaseException (RequestTimeout) */
            PyErr_WriteUnraisable(post_request);
        Py_XDECREF(r);
    }
    Py_DECREF(req);
    Py_DECREF(env);
}

/* take_gil takes the GIL from a Go thread with the thread's own Python
 * thread state: the main thread's, or one made for the thread on its first
 * call. Returns -1, the GIL not taken, if no state can be made. */
static int take_gil(void) {
    if (gw_thread_ts == NULL && (gw_thread_ts = gw_thread_state_new()) == NULL)
        return -1;
    gw_restore(gw_thread_ts);
    return 0;
}

/* gw_hooks_run calls hooks.py's run(name), for worker_int, worker_abort
 * and worker_exit, from a Go thread without the GIL. run logs the hook's
 * exception; anything else is printed. Returns 0, or -1 on failure. */
int gw_hooks_run(const char *name) {
    if (take_gil() < 0)
        return -1;
    PyObject *r = PyObject_CallMethod(hooks_module, "run", "s", name);
    if (r == NULL)
        PyErr_Print();
    Py_XDECREF(r);
    gw_save();
    return r == NULL ? -1 : 0;
}

/* gw_hooks_event runs one event in the hook runner (hooks.py's event),
 * from a Go thread without the GIL, and returns what it returns, the hooks
 * defined now, as a string to free(); NULL on failure (printed). */
char *gw_hooks_event(const char *line) {
    if (take_gil() < 0)
        return NULL;
    char *out = NULL;
    PyObject *r = PyObject_CallMethod(hooks_module, "event", "s", line);
    const char *s = r ? PyUnicode_AsUTF8(r) : NULL;
    if (s != NULL)
        out = strdup(s);
    else
        PyErr_Print();
    Py_XDECREF(r);
    gw_save();
    return out;
}
