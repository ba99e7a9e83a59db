/*
 * exec.c: one request through the app, in one call from Go.
 *
 * gw_call takes the GIL, builds the environ, calls the app and gathers its
 * response: all of it when the app returned a list or tuple, or when the
 * bytes it yielded reach the Content-Length it declared; otherwise up to the
 * first non-empty chunk, and gw_next hands over each further chunk. The
 * bytes stay owned by Python objects the executor holds until its next call,
 * so Go copies them out without the GIL and without a Python allocation.
 */
#include "bridge.h"

#include <stdlib.h>
#include <string.h>

extern PyObject *gw_app;
static PyObject *format_exception;

/* gw_hold keeps obj alive until the executor's next call. */
int gw_hold(gw_exec *ex, PyObject *obj) {
    if (ex->nheld == ex->capheld) {
        int cap = ex->capheld ? ex->capheld * 2 : 16;
        PyObject **grown = PyMem_RawRealloc(ex->held, sizeof(PyObject *) * cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        ex->held = grown;
        ex->capheld = cap;
    }
    ex->held[ex->nheld++] = Py_NewRef(obj);
    return 0;
}

/* gw_body_append adds a view of body bytes to the executor's output. */
int gw_body_append(gw_exec *ex, const char *p, Py_ssize_t n) {
    if (ex->nbody == ex->capbody) {
        int cap = ex->capbody ? ex->capbody * 2 : 16;
        gw_chunk *grown = PyMem_RawRealloc(ex->body, sizeof(gw_chunk) * cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        ex->body = grown;
        ex->capbody = cap;
    }
    ex->body[ex->nbody].p = p;
    ex->body[ex->nbody].n = n;
    ex->nbody++;
    ex->body_bytes += n;
    return 0;
}

static void release_output(gw_exec *ex) {
    for (int i = 0; i < ex->nheld; i++)
        Py_DECREF(ex->held[i]);
    ex->nheld = 0;
    ex->nbody = 0;
}

static int errtext_append(gw_exec *ex, const char *p, Py_ssize_t n) {
    if (ex->errlen + n > ex->errcap) {
        Py_ssize_t cap = (ex->errlen + n) * 2;
        char *grown = PyMem_RawRealloc(ex->errtext, cap);
        if (grown == NULL)
            return -1;
        ex->errtext = grown;
        ex->errcap = cap;
    }
    memcpy(ex->errtext + ex->errlen, p, n);
    ex->errlen += n;
    return 0;
}

/* gw_format_exception moves the pending Python exception into ex->errtext
 * as a formatted traceback (appending, so an error in close() after an
 * error in the app keeps both) and clears it. */
void gw_format_exception(gw_exec *ex) {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *lines = exc ? PyObject_CallOneArg(format_exception, exc) : NULL;
    Py_XDECREF(exc);
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *lines = type ? PyObject_CallFunctionObjArgs(format_exception, type, value ? value : Py_None,
                                                          tb ? tb : Py_None, NULL)
                           : NULL;
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
#endif
    PyObject *empty = PyUnicode_FromString("");
    PyObject *text = lines && empty ? PyUnicode_Join(empty, lines) : NULL;
    Py_XDECREF(empty);
    Py_XDECREF(lines);
    Py_ssize_t n = 0;
    const char *p = text ? PyUnicode_AsUTF8AndSize(text, &n) : NULL;
    if (p != NULL)
        errtext_append(ex, p, n);
    else
        errtext_append(ex, "(the exception could not be formatted)\n", 39);
    Py_XDECREF(text);
    PyErr_Clear();
}

/* close_result calls the iterable's close(), as PEP 3333 requires on every
 * path, and forgets the iterable. Returns -1 if close() raised. */
static int close_result(gw_exec *ex) {
    Py_CLEAR(ex->iter);
    PyObject *result = ex->result;
    ex->result = NULL;
    if (result == NULL)
        return 0;
    int rc = 0;
    if (!PyList_CheckExact(result) && !PyTuple_CheckExact(result)) {
        PyObject *close = PyObject_GetAttrString(result, "close");
        if (close == NULL) {
            if (PyErr_ExceptionMatches(PyExc_AttributeError))
                PyErr_Clear();
            else
                rc = -1;
        } else {
            PyObject *r = PyObject_CallNoArgs(close);
            Py_DECREF(close);
            if (r == NULL)
                rc = -1;
            Py_XDECREF(r);
        }
    }
    Py_DECREF(result);
    if (rc < 0)
        gw_format_exception(ex);
    return rc;
}

/* fail records the pending exception and ends the request. */
static int fail(gw_exec *ex) {
    gw_format_exception(ex);
    close_result(ex);
    return GW_ERROR;
}

static int finish(gw_exec *ex) {
    if (!ex->head_sent && gw_head_prepare(ex) < 0)
        return fail(ex);
    return close_result(ex) < 0 ? GW_ERROR : GW_DONE;
}

static int take_bytes(gw_exec *ex, PyObject *item) {
    if (!PyBytes_Check(item)) {
        PyErr_Format(PyExc_TypeError, "the application's response must yield bytes, not %s",
                     Py_TYPE(item)->tp_name);
        return -1;
    }
    return gw_body_append(ex, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item));
}

/* gather takes every item of a list or tuple response. The tuple (for a
 * list, a snapshot: the list is the app's to change) is held with the
 * output, since finish releases the result before Go reads the bytes. */
static int gather(gw_exec *ex) {
    PyObject *seq = PyList_CheckExact(ex->result) ? PyList_AsTuple(ex->result) : Py_NewRef(ex->result);
    if (seq == NULL || gw_hold(ex, seq) < 0) {
        Py_XDECREF(seq);
        return fail(ex);
    }
    Py_DECREF(seq);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(seq); i++) {
        if (take_bytes(ex, PyTuple_GET_ITEM(seq, i)) < 0)
            return fail(ex);
    }
    return finish(ex);
}

