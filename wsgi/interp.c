/*
 * interp.c: starting and stopping the embedded interpreter, and loading the
 * application through the boot module (boot.py, embedded by Go).
 */
#include "bridge.h"

#include <unistd.h>

/* The application callable, loaded once by gw_init. */
PyObject *gw_app;

/* The module holding the bridge's types and the boot functions. */
static PyObject *gw_module;

/* The main thread's state, parked while executors run. */
static PyThreadState *main_ts;

static pid_t gw_pid;

/* gw_forked reports whether this is a child the app forked: such a child
 * has no Go runtime, so callbacks into Go must not be attempted. */
int gw_forked(void) { return getpid() != gw_pid; }

static struct PyModuleDef gw_moduledef = {
    PyModuleDef_HEAD_INIT, "_gowsgi", "gowsgi server internals", -1, NULL,
};

static int set_argv(PyConfig *config, const gw_config *cfg) {
    PyStatus st = PyConfig_SetBytesArgv(config, cfg->argc, cfg->argv);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "gowsgi: python argv: %s\n", st.err_msg ? st.err_msg : "error");
        return -1;
    }
    return 0;
}

/* set_string sets one of config's path settings from a C string; an empty
 * one leaves it to Python. */
static int set_string(PyConfig *config, wchar_t **field, const char *name, const char *value) {
    if (value == NULL || value[0] == '\0')
        return 0;
    PyStatus st = PyConfig_SetBytesString(config, field, value);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "gowsgi: python %s %s: %s\n", name, value, st.err_msg ? st.err_msg : "error");
        return -1;
    }
    return 0;
}

/* set_paths points Python at the prefix of the build gowsgi was linked
 * against, when the build recorded one (make build PYTHON=...), and at the
 * virtualenv gowsgi is installed in, if any. Left to itself Python infers
 * its prefix from the executable's location, which for gowsgi says nothing
 * about where the interpreter lives: a binary installed beside another
 * installation's lib/pythonX.Y would take that standard library instead of
 * falling back to the prefix compiled into libpython. The venv's python as
 * the executable makes Python set up the venv as that python would
 * (site.py reads the pyvenv.cfg above it: sys.prefix, its site-packages,
 * include-system-site-packages), and makes it sys.executable. */
static int set_paths(PyConfig *config, const gw_config *cfg) {
    if (set_string(config, &config->home, "home", cfg->home) < 0)
        return -1;
    return set_string(config, &config->executable, "executable", cfg->executable);
}

/* new_config prepares the interpreter's configuration as gowsgi starts it
 * everywhere: no signal handlers (Go owns the process's signals), no
 * parsing of argv, which becomes sys.argv, and the paths set_paths sets.
 * On an error it returns -1, config cleared, the reason printed. */
static int new_config(PyConfig *config, const gw_config *cfg) {
    PyConfig_InitPythonConfig(config);
    config->install_signal_handlers = 0;
    config->parse_argv = 0;
    if (set_argv(config, cfg) < 0 || set_paths(config, cfg) < 0) {
        PyConfig_Clear(config);
        return -1;
    }
    return 0;
}

/* boot_module runs boot.py in the _gowsgi module (once per interpreter) and
 * returns its namespace, borrowed; NULL with a Python exception set on
 * failure. */
static PyObject *boot_module(const gw_config *cfg) {
    PyObject *dict = PyModule_GetDict(gw_module); /* borrowed */
    if (PyDict_GetItemString(dict, "boot") != NULL)
        return dict;
    PyObject *code = Py_CompileString(cfg->boot_source, "<gowsgi boot>", Py_file_input);
    if (code == NULL)
        return NULL;
    if (PyDict_GetItemString(dict, "__builtins__") == NULL &&
        PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) < 0) {
        Py_DECREF(code);
        return NULL;
    }
    PyObject *r = PyEval_EvalCode(code, dict, dict);
    Py_DECREF(code);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    return dict;
}

