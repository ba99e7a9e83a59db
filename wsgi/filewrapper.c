/*
 * filewrapper.c: wsgi.file_wrapper.
 *
 * An app returns wsgi.file_wrapper(filelike, blksize) to hand the server a
 * file. When the file-like has a real descriptor of a regular file, gw_call
 * reports GW_FILE and Go sends it with sendfile(2); otherwise the wrapper is
 * an ordinary iterable reading blksize blocks.
 */
#include "bridge.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    PyObject_HEAD
    PyObject *filelike;
    Py_ssize_t blksize;
} FileWrapperObject;

static PyObject *file_wrapper_type;

static PyObject *fw_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"filelike", "blksize", NULL};
    PyObject *filelike;
    Py_ssize_t blksize = 8192;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|n:file_wrapper", kwlist, &filelike, &blksize))
        return NULL;
    if (blksize <= 0) {
        PyErr_SetString(PyExc_ValueError, "file_wrapper blksize must be positive");
        return NULL;
    }
    FileWrapperObject *fw = (FileWrapperObject *)type->tp_alloc(type, 0);
    if (fw == NULL)
        return NULL;
    fw->filelike = Py_NewRef(filelike);
    fw->blksize = blksize;
    return (PyObject *)fw;
}

static PyObject *fw_iter(PyObject *self) { return Py_NewRef(self); }

static PyObject *fw_next(PyObject *self) {
    FileWrapperObject *fw = (FileWrapperObject *)self;
    PyObject *data = PyObject_CallMethod(fw->filelike, "read", "n", fw->blksize);
    if (data == NULL)
        return NULL;
    if (PyBytes_Check(data) && PyBytes_GET_SIZE(data) == 0) {
        Py_DECREF(data);
        return NULL; /* StopIteration */
    }
    return data;
}

static PyObject *fw_close(PyObject *self, PyObject *unused) {
    FileWrapperObject *fw = (FileWrapperObject *)self;
    PyObject *close = PyObject_GetAttrString(fw->filelike, "close");
    if (close == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *r = PyObject_CallNoArgs(close);
    Py_DECREF(close);
    return r;
}

static void fw_dealloc(PyObject *self) {
    FileWrapperObject *fw = (FileWrapperObject *)self;
    Py_XDECREF(fw->filelike);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef fw_methods[] = {
    {"close", fw_close, METH_NOARGS, "Close the wrapped file-like, if it has close()."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot fw_slots[] = {
    {Py_tp_new, fw_new},
    {Py_tp_iter, fw_iter},
    {Py_tp_iternext, fw_next},
    {Py_tp_methods, fw_methods},
    {Py_tp_dealloc, fw_dealloc},
    {Py_tp_doc, "wsgi.file_wrapper(filelike, blksize=8192): send a file efficiently"},
    {0, NULL},
};

static PyType_Spec fw_spec = {
    "_gowsgi.FileWrapper", sizeof(FileWrapperObject), 0, Py_TPFLAGS_DEFAULT, fw_slots,
};

/* gw_file_wrapper_init creates the wsgi.file_wrapper type. */
int gw_file_wrapper_init(PyObject *module) {
    file_wrapper_type = PyType_FromSpec(&fw_spec);
    if (file_wrapper_type == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "FileWrapper", file_wrapper_type);
}

/* gw_file_wrapper_type is the wsgi.file_wrapper type (borrowed). */
PyObject *gw_file_wrapper_type(void) { return file_wrapper_type; }

/* gw_file_wrapper_fd finds the descriptor, offset and remaining length of
 * a wrapped regular file. It returns 1 when result can be sent with
 * sendfile, 0 when it must be iterated (no fileno, not a regular file), or
 * -1 with an exception set when fileno() itself fails oddly. */
int gw_file_wrapper_fd(PyObject *result, int *fd, int64_t *offset, int64_t *length) {
    if (Py_TYPE(result) != (PyTypeObject *)file_wrapper_type)
        return 0;
    FileWrapperObject *fw = (FileWrapperObject *)result;
    /* Whatever the file-like buffered is lost to sendfile: flush a writer,
     * and take the descriptor's offset only from objects without a read
     * buffer of their own or whose tell() agrees with the descriptor. */
    PyObject *r = PyObject_CallMethod(fw->filelike, "fileno", NULL);
    if (r == NULL) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError) || PyErr_ExceptionMatches(PyExc_OSError) ||
            PyErr_ExceptionMatches(PyExc_ValueError)) {
            /* io.UnsupportedOperation is an OSError and a ValueError */
            PyErr_Clear();
            return 0;
        }
        return -1;
    }
    long n = PyLong_Check(r) ? PyLong_AsLong(r) : -1;
    Py_DECREF(r);
    if (n < 0 || n > 0x7fffffff) {
        PyErr_Clear();
        return 0;
    }
    struct stat st;
    if (fstat((int)n, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    off_t pos = lseek((int)n, 0, SEEK_CUR);
    if (pos < 0)
        return 0;
    PyObject *tell = PyObject_CallMethod(fw->filelike, "tell", NULL);
    if (tell == NULL) {
        PyErr_Clear();
    } else {
        long long t = PyLong_Check(tell) ? PyLong_AsLongLong(tell) : -1;
        Py_DECREF(tell);
        if (t == -1 && PyErr_Occurred())
            PyErr_Clear();
        if (t != (long long)pos)
            return 0; /* buffered reader ahead of the descriptor: iterate */
    }
    *fd = (int)n;
    *offset = pos;
    *length = st.st_size > pos ? st.st_size - pos : 0;
    return 1;
}
