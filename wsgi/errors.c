/*
 * errors.c: wsgi.errors, a text stream into the server's error log.
 *
 * It writes straight to a file descriptor rather than calling Go, so it keeps
 * working in a child the app forked, and releases the GIL while writing.
 */
#include "bridge.h"

#include <errno.h>
#include <unistd.h>

static int errors_fd = 2;
static PyObject *errors_stream;

static int write_all(const char *p, Py_ssize_t n) {
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    while (n > 0) {
        ssize_t w = write(errors_fd, p, (size_t)n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        p += w;
        n -= w;
    }
    Py_END_ALLOW_THREADS
    if (rc < 0)
        PyErr_SetFromErrno(PyExc_OSError);
    return rc;
}

static PyObject *errors_write(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        return PyErr_Format(PyExc_TypeError, "wsgi.errors.write() argument must be str, not %s",
                            Py_TYPE(arg)->tp_name);
    }
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(arg, &n);
    if (p == NULL || write_all(p, n) < 0)
        return NULL;
    return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(arg));
}

static PyObject *errors_writelines(PyObject *self, PyObject *seq) {
    PyObject *it = PyObject_GetIter(seq);
    if (it == NULL)
        return NULL;
    PyObject *line;
    while ((line = PyIter_Next(it)) != NULL) {
        PyObject *r = errors_write(self, line);
        Py_DECREF(line);
        if (r == NULL) {
            Py_DECREF(it);
            return NULL;
        }
        Py_DECREF(r);
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *errors_flush(PyObject *self, PyObject *unused) { Py_RETURN_NONE; }

static PyMethodDef errors_methods[] = {
    {"write", errors_write, METH_O, "Write a str to the server's error log."},
    {"writelines", errors_writelines, METH_O, "Write each str of an iterable."},
    {"flush", errors_flush, METH_NOARGS, "Nothing is buffered; does nothing."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot errors_slots[] = {
    {Py_tp_methods, errors_methods},
    {Py_tp_doc, "wsgi.errors: the server's error log"},
    {0, NULL},
};

static PyType_Spec errors_spec = {
    "_gowsgi.ErrorStream", sizeof(PyObject), 0, Py_TPFLAGS_DEFAULT, errors_slots,
};

/* gw_errors_init creates the one wsgi.errors object, writing to fd. */
int gw_errors_init(PyObject *module, int fd) {
    errors_fd = fd;
    PyObject *type = PyType_FromSpec(&errors_spec);
    if (type == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "ErrorStream", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    errors_stream = PyObject_CallNoArgs(type);
    Py_DECREF(type);
    return errors_stream == NULL ? -1 : 0;
}

/* gw_errors_stream is the shared wsgi.errors object (borrowed). */
PyObject *gw_errors_stream(void) { return errors_stream; }