/* boot_function is boot.py's function name, borrowed; NULL with a Python
 * exception set if the boot module cannot run or lacks it. */
static PyObject *boot_function(const gw_config *cfg, const char *name) {
    PyObject *dict = boot_module(cfg);
    if (dict == NULL)
        return NULL;
    PyObject *fn = PyDict_GetItemString(dict, name); /* borrowed */
    if (fn == NULL)
        PyErr_Format(PyExc_RuntimeError, "boot module defines no %s()", name);
    return fn;
}

/* boot runs boot.py's boot() with the settings, leaving gw_app set (None
 * in the hook runner, which loads no app). Failure leaves a Python
 * exception set. */
static int boot(const gw_config *cfg) {
    PyObject *fn = boot_function(cfg, "boot");
    if (fn == NULL)
        return -1;
    gw_app = PyObject_CallFunction(fn, "ssssiisii", cfg->spec, cfg->pythonpath, cfg->virtualenv, cfg->executable,
                                   cfg->traceback_fd, cfg->traceback_signal, cfg->hooks_file, cfg->worker_age,
                                   cfg->num_workers);
    return gw_app == NULL ? -1 : 0;
}

/* report_boot_error prints why the app (or, with no spec, the hook
 * runner's hooks) could not load: the one-line reason for the boot
 * module's own AppLoadError, the traceback for anything else. */
static void report_boot_error(const char *spec) {
    PyObject *dict = PyModule_GetDict(gw_module);
    PyObject *loaderr = PyDict_GetItemString(dict, "AppLoadError"); /* borrowed */
    if (loaderr != NULL && PyErr_ExceptionMatches(loaderr)) {
#if PY_VERSION_HEX >= 0x030C0000
        PyObject *value = PyErr_GetRaisedException();
#else
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        Py_XDECREF(type);
        Py_XDECREF(tb);
#endif
        PyObject *s = value ? PyObject_Str(value) : NULL;
        const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
        fprintf(stderr, "gowsgi: cannot load the %s: %s\n", spec[0] ? "application" : "server hooks",
                msg ? msg : "unknown error");
        Py_XDECREF(s);
        Py_XDECREF(value);
        PyErr_Clear();
        return;
    }
    fprintf(stderr, "gowsgi: cannot load the application '%s':\n", spec);
    PyErr_Print();
}

/* start_interpreter starts Python without signal handlers and prepares
 * the bridge's module; it runs on the thread that stays Python's main
 * thread. Returns 0, or -1 after printing the reason to stderr. */
static int start_interpreter(const gw_config *cfg) {
    gw_python_thread = 1;
    gw_bridge_depth++;
    PyConfig config;
    if (new_config(&config, cfg) < 0)
        return -1;
    PyStatus st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "gowsgi: cannot start Python: %s\n", st.err_msg ? st.err_msg : "error");
        return -1;
    }
    gw_module = PyModule_Create(&gw_moduledef);
    if (gw_module == NULL || gw_errors_init(gw_module, cfg->errfd) < 0 ||
        gw_input_init(gw_module) < 0 || gw_start_response_init(gw_module, cfg->hop_by_hop) < 0 || gw_file_wrapper_init(gw_module) < 0 ||
        gw_timeout_init(gw_module) < 0 || gw_signals_init(gw_module) < 0 ||
        gw_exec_init() < 0 ||
        gw_environ_init(cfg) < 0) {
        PyErr_Print();
        return -1;
    }
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    if (PyDict_SetItemString(modules, "_gowsgi", gw_module) < 0 ||
        gw_hooks_init_module(gw_module, cfg->hooks_source) < 0) {
        PyErr_Print();
        return -1;
    }
    return 0;
}

/* serve_ready completes a worker's start once its app is loaded: the
 * request hooks are looked up, the kept signals put back, and the GIL
 * released by the main thread. */
