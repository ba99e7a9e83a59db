/*
 * input.c: wsgi.input, the request body as a binary stream.
 *
 * Bytes come from Go's body reader through the gowsgiRead callback with the
 * GIL released; Go's reader never reads past the body, so neither does this.
 * A small buffer serves readline(); read(n) of large sizes fills the result
 * bytes object directly.
 */
#include "bridge.h"

#include <limits.h>
#include <string.h>

#include "_cgo_export.h"

#define INPUT_BUFSIZE (64 * 1024)

typedef struct {
    PyObject_HEAD
    gw_exec *ex;       /* executor serving the request; NULL once it ended */
    int64_t remaining; /* body bytes Go has not yet handed over, -1 unknown */
    int eof;
    char *buf;
    Py_ssize_t pos, len;
} InputObject;

static PyObject *input_type;

/* pull reads up to n body bytes from Go into dst: the count, 0 at the end
 * of the body, or -1 with an exception set. */
static Py_ssize_t pull(InputObject *in, char *dst, Py_ssize_t n) {
    if (in->eof || in->remaining == 0 || in->ex == NULL) {
        in->eof = 1;
        return 0;
    }
    if (gw_forked()) {
        PyErr_SetString(PyExc_OSError, "wsgi.input cannot be read in a forked child process");
        return -1;
    }
    if (in->remaining > 0 && n > in->remaining)
        n = (Py_ssize_t)in->remaining;
    if (n > INT_MAX)
        n = INT_MAX;
    int r;
    int id = in->ex->id;
    Py_BEGIN_ALLOW_THREADS
    r = gowsgiRead(id, dst, (int)n);
    Py_END_ALLOW_THREADS
    if (r < 0) {
        in->eof = 1;
        PyErr_SetString(PyExc_OSError, "cannot read the request body: the client disconnected or sent a malformed body");
        return -1;
    }
    if (r == 0) {
        in->eof = 1;
        return 0;
    }
    if (in->remaining > 0)
        in->remaining -= r;
    return r;
}

