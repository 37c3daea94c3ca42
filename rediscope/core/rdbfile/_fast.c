/* The RDB reader's hot loop in C: key records of the common types, read from the buffer the
 * Python reader holds (rediscope/core/rdbfile/reader.py), with the same results.
 *
 * records() reads whole key records from buf[pos:] and appends one row per key to the nine
 * column lists it is given, exactly as RdbReader._key_record does. It never raises for the
 * data: at anything it does not handle (an opcode other than the expiry/idle/freq prefixes, a
 * value type other than strings and the compact encodings, an LZF-compressed key, a header
 * that does not count its entries, a record that runs past the buffer, a malformed field) it
 * stops at the start of that record and returns, and the Python reader reads the record
 * itself, errors included. Every read is bounds-checked against the buffer first; no length
 * field from the file is used for an allocation.
 *
 * The memory estimate is memest.py's model; tests/test_rdb_fast.py checks that both paths give
 * identical rows on every fixture and on damaged files. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_fast_values.h"

/* The opcodes of a key record's prefixes, as reader.py names them (a test compares them). */
#define OP_IDLE 248
#define OP_FREQ 249
#define OP_EXPIRETIME_MS 252
#define OP_EXPIRETIME 253

/* A text score's length byte (RDB 1-7 sorted sets): from here on it is nan, +inf or -inf, with
 * no text after it. */
#define SCORE_SPECIAL 253

static PyObject *names[N_NAMES];

/* A little-endian int64, its sign taken without an out-of-range conversion. */
static int64_t le64_signed(const unsigned char *b) {
    uint64_t u = le32(b) | ((uint64_t)le32(b + 4) << 32);
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* The expiry, idle and freq prefixes of a record; -1 to stop. */
static int prefixes(Cur *c, int64_t *expire, int *has_expire, PyObject **idle, int *freq) {
    while (c->p < c->len) {
        unsigned char op = c->buf[c->p];
        if (op == OP_EXPIRETIME_MS || op == OP_EXPIRETIME) {
            int width = op == OP_EXPIRETIME_MS ? 8 : 4;
            if (c->p + 1 + width > c->len) return -1;
            const unsigned char *b = c->buf + c->p + 1;
            /* seconds: at most 2^32 - 1, times 1000 fits an int64 */
            *expire = width == 8 ? le64_signed(b) : (int64_t)le32(b) * 1000;
            *has_expire = 1;
            c->p += 1 + width;
        } else if (op == OP_IDLE) {
            int64_t n;
            c->p += 1;
            if (length(c, &n) < 0) return -1;
            Py_XDECREF(*idle);
            *idle = PyLong_FromLongLong(n);
            if (*idle == NULL) return -2;
        } else if (op == OP_FREQ) {
            if (c->p + 2 > c->len) return -1;
            *freq = c->buf[c->p + 1];
            c->p += 2;
        } else {
            return 0;
        }
    }
    return -1;
}

/* Counters kept across a call: keys, expired, empty, with idle, with freq. */
typedef struct { int64_t keys, expired, empty, idle, freq; } Counts;

/* TTL: the key's expiry minus the clock, or NULL for a key without one (-1 in the row). */
static int append_row(PyObject **cols, PyObject *key, Val *v, const uint64_t *ttl,
                      PyObject *idle, int freq, int64_t serialized) {
    int64_t keylen = PyBytes_GET_SIZE(key);
    PyObject *items[9];
    items[0] = key;
    items[1] = names[v->vtype];
    items[2] = PyLong_FromLongLong(v->mem + sds_alloc(keylen, 1) + DICT_ENTRY);
    items[3] = PyLong_FromLongLong(v->n);
    items[4] = ttl ? PyLong_FromUnsignedLongLong(*ttl) : PyLong_FromLong(-1);
    items[5] = names[v->enc];
    items[6] = idle ? idle : Py_None;
    items[7] = freq >= 0 ? PyLong_FromLong(freq) : Py_None;
    items[8] = PyLong_FromLongLong(serialized);
    int ok = items[2] && items[3] && items[4] && items[7] && items[8];
    for (int i = 0; ok && i < 9; i++) ok = PyList_Append(cols[i], items[i]) == 0;
    Py_XDECREF(items[2]);
    Py_XDECREF(items[3]);
    Py_XDECREF(items[4]);
    if (freq >= 0) Py_XDECREF(items[7]);
    Py_XDECREF(items[8]);
    return ok ? 0 : -1;
}

/* One key record at c->p: 1 read (a row or a key left out), 0 to stop, -1 on a Python error. */
static int one_record(Cur *c, int first_op, int64_t clock, int flags, PyObject **cols,
                      Counts *n) {
    int64_t expire = 0;
    int has_expire = 0, freq = -1, done = 0;
    PyObject *idle = NULL, *key = NULL;
    int r = prefixes(c, &expire, &has_expire, &idle, &freq);
    if (r < 0 || c->p >= c->len || c->buf[c->p] >= first_op) goto out;
    Py_ssize_t begin = c->p;
    int rtype = c->buf[c->p++];
    key = key_string(c);
    if (key == NULL) goto out;
    Val v;
    if (read_value(c, rtype, flags, &v) < 0) goto out;
    done = 1;
    n->keys++;
    if (has_expire && expire <= clock) {
        n->expired++;
        goto out;
    }
    if (v.n == 0 && v.vtype != T_STRING) {
        n->empty++;
        goto out;
    }
    n->idle += idle != NULL;
    n->freq += freq >= 0;
    /* expire > clock here, so the gap is in 1 .. 2^64 - 1: exact in unsigned arithmetic, where
     * expire - clock in int64 overflows (undefined) for a hostile expiry or clock, e.g. an
     * expiry near INT64_MAX with a negative ctime. */
    uint64_t ttl = (uint64_t)expire - (uint64_t)clock;
    if (append_row(cols, key, &v, has_expire ? &ttl : NULL, idle, freq, c->p - begin) < 0)
        r = -2;
out:
    Py_XDECREF(idle);
    Py_XDECREF(key);
    if (r == -2 || (PyErr_Occurred() != NULL)) return -1;
    return done;
}

static PyObject *records(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos, max_rows;
    int first_op, flags;
    long long clock;
    PyObject *cols_obj;
    if (!PyArg_ParseTuple(args, "y*niLiO!n", &view, &pos, &first_op, &clock, &flags,
                          &PyTuple_Type, &cols_obj, &max_rows))
        return NULL;
    PyObject *cols[9];
    if (PyTuple_GET_SIZE(cols_obj) != 9) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "nine column lists expected");
        return NULL;
    }
    for (int i = 0; i < 9; i++) {
        cols[i] = PyTuple_GET_ITEM(cols_obj, i);
        if (!PyList_Check(cols[i])) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_TypeError, "column lists expected");
            return NULL;
        }
    }
    Cur c = {(const unsigned char *)view.buf, view.len, pos};
    Counts n = {0, 0, 0, 0, 0};
    int r = 0;
    if (pos < 0 || pos > view.len) c.p = view.len;
    while (PyList_GET_SIZE(cols[0]) < max_rows) {
        Py_ssize_t start = c.p;
        r = one_record(&c, first_op, (int64_t)clock, flags, cols, &n);
        if (r <= 0) {
            c.p = start;
            break;
        }
    }
    PyBuffer_Release(&view);
    if (r < 0) return NULL;
    return Py_BuildValue("nLLLLL", c.p, (long long)n.keys, (long long)n.expired,
                         (long long)n.empty, (long long)n.idle, (long long)n.freq);
}

