/*
 * startresponse.c: the start_response callable and the write() callable it
 * returns, and turning the status and headers into byte views for Go.
 *
 * start_response validates what it is given at the call site, so a bad
 * status or header raises in the app's own frame, and keeps a snapshot
 * (a tuple) the app cannot change afterwards.
 */
#include "bridge.h"

#include <string.h>
#include <strings.h>

#include "_cgo_export.h"

typedef struct {
    PyObject_HEAD
    gw_exec *ex;       /* NULL once its request ended */
    PyObject *status;  /* str */
    PyObject *headers; /* tuple of (str, str) */
} StartResponseObject;

static PyObject *sr_type;

static int is_tchar(Py_UCS4 c) {
    if (c >= 0x80)
        return 0;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", (int)c) != NULL;
}

/* check_text rejects characters that cannot go into a header line: code
 * points above 255 (not latin-1) and controls other than HTAB. */
static int check_text(PyObject *s, const char *what) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c > 255 || (c < 32 && c != '\t') || c == 127) {
            PyErr_Format(PyExc_ValueError, "%s contains a character not allowed in HTTP (U+%04X): %R",
                         what, (unsigned)c, s);
            return -1;
        }
    }
    return 0;
}

static int check_status(PyObject *status) {
    if (!PyUnicode_Check(status)) {
        PyErr_Format(PyExc_TypeError, "status must be str, not %s", Py_TYPE(status)->tp_name);
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(status);
    int kind = PyUnicode_KIND(status);
    const void *d = PyUnicode_DATA(status);
    int ok = n >= 4 && PyUnicode_READ(kind, d, 3) == ' ';
    for (int i = 0; ok && i < 3; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, d, i);
        ok = c >= '0' && c <= '9';
    }
    if (ok && PyUnicode_READ(kind, d, 0) == '0')
        ok = 0;
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "status must look like '200 OK' (three digits, a space, a reason), got %R",
                     status);
        return -1;
    }
    return check_text(status, "status");
}

/* The hop-by-hop field names, lower case, from Go's one list
 * (internal/hopbyhop), given to gw_start_response_init. */
static char **hop_names;
static int nhop;

/* is_hop_by_hop reports whether name is a connection-level header, which
 * PEP 3333 leaves to the server. */
static int is_hop_by_hop(const char *s, Py_ssize_t n) {
    for (int i = 0; i < nhop; i++) {
        if ((Py_ssize_t)strlen(hop_names[i]) == n && strncasecmp(s, hop_names[i], n) == 0)
            return 1;
    }
    return 0;
}

/* refused_hop_by_hop reports whether the app may not send the field name:
 * a hop-by-hop one other than Connection, which the server honours
 * ("close") and drops. */
static int refused_hop_by_hop(PyObject *name) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(name, &n); /* a token: ASCII */
    if (s == NULL) {
        PyErr_Clear();
        return 0;
    }
    return is_hop_by_hop(s, n) && !(n == 10 && strncasecmp(s, "connection", 10) == 0);
}

static PyObject *check_headers(PyObject *headers) {
    if (!PyList_Check(headers) && !PyTuple_Check(headers)) {
        PyErr_Format(PyExc_TypeError, "response headers must be a list, not %s", Py_TYPE(headers)->tp_name);
        return NULL;
    }
    PyObject *snap = PySequence_Tuple(headers);
    if (snap == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(snap); i++) {
        PyObject *h = PyTuple_GET_ITEM(snap, i);
        if (!PyTuple_Check(h) || PyTuple_GET_SIZE(h) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(h, 0)) ||
            !PyUnicode_Check(PyTuple_GET_ITEM(h, 1))) {
            PyErr_Format(PyExc_TypeError, "each response header must be a (str, str) tuple, got %R", h);
            goto fail;
        }
        PyObject *name = PyTuple_GET_ITEM(h, 0);
        Py_ssize_t n = PyUnicode_GET_LENGTH(name);
        int kind = PyUnicode_KIND(name);
        const void *d = PyUnicode_DATA(name);
        int ok = n > 0;
        for (Py_ssize_t j = 0; ok && j < n; j++)
            ok = is_tchar(PyUnicode_READ(kind, d, j));
        if (!ok) {
            PyErr_Format(PyExc_ValueError, "invalid response header name %R", name);
            goto fail;
        }
        if (refused_hop_by_hop(name)) {
            PyErr_Format(PyExc_ValueError,
                         "hop-by-hop header %R is not allowed from a WSGI application (PEP 3333); "
                         "the server manages the connection", name);
            goto fail;
        }
        if (check_text(PyTuple_GET_ITEM(h, 1), "response header value") < 0)
            goto fail;
    }
    return snap;