/* fill refills the internal buffer once it is drained. */
static Py_ssize_t fill(InputObject *in) {
    if (in->buf == NULL) {
        in->buf = PyMem_RawMalloc(INPUT_BUFSIZE);
        if (in->buf == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    in->pos = in->len = 0;
    Py_ssize_t r = pull(in, in->buf, INPUT_BUFSIZE);
    if (r > 0)
        in->len = r;
    return r;
}

static int parse_size(PyObject *args, Py_ssize_t *size) {
    PyObject *arg = Py_None;
    if (!PyArg_UnpackTuple(args, "read", 0, 1, &arg))
        return -1;
    if (arg == Py_None) {
        *size = -1;
        return 0;
    }
    *size = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    if (*size == -1 && PyErr_Occurred())
        return -1;
    return 0;
}

/* shrink returns a bytes object holding the first n bytes of b, consuming b. */
static PyObject *shrink(PyObject *b, Py_ssize_t n) {
    if (PyBytes_GET_SIZE(b) == n)
        return b;
    PyObject *r = PyBytes_FromStringAndSize(PyBytes_AS_STRING(b), n);
    Py_DECREF(b);
    return r;
}

/* read_unknown reads to the end of a body of unknown length (chunked). */
static PyObject *read_unknown(InputObject *in) {
    Py_ssize_t cap = INPUT_BUFSIZE, n = in->len - in->pos;
    char *acc = PyMem_RawMalloc(cap > n ? cap : n);
    if (acc == NULL)
        return PyErr_NoMemory();
    if (n > 0)
        memcpy(acc, in->buf + in->pos, n);
    in->pos = in->len = 0;
    for (;;) {
        if (cap - n < INPUT_BUFSIZE) {
            cap *= 2;
            char *grown = PyMem_RawRealloc(acc, cap);
            if (grown == NULL) {
                PyMem_RawFree(acc);
                return PyErr_NoMemory();
            }
            acc = grown;
        }
        Py_ssize_t r = pull(in, acc + n, cap - n);
        if (r < 0) {
            PyMem_RawFree(acc);
            return NULL;
        }
        if (r == 0)
            break;
        n += r;
    }
    PyObject *b = PyBytes_FromStringAndSize(acc, n);
    PyMem_RawFree(acc);
    return b;
}

static PyObject *input_read(PyObject *self, PyObject *args) {
    InputObject *in = (InputObject *)self;
    Py_ssize_t size;
    if (parse_size(args, &size) < 0)
        return NULL;
    Py_ssize_t buffered = in->len - in->pos;
    if (size < 0) {
        if (in->remaining < 0 && !in->eof)
            return read_unknown(in);
        size = buffered + (in->eof ? 0 : (Py_ssize_t)in->remaining);
    } else if (in->remaining >= 0 || in->eof) {
        Py_ssize_t avail = buffered + (in->eof ? 0 : (Py_ssize_t)in->remaining);
        if (size > avail)
            size = avail;
    }
    PyObject *b = PyBytes_FromStringAndSize(NULL, size);
    if (b == NULL)
        return NULL;
    char *dst = PyBytes_AS_STRING(b);
    Py_ssize_t n = buffered < size ? buffered : size;
    memcpy(dst, in->buf + in->pos, n);
    in->pos += n;
    while (n < size) {
        Py_ssize_t r = pull(in, dst + n, size - n);
        if (r < 0) {
            Py_DECREF(b);
            return NULL;
        }
        if (r == 0)
            break;
        n += r;
    }
    return shrink(b, n);
}

static PyObject *input_readline(PyObject *self, PyObject *args) {
    InputObject *in = (InputObject *)self;
    Py_ssize_t size;
    if (parse_size(args, &size) < 0)
        return NULL;
    PyObject *acc = NULL; /* bytes gathered across refills */
    for (;;) {
        if (in->pos == in->len) {
            Py_ssize_t r = fill(in);
            if (r < 0) {
                Py_XDECREF(acc);
                return NULL;
            }
            if (r == 0)
                break;
        }
        Py_ssize_t have = acc ? PyBytes_GET_SIZE(acc) : 0;
        Py_ssize_t avail = in->len - in->pos;
        if (size >= 0 && avail > size - have)
            avail = size - have;
        const char *start = in->buf + in->pos;
        const char *nl = memchr(start, '\n', avail);
        Py_ssize_t take = nl ? nl - start + 1 : avail;
        PyObject *part = PyBytes_FromStringAndSize(start, take);
        in->pos += take;
        if (part == NULL) {
            Py_XDECREF(acc);
            return NULL;
        }
        if (acc == NULL) {
            acc = part;
        } else {
            PyBytes_ConcatAndDel(&acc, part);
            if (acc == NULL)
                return NULL;
        }
        if (nl != NULL || (size >= 0 && PyBytes_GET_SIZE(acc) >= size))
            break;
    }
    return acc ? acc : PyBytes_FromStringAndSize(NULL, 0);
}

static PyObject *input_readlines(PyObject *self, PyObject *args) {
    Py_ssize_t hint;
    if (parse_size(args, &hint) < 0)
        return NULL;
    PyObject *lines = PyList_New(0);
    if (lines == NULL)
        return NULL;
    Py_ssize_t total = 0;
    PyObject *noargs = PyTuple_New(0);
    while (noargs != NULL) {
        PyObject *line = input_readline(self, noargs);
        if (line == NULL)
            goto fail;
        Py_ssize_t n = PyBytes_GET_SIZE(line);
        if (n == 0) {
            Py_DECREF(line);
            break;
        }
        int rc = PyList_Append(lines, line);
        Py_DECREF(line);
        if (rc < 0)
            goto fail;
        total += n;
        if (hint > 0 && total >= hint)
            break;
    }
    Py_XDECREF(noargs);
    return noargs ? lines : (Py_DECREF(lines), NULL);
fail:
    Py_XDECREF(noargs);
    Py_DECREF(lines);
    return NULL;
}

static PyObject *input_iter(PyObject *self) { return Py_NewRef(self); }

static PyObject *input_next(PyObject *self) {
    PyObject *noargs = PyTuple_New(0);
    if (noargs == NULL)
        return NULL;
    PyObject *line = input_readline(self, noargs);
    Py_DECREF(noargs);
    if (line != NULL && PyBytes_GET_SIZE(line) == 0) {
        Py_DECREF(line);
        return NULL; /* StopIteration */
    }
    return line;
}

static void input_dealloc(PyObject *self) {
    InputObject *in = (InputObject *)self;
    PyMem_RawFree(in->buf);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef input_methods[] = {
    {"read", input_read, METH_VARARGS, "read([size]) -> bytes of the request body"},
    {"readline", input_readline, METH_VARARGS, "readline([size]) -> one line of the body"},
    {"readlines", input_readlines, METH_VARARGS, "readlines([hint]) -> list of lines"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot input_slots[] = {
    {Py_tp_methods, input_methods},
    {Py_tp_iter, input_iter},
    {Py_tp_iternext, input_next},
    {Py_tp_dealloc, input_dealloc},
    {Py_tp_doc, "wsgi.input: the request body"},
    {0, NULL},
};

static PyType_Spec input_spec = {
    "_gowsgi.Input", sizeof(InputObject), 0, Py_TPFLAGS_DEFAULT, input_slots,
};

/* gw_input_init creates the wsgi.input type. */
int gw_input_init(PyObject *module) {
    input_type = PyType_FromSpec(&input_spec);
    if (input_type == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "Input", input_type);
}

/* gw_input_new returns a wsgi.input for ex's current request, reusing the
 * executor's previous one when nothing else holds it. */
PyObject *gw_input_new(gw_exec *ex, int64_t content_length) {
    InputObject *in = (InputObject *)ex->input;
    if (in != NULL && Py_REFCNT(in) > 1) {
        /* the app kept the old one (detached when its request ended) */
        Py_CLEAR(ex->input);
        in = NULL;
    }
    if (in == NULL) {
        in = (InputObject *)PyType_GenericAlloc((PyTypeObject *)input_type, 0);
        if (in == NULL)
            return NULL;
        in->buf = NULL;
        ex->input = (PyObject *)in;
    }
    in->ex = ex;
    in->remaining = content_length;
    in->eof = content_length == 0;
    in->pos = in->len = 0;
    return (PyObject *)in;
}

/* gw_input_detach ends input's request: later reads return b"". */
void gw_input_detach(PyObject *input) {
    InputObject *in = (InputObject *)input;
    in->ex = NULL;
    in->eof = 1;
    in->pos = in->len = 0;
}