/* N elements of a hashtable set or hash, or of a skiplist zset (MODE 1: each with a binary
 * score, 2: with a text score), from buf[pos:]: (pos, elements read, the sum of their sds
 * allocations), stopping at the first element that is not whole in the buffer or not a plain,
 * integer or compressed string, or that would take the sum past 64 bits (the Python reader
 * reads that one). */
static PyObject *elements(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos, count;
    int mode;
    if (!PyArg_ParseTuple(args, "y*nni", &view, &pos, &count, &mode)) return NULL;
    Cur c = {(const unsigned char *)view.buf, view.len, pos};
    if (pos < 0 || pos > view.len) c.p = view.len;
    Py_ssize_t done = 0;
    int64_t total = 0;
    while (done < count) {
        Py_ssize_t start = c.p;
        Val v;
        if (read_string(&c, &v) < 0) {
            c.p = start;
            break;
        }
        if (mode == 1) {
            if (c.p + 8 > c.len) { c.p = start; break; }
            c.p += 8;
        } else if (mode == 2) {
            if (c.p >= c.len) { c.p = start; break; }
            unsigned char n = c.buf[c.p];
            if (n < SCORE_SPECIAL && c.p + 1 + n > c.len) { c.p = start; break; }
            c.p += 1 + (n < SCORE_SPECIAL ? n : 0);
        }
        int64_t sum;
        if (__builtin_add_overflow(total, sds_alloc(v.n, 1), &sum)) {
            c.p = start;  /* a sum past 64 bits: the Python reader adds it */
            break;
        }
        total = sum;
        done++;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("nnL", c.p, done, (long long)total);
}

static PyMethodDef methods[] = {
    {"elements", elements, METH_VARARGS,
     "elements(buf, pos, count, mode) -> (pos, read, sds_bytes): the elements of a hashtable "
     "or skiplist value (mode 0: strings, 1: with binary scores, 2: with text scores)."},
    {"records", records, METH_VARARGS,
     "records(buf, pos, first_opcode, clock_ms, flags, columns, max_rows) -> (pos, keys, "
     "expired, empty, with_idle, with_freq): key records read from buf[pos:] into the nine "
     "column lists, up to the first record left to the Python reader."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fast(void) {
    static const char *text[N_NAMES] = {"string", "list", "set", "zset", "hash", "int",
                                        "embstr", "raw", "listpack", "ziplist", "intset",
                                        "zipmap", "quicklist"};
    for (int i = 0; i < N_NAMES; i++) {
        names[i] = PyBytes_FromString(text[i]);
        if (names[i] == NULL) return NULL;
    }
    return PyModule_Create(&module);
}