/* advance pulls items until one is non-empty (STREAM) or the iterator ends
 * (DONE). Once the body reaches the Content-Length the app declared, it
 * keeps pulling, expecting the end, so that a framework's one-chunk iterable
 * is answered in this same call. */
static int advance(gw_exec *ex) {
    for (;;) {
        int complete = ex->head_sent && ex->declared_length >= 0 && ex->body_bytes >= ex->declared_length;
        PyObject *item = PyIter_Next(ex->iter);
        if (item == NULL)
            return PyErr_Occurred() ? fail(ex) : finish(ex);
        if (PyBytes_Check(item) && PyBytes_GET_SIZE(item) == 0) {
            Py_DECREF(item);
            continue;
        }
        int rc = take_bytes(ex, item) < 0 || gw_hold(ex, item) < 0 ? -1 : 0;
        Py_DECREF(item);
        if (rc < 0)
            return fail(ex);
        if (!ex->head_sent) {
            if (gw_head_prepare(ex) < 0)
                return fail(ex);
            ex->head_sent = 1;
        }
        /* more than declared: hand it over, the framing layer truncates */
        if (complete || ex->declared_length < 0 || ex->body_bytes < ex->declared_length)
            return GW_STREAM;
    }
}

/* release_request drops what the previous request's output pointed into. */
static void release_request(gw_exec *ex) {
    release_output(ex);
    if (ex->sr != NULL)
        gw_start_response_reset(ex->sr);
    ex->errlen = 0;
    ex->nhdrs = 0;
    ex->head_sent = 0;
    ex->declared_length = -1;
    ex->body_bytes = 0;
}

/* send_file prepares the head for a file Go sends with sendfile, never
 * more than the Content-Length the app declared. */
static int send_file(gw_exec *ex) {
    if (gw_head_prepare(ex) < 0)
        return fail(ex);
    ex->head_sent = 1;
    if (ex->declared_length >= 0 && ex->file_len > ex->declared_length - ex->body_bytes)
        ex->file_len = ex->declared_length > ex->body_bytes ? ex->declared_length - ex->body_bytes : 0;
    ex->body_bytes += ex->file_len;
    return GW_FILE;
}

/* end_request detaches the request's start_response and wsgi.input, so an
 * app that kept them cannot reach Go for a request that is over, and drops
 * its context. */
static void end_request(gw_exec *ex) {
    if (ex->sr != NULL)
        gw_start_response_detach(ex->sr);
    if (ex->input != NULL)
        gw_input_detach(ex->input);
    Py_CLEAR(ex->ctx);
}

/* Each request runs in a contextvars context of its own, a copy of the
 * executor's, entered for the app call and for every resumption of its
 * iterable (as asyncio gives each task one): a ContextVar one request sets
 * never leaks into the next request on the same thread, and holds across
 * a streamed response's chunks. */
static int enter_context(gw_exec *ex) {
    if (ex->ctx == NULL && (ex->ctx = PyContext_CopyCurrent()) == NULL)
        return -1;
    return PyContext_Enter(ex->ctx);
}

static void exit_context(gw_exec *ex) {
    if (ex->ctx != NULL && PyContext_Exit(ex->ctx) < 0)
        PyErr_Clear(); /* the app left a context of its own entered */
}

/* gw_thread_ts is the calling thread's Python thread state: made on the
 * thread's first call into the app, kept for the thread's life (Go never
 * ends a thread unless a goroutine exits locked to it, which those serving
 * requests never do), and dropped with the interpreter at finalization. */
__thread PyThreadState *gw_thread_ts;

/* bind_thread takes the GIL with the calling thread's state, made on first
 * use. A request runs on the OS thread its connection's goroutine is locked
 * to for the request: any thread of the process, the same one for all its
 * calls. It returns -1, the GIL not taken, if no state can be made. */
static int bind_thread(gw_exec *ex) {
    if (gw_thread_ts == NULL && (gw_thread_ts = gw_thread_state_new()) == NULL)
        return -1;
    ex->ts = gw_thread_ts;
    gw_restore(ex->ts);
    ex->thread_ident = PyThread_get_thread_ident();
    return 0;
}

