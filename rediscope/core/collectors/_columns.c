/* The collectors' per-row loop in C: a batch's rows grouped by the value of one column
 * (rediscope/core/collectors/columns.py holds the same function in Python, used where this one
 * is not built; tests/unit/test_collectors_columns.py holds both to the same results). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* group_rows(column) -> {value: [row, ...]}, values in the order they first appear. */
static PyObject *group_rows(PyObject *self, PyObject *column) {
    (void)self;
    /* a tuple of its own: a value's __eq__ cannot change the rows under the loop */
    PyObject *rows = PySequence_Tuple(column);
    if (rows == NULL) return NULL;
    PyObject *groups = PyDict_New();
    if (groups == NULL) {
        Py_DECREF(rows);
        return NULL;
    }
    PyObject *last = NULL, *last_group = NULL; /* borrowed: the tuple and the dict hold them */
    Py_ssize_t n = PyTuple_GET_SIZE(rows);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = PyTuple_GET_ITEM(rows, i);
        PyObject *group = last_group;
        if (value != last) { /* the same object as the row before: the same group */
            group = PyDict_GetItemWithError(groups, value);
            if (group == NULL) {
                if (PyErr_Occurred()) goto fail;
                group = PyList_New(0);
                if (group == NULL) goto fail;
                int set = PyDict_SetItem(groups, value, group);
                Py_DECREF(group); /* the dict holds it */
                if (set < 0) goto fail;
            }
            last = value;
            last_group = group;
        }
        PyObject *index = PyLong_FromSsize_t(i);
        if (index == NULL) goto fail;
        int appended = PyList_Append(group, index);
        Py_DECREF(index);
        if (appended < 0) goto fail;
    }
    Py_DECREF(rows);
    return groups;
fail:
    Py_DECREF(groups);
    Py_DECREF(rows);
    return NULL;
}

static PyMethodDef methods[] = {
    {"group_rows", group_rows, METH_O,
     "group_rows(column) -> {value: [row, ...]}: the row indices of each distinct value, values "
     "in order of first appearance."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_columns", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__columns(void) { return PyModule_Create(&module); }