fail:
    Py_DECREF(snap);
    return NULL;
}

static PyObject *sr_call(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"status", "headers", "exc_info", NULL};
    StartResponseObject *sr = (StartResponseObject *)self;
    PyObject *status, *headers, *exc_info = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|O:start_response", kwlist, &status, &headers, &exc_info))
        return NULL;
    if (sr->ex == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "start_response called after its request ended");
        return NULL;
    }
    if (exc_info != Py_None) {
        if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
            PyErr_SetString(PyExc_TypeError, "exc_info must be a (type, value, traceback) tuple");
            return NULL;
        }
        if (sr->ex->head_sent) {
            /* Too late to change the response: re-raise the app's error. */
            PyObject *t = PyTuple_GET_ITEM(exc_info, 0), *v = PyTuple_GET_ITEM(exc_info, 1),
                     *tb = PyTuple_GET_ITEM(exc_info, 2);
#if PY_VERSION_HEX >= 0x030C0000
            /* PyErr_Restore is deprecated; an exception carries its traceback */
            if (PyExceptionInstance_Check(v)) {
                PyErr_SetRaisedException(Py_NewRef(v));
                return NULL;
            }
#endif
            Py_INCREF(t);
            Py_INCREF(v);
            Py_INCREF(tb);
            PyErr_Restore(t, v, tb);
            return NULL;
        }
    } else if (sr->status != NULL) {
        PyErr_SetString(PyExc_AssertionError,
                        "start_response called a second time without exc_info");
        return NULL;
    }
    if (check_status(status) < 0)
        return NULL;
    PyObject *snap = check_headers(headers);
    if (snap == NULL)
        return NULL;
    Py_INCREF(status);
    Py_XSETREF(sr->status, status);
    Py_XSETREF(sr->headers, snap);
    return PyObject_GetAttrString(self, "write");
}

/* view points chunk at s's latin-1 bytes: the str's own data when it is
 * ASCII, else a held latin-1 encoding. */
static int view(gw_exec *ex, PyObject *s, gw_chunk *chunk) {
    if (PyUnicode_IS_ASCII(s)) {
        chunk->p = PyUnicode_AsUTF8AndSize(s, &chunk->n);
        return chunk->p == NULL ? -1 : 0;
    }
    PyObject *b = PyUnicode_AsLatin1String(s);
    if (b == NULL || gw_hold(ex, b) < 0) {
        Py_XDECREF(b);
        return -1;
    }
    Py_DECREF(b); /* held */
    chunk->p = PyBytes_AS_STRING(b);
    chunk->n = PyBytes_GET_SIZE(b);
    return 0;
}

static int64_t parse_length(const gw_chunk *v) {
    if (v->n == 0 || v->n > 18)
        return -1;
    int64_t n = 0;
    for (Py_ssize_t i = 0; i < v->n; i++) {
        if (v->p[i] < '0' || v->p[i] > '9')
            return -1;
        n = n * 10 + (v->p[i] - '0');
    }
    return n;
}

/* gw_head_prepare fills ex->status and ex->hdrs from start_response's
 * arguments; it raises if start_response was not called. */
int gw_head_prepare(gw_exec *ex) {
    StartResponseObject *sr = (StartResponseObject *)ex->sr;
    if (sr->status == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the application did not call start_response before sending a body");
        return -1;
    }
    if (view(ex, sr->status, &ex->status) < 0)
        return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(sr->headers);
    if (n * 2 > ex->caphdrs) {
        gw_chunk *grown = PyMem_RawRealloc(ex->hdrs, sizeof(gw_chunk) * n * 2);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        ex->hdrs = grown;
        ex->caphdrs = (int)(n * 2);
    }
    ex->declared_length = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *h = PyTuple_GET_ITEM(sr->headers, i);
        gw_chunk *name = &ex->hdrs[2 * i], *value = &ex->hdrs[2 * i + 1];
        if (view(ex, PyTuple_GET_ITEM(h, 0), name) < 0 || view(ex, PyTuple_GET_ITEM(h, 1), value) < 0)
            return -1;
        if (name->n == 14 && strncasecmp(name->p, "content-length", 14) == 0)
            ex->declared_length = parse_length(value);
    }
    ex->nhdrs = (int)n;
    return 0;
}