/* release_held drops the objects of responses the connections have
 * finished writing. */
static void release_held(gw_held *const *released, int nreleased) {
    for (int i = 0; i < nreleased; i++) {
        gw_held *h = released[i];
        for (int k = 0; k < h->n; k++)
            Py_DECREF(h->objs[k]);
        h->n = 0;
    }
}

/* gw_call runs one request, after releasing what earlier responses held.
 * buf and fields are Go memory, read only during this call. The output
 * stays valid until the executor's next call, or, once Go has moved its
 * objects to a gw_held, until that is released. */
int gw_call(gw_exec *ex, const char *buf, const gw_field *fields, int nfields, int64_t content_length,
            uint64_t seq, gw_held *const *released, int nreleased) {
    if (bind_thread(ex) < 0)
        return GW_NO_THREAD;
    release_held(released, nreleased);
    ex->seq = seq;
    gw_enter(ex);
    release_request(ex);
    int rc;
    if (enter_context(ex) < 0) {
        Py_CLEAR(ex->ctx);
        rc = fail(ex);
        goto out;
    }
    PyObject *sr = gw_start_response_new(ex);
    PyObject *input = sr ? gw_input_new(ex, content_length) : NULL;
    PyObject *env = input ? gw_environ_build(buf, fields, nfields, input) : NULL;
    if (env == NULL) {
        rc = fail(ex);
        goto exit;
    }
    if (gw_request_hooks && gw_hooks_begin(ex, env) < 0) {
        Py_DECREF(env);
        rc = fail(ex); /* pre_request raised: 500, as gunicorn answers */
        goto exit;
    }
    PyObject *args[2] = {env, sr};
    ex->result = PyObject_Vectorcall(gw_app, args, 2, NULL);
    Py_DECREF(env);
    if (ex->result == NULL) {
        rc = fail(ex);
    } else if (PyList_CheckExact(ex->result) || PyTuple_CheckExact(ex->result)) {
        rc = gather(ex);
    } else if ((rc = gw_file_wrapper_fd(ex->result, &ex->file_fd, &ex->file_off, &ex->file_len)) != 0) {
        rc = rc < 0 ? fail(ex) : send_file(ex);
    } else {
        ex->iter = PyObject_GetIter(ex->result);
        rc = ex->iter ? advance(ex) : fail(ex);
    }
exit:
    if (ex->hook_req != NULL && rc != GW_STREAM && rc != GW_FILE)
        gw_hooks_end(ex, rc);
    exit_context(ex);
out:
    if (rc != GW_STREAM && rc != GW_FILE)
        end_request(ex);
    gw_leave(ex);
    gw_save();
    return rc;
}

/* gw_next hands over the next streamed chunk, or with stop set (the client
 * went away) ends the iteration early; either way close() is called when
 * the response ends. */
int gw_next(gw_exec *ex, int stop) {
    if (bind_thread(ex) < 0)
        return GW_NO_THREAD;
    gw_enter(ex);
    release_output(ex);
    int rc;
    if (enter_context(ex) < 0)
        rc = fail(ex);
    else if (stop)
        rc = close_result(ex) < 0 ? GW_ERROR : GW_GONE;
    else if (ex->iter == NULL) /* a file went out with sendfile */
        rc = finish(ex);
    else
        rc = advance(ex);
    if (ex->hook_req != NULL && rc != GW_STREAM && rc != GW_FILE)
        gw_hooks_end(ex, rc);
    exit_context(ex);
    if (rc != GW_STREAM && rc != GW_FILE)
        end_request(ex);
    gw_leave(ex);
    gw_save();
    return rc;
}

/* gw_exec_init prepares what executors share; called once, holding the GIL. */
int gw_exec_init(void) {
    PyObject *tb = PyImport_ImportModule("traceback");
    format_exception = tb ? PyObject_GetAttrString(tb, "format_exception") : NULL;
    Py_XDECREF(tb);
    return format_exception == NULL ? -1 : 0;
}

/* gw_exec_new makes an executor: the state of one of the app's request
 * slots (--threads), used by whichever thread serves a request in it. */
gw_exec *gw_exec_new(int id) {
    gw_exec *ex = calloc(1, sizeof(gw_exec));
    if (ex == NULL)
        return NULL;
    ex->id = id;
    ex->declared_length = -1;
    return ex;
}

/* gw_exec_free drops the executor's objects. It runs on a thread locked to
 * its goroutine, with no request in the executor. */
void gw_exec_free(gw_exec *ex) {
    if (bind_thread(ex) == 0) {
        release_request(ex);
        close_result(ex);
        Py_CLEAR(ex->ctx);
        Py_CLEAR(ex->hook_req);
        Py_CLEAR(ex->hook_env);
        Py_CLEAR(ex->sr);
        Py_CLEAR(ex->input);
        gw_save();
    }
    PyMem_RawFree(ex->hdrs);
    PyMem_RawFree(ex->body);
    PyMem_RawFree(ex->held);
    PyMem_RawFree(ex->errtext);
    free(ex);
}
