/*
 * environ.c: building the PEP 3333 environ dict from Go's flat fields.
 *
 * Keys are interned once at start-up; entries that never change between
 * requests live in a template dict that each request copies. Values are
 * latin-1 decoded, as PEP 3333 asks of "native strings".
 */
#include "bridge.h"

#include <string.h>

/* The interned keys, from Go's one list (fields.go, environKeys), which
 * gw_field.key indexes. */
static PyObject **keys;
static int nkeys;
static PyObject *key_input;
static PyObject *template_env;

/* Values common enough to share one str: methods and protocols. */
static const char *common_values[] = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "HTTP/1.1", "HTTP/1.0", "http", "https", "",
};
#define NCOMMON (sizeof(common_values) / sizeof(common_values[0]))
static PyObject *common[NCOMMON];

static int set_const(const char *key, PyObject *value) {
    if (value == NULL)
        return -1;
    int rc = PyDict_SetItemString(template_env, key, value);
    Py_DECREF(value);
    return rc;
}

/* intern_keys interns the keys named in names, separated by '\n'. */
static int intern_keys(const char *names) {
    int n = 1;
    for (const char *p = names; *p != '\0'; p++)
        n += *p == '\n';
    keys = PyMem_RawCalloc(n, sizeof(PyObject *));
    if (keys == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (const char *p = names; nkeys < n; nkeys++) {
        const char *end = strchr(p, '\n');
        Py_ssize_t len = end ? end - p : (Py_ssize_t)strlen(p);
        keys[nkeys] = PyUnicode_FromStringAndSize(p, len);
        if (keys[nkeys] == NULL)
            return -1;
        PyUnicode_InternInPlace(&keys[nkeys]);
        p += len + 1;
    }
    return 0;
}

/* gw_environ_init interns the keys and builds the template environ. */
int gw_environ_init(const gw_config *cfg) {
    if (intern_keys(cfg->environ_keys) < 0)
        return -1;
    for (size_t i = 0; i < NCOMMON; i++) {
        common[i] = PyUnicode_InternFromString(common_values[i]);
        if (common[i] == NULL)
            return -1;
    }
    key_input = PyUnicode_InternFromString("wsgi.input");
    template_env = PyDict_New();
    if (key_input == NULL || template_env == NULL)
        return -1;
    if (set_const("wsgi.version", Py_BuildValue("(ii)", 1, 0)) < 0 ||
        set_const("wsgi.url_scheme", PyUnicode_FromString("http")) < 0 ||
        set_const("wsgi.errors", Py_NewRef(gw_errors_stream())) < 0 ||
        set_const("wsgi.multithread", PyBool_FromLong(cfg->multithread)) < 0 ||
        set_const("wsgi.multiprocess", PyBool_FromLong(cfg->multiprocess)) < 0 ||
        set_const("wsgi.run_once", Py_NewRef(Py_False)) < 0 ||
        set_const("wsgi.input_terminated", Py_NewRef(Py_True)) < 0 ||
        set_const("wsgi.file_wrapper", Py_NewRef(gw_file_wrapper_type())) < 0 ||
        set_const("SCRIPT_NAME", PyUnicode_FromString("")) < 0 ||
        set_const("SERVER_SOFTWARE", PyUnicode_FromString(cfg->server_software)) < 0)
        return -1;
    return 0;
}

static PyObject *value_str(const char *p, Py_ssize_t n) {
    if (n <= 8) {
        for (size_t i = 0; i < NCOMMON; i++) {
            const char *c = common_values[i];
            if ((Py_ssize_t)strlen(c) == n && memcmp(c, p, n) == 0)
                return Py_NewRef(common[i]);
        }
    }
    return PyUnicode_DecodeLatin1(p, n, NULL);
}

/* set_header stores an HTTP_ value, joining a repeated header with ",". */
static int set_header(PyObject *env, PyObject *key, PyObject *value) {
    PyObject *prev = PyDict_GetItemWithError(env, key); /* borrowed */
    if (prev == NULL)
        return PyErr_Occurred() ? -1 : PyDict_SetItem(env, key, value);
    PyObject *joined = PyUnicode_FromFormat("%U,%U", prev, value);
    if (joined == NULL)
        return -1;
    int rc = PyDict_SetItem(env, key, joined);
    Py_DECREF(joined);
    return rc;
}

/* gw_environ_build returns a new environ dict for one request. */
PyObject *gw_environ_build(const char *buf, const gw_field *fields, int nfields, PyObject *input) {
    PyObject *env = PyDict_Copy(template_env);
    if (env == NULL)
        return NULL;
    if (PyDict_SetItem(env, key_input, input) < 0)
        goto fail;
    for (int i = 0; i < nfields; i++) {
        const gw_field *f = &fields[i];
        PyObject *key;
        if (f->key >= 0 && f->key < nkeys)
            key = Py_NewRef(keys[f->key]);
        else
            key = PyUnicode_DecodeLatin1(buf + f->koff, f->klen, NULL);
        PyObject *value = key ? value_str(buf + f->voff, f->vlen) : NULL;
        int rc = -1;
        if (value != NULL)
            rc = (f->flags & GW_F_HEADER) ? set_header(env, key, value) : PyDict_SetItem(env, key, value);
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (rc < 0)
            goto fail;
    }
    return env;
fail:
    Py_DECREF(env);
    return NULL;
}
