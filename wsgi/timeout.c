/*
 * timeout.c: ending a request that runs past --timeout.
 *
 * The watchdog (watchdog.go) runs on its own thread with its own thread
 * state. For an executor still inside the app with the request it means, it
 * raises RequestTimeout asynchronously in the executor's thread, so the app
 * unwinds at its next bytecode. The executor clears a pending one before it
 * leaves Python, so a late interrupt never reaches a later request.
 */
#include "bridge.h"

static PyObject *request_timeout;

/* gw_timeout_init creates the RequestTimeout exception. It derives from
 * BaseException so that an app's "except Exception" does not swallow it. */
int gw_timeout_init(PyObject *module) {
    request_timeout = PyErr_NewExceptionWithDoc(
        "_gowsgi.RequestTimeout", "The request ran longer than the server's --timeout.", PyExc_BaseException, NULL);
    if (request_timeout == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "RequestTimeout", request_timeout);
}

/* gw_enter marks ex as running the app for request seq; the GIL is held. */
void gw_enter(gw_exec *ex) { ex->in_app = 1; }

/* gw_leave marks ex as out of the app and drops an interrupt that came too
 * late to be raised; the GIL is held. */
void gw_leave(gw_exec *ex) {
    ex->in_app = 0;
    if (ex->interrupted) {
        PyThreadState_SetAsyncExc(ex->thread_ident, NULL);
        ex->interrupted = 0;
    }
}

/* gw_interrupt raises RequestTimeout in target's thread if it is still in
 * the app serving request seq. It runs on the watchdog's thread, taking the
 * GIL with the watchdog's own thread state. Returns 1 if raised. */
int gw_interrupt(PyThreadState *watchdog, gw_exec *target, uint64_t seq) {
    gw_restore(watchdog);
    int raised = 0;
    if (target->in_app && target->seq == seq && !target->interrupted) {
        raised = PyThreadState_SetAsyncExc(target->thread_ident, request_timeout) == 1;
        target->interrupted = raised;
    }
    gw_save();
    return raised;
}

/* gw_thread_state_new makes a thread state for the calling thread, which
 * must be locked to it; the GIL is not held before or after. */
PyThreadState *gw_thread_state_new(void) {
    gw_python_thread = 1;
    return PyThreadState_New(PyInterpreterState_Main());
}

/* gw_thread_state_free deletes the calling thread's own thread state. */
void gw_thread_state_free(PyThreadState *ts) {
    gw_restore(ts);
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
    gw_bridge_depth--;
}