static PyObject *sr_write(PyObject *self, PyObject *data) {
    StartResponseObject *sr = (StartResponseObject *)self;
    gw_exec *ex = sr->ex;
    if (!PyBytes_Check(data))
        return PyErr_Format(PyExc_TypeError, "write() argument must be bytes, not %s", Py_TYPE(data)->tp_name);
    if (ex == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "write() called after its request ended");
        return NULL;
    }
    if (gw_forked()) {
        PyErr_SetString(PyExc_OSError, "write() cannot be used in a forked child process");
        return NULL;
    }
    if (PyBytes_GET_SIZE(data) == 0)
        Py_RETURN_NONE;
    if (!ex->head_sent && gw_head_prepare(ex) < 0)
        return NULL;
    ex->head_sent = 1;
    int rc;
    char *p = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    int id = ex->id;
    ex->body_bytes += n;
    Py_BEGIN_ALLOW_THREADS
    rc = gowsgiWrite(id, p, n);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_SetString(PyExc_OSError, "write(): the client disconnected");
        return NULL;
    }
    Py_RETURN_NONE;
}

static void sr_dealloc(PyObject *self) {
    StartResponseObject *sr = (StartResponseObject *)self;
    Py_XDECREF(sr->status);
    Py_XDECREF(sr->headers);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef sr_methods[] = {
    {"write", sr_write, METH_O, "write(data): send body bytes now (PEP 3333's legacy write callable)"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot sr_slots[] = {
    {Py_tp_call, sr_call},
    {Py_tp_methods, sr_methods},
    {Py_tp_dealloc, sr_dealloc},
    {Py_tp_doc, "start_response(status, headers, exc_info=None) -> write"},
    {0, NULL},
};

static PyType_Spec sr_spec = {
    "_gowsgi.StartResponse", sizeof(StartResponseObject), 0, Py_TPFLAGS_DEFAULT, sr_slots,
};

/* set_hop_names keeps a copy of the hop-by-hop names, separated by '\n'. */
static int set_hop_names(const char *names) {
    char *copy = PyMem_RawMalloc(strlen(names) + 1);
    hop_names = PyMem_RawMalloc(sizeof(char *) * (strlen(names) / 2 + 2));
    if (copy == NULL || hop_names == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    strcpy(copy, names);
    nhop = 0;
    for (char *p = copy; *p != '\0';) {
        hop_names[nhop++] = p;
        char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return 0;
}

/* gw_start_response_init creates the start_response type; hop_by_hop
 * lists the names it refuses, separated by '\n'. */
int gw_start_response_init(PyObject *module, const char *hop_by_hop) {
    if (set_hop_names(hop_by_hop) < 0)
        return -1;
    sr_type = PyType_FromSpec(&sr_spec);
    if (sr_type == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "StartResponse", sr_type);
}

/* gw_start_response_new returns the start_response for ex's next request,
 * reusing the executor's previous one when nothing else holds it. */
PyObject *gw_start_response_new(gw_exec *ex) {
    StartResponseObject *sr = (StartResponseObject *)ex->sr;
    if (sr != NULL && Py_REFCNT(sr) == 1) {
        sr->ex = ex;
        return (PyObject *)sr;
    }
    Py_CLEAR(ex->sr); /* the app kept it; it was detached when its request ended */
    sr = (StartResponseObject *)PyType_GenericAlloc((PyTypeObject *)sr_type, 0);
    if (sr == NULL)
        return NULL;
    sr->status = NULL;
    sr->headers = NULL;
    sr->ex = ex;
    ex->sr = (PyObject *)sr;
    return (PyObject *)sr;
}

/* gw_start_response_called reports whether the app called start_response. */
int gw_start_response_called(PyObject *sr) { return ((StartResponseObject *)sr)->status != NULL; }

/* gw_start_response_head gives the status and headers (a tuple) the app
 * passed to sr, borrowed; NULL if it did not call it. */
void gw_start_response_head(PyObject *sr, PyObject **status, PyObject **headers) {
    StartResponseObject *s = (StartResponseObject *)sr;
    *status = s->status;
    *headers = s->headers;
}

/* gw_start_response_detach ends sr's request: a later call on it fails. It
 * is reattached when the executor reuses it. */
void gw_start_response_detach(PyObject *sr) { ((StartResponseObject *)sr)->ex = NULL; }

/* gw_start_response_reset drops the status and headers of sr's last
 * request, once Go has copied them. */
void gw_start_response_reset(PyObject *sr) {
    StartResponseObject *s = (StartResponseObject *)sr;
    Py_CLEAR(s->status);
    Py_CLEAR(s->headers);
}