static int serve_ready(void) {
    if (gw_hooks_ready(gw_module) < 0) {
        PyErr_Print();
        return -1;
    }
    gw_signals_restore();
    main_ts = gw_save();
    gw_thread_ts = main_ts; /* the main thread's calls into the app (exec.c) use it */
    return 0;
}

/* gw_init starts the interpreter without signal handlers (Go owns the
 * process's signals, and keeps them whatever the app does: signals.c), loads
 * the app, and releases the GIL. It runs on the thread that will stay
 * Python's main thread. Returns 0, or -1 after printing the reason to
 * stderr. */
int gw_init(const gw_config *cfg) {
    gw_pid = getpid();
    gw_signals_prepare();
    if (start_interpreter(cfg) < 0)
        return -1;
    if (boot(cfg) < 0) {
        report_boot_error(cfg->spec);
        return -1;
    }
    return serve_ready();
}

/* gw_preload starts the interpreter and loads the app as gw_init does, but
 * for a zygote (zygote.c): no Go runtime runs, so nothing of the worker's
 * own (fault handlers, server hooks) is set up, and the GIL stays with the
 * main thread, where the worker forked from it takes up (gw_adopt). The
 * objects loaded are frozen out of the garbage collector's reach, so that
 * collections in the workers leave their pages shared. */
int gw_preload(const gw_config *cfg) {
    gw_pid = getpid();
    if (start_interpreter(cfg) < 0)
        return -1;
    PyObject *fn = boot_function(cfg, "preload");
    if (fn != NULL)
        gw_app = PyObject_CallFunction(fn, "ssss", cfg->spec, cfg->pythonpath, cfg->virtualenv, cfg->executable);
    if (gw_app == NULL) {
        report_boot_error(cfg->spec);
        return -1;
    }
    return 0;
}

/* gw_adopt completes, in a worker forked from a zygote, what gw_init does
 * after the import: the worker's fault handlers and server hooks
 * (post_fork, post_worker_init), then the GIL is released. It runs on the
 * main thread, which holds the GIL since the fork. */
int gw_adopt(const gw_config *cfg) {
    gw_pid = getpid();
    gw_signals_prepare();
    PyObject *fn = boot_function(cfg, "after_fork");
    PyObject *r = fn == NULL ? NULL : PyObject_CallFunction(fn, "iisii", cfg->traceback_fd, cfg->traceback_signal,
                                                          cfg->hooks_file, cfg->worker_age, cfg->num_workers);
    if (r == NULL) {
        report_boot_error(cfg->spec);
        return -1;
    }
    Py_DECREF(r);
    return serve_ready();
}

/* gw_finalize takes the GIL back on the main thread and finalizes the
 * interpreter: atexit handlers and pending finalizers run. */
int gw_finalize(void) {
    gw_signals_release();
    gw_restore(main_ts);
    Py_CLEAR(gw_app);
    int rc = Py_FinalizeEx();
    gw_bridge_depth--;
    return rc;
}

/* gw_run_command runs cfg->boot_source as `python -c` would, with sys.argv
 * set to cfg->argv, in an interpreter that installs no signal handlers (Go
 * owns them), then finalizes it. It returns the exit status Py_RunMain
 * gives: 0, 1 after printing an uncaught exception, or SystemExit's code.
 * For a short-lived process that runs no application. */
int gw_run_command(const gw_config *cfg) {
    PyConfig config;
    if (new_config(&config, cfg) < 0)
        return 1;
    PyStatus st = PyConfig_SetBytesString(&config, &config.run_command, cfg->boot_source);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        if (PyStatus_IsExit(st))
            return st.exitcode;
        fprintf(stderr, "gowsgi: cannot start Python: %s\n", st.err_msg ? st.err_msg : "error");
        return 1;
    }
    return Py_RunMain();
}

/* gw_python_version is the embedded interpreter's version string. */
const char *gw_python_version(void) { return Py_GetVersion(); }
