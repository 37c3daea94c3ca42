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
 * The memory estimate is memest.py's model; tests/server/test_rdb_fast.py and tests/unit/test_rdb_fast_bytes.py check that both paths give
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
 * allocations, in the 8-byte quantum's size classes when SMALL), stopping at the first
 * element that is not whole in the buffer or not a plain, integer or compressed string, or
 * that would take the sum past 64 bits (the Python reader reads that one). */
static PyObject *elements(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos, count;
    int mode, small = 0;
    if (!PyArg_ParseTuple(args, "y*nni|i", &view, &pos, &count, &mode, &small)) return NULL;
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
        int64_t alloc = small ? size_class_8(sds_need(v.n, 1)) : sds_alloc(v.n, 1);
        if (__builtin_add_overflow(total, alloc, &sum)) {
            c.p = start;  /* a sum past 64 bits: the Python reader adds it */
            break;
        }
        total = sum;
        done++;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("nnL", c.p, done, (long long)total);
}

/* restores(): key records as RESTORE commands (`backup restore`), the payload framed as DUMP
 * frames it (type byte, the value's own bytes, 2-byte RDB version, CRC-64 of all that). Only a
 * value held in one string (a string, a compact encoding), with its TTL, IDLETIME or FREQ as
 * stream.py's _command adds them; it stops at anything else, as records() does. */
static uint64_t crc_table[256];

static void crc_init(void) {  /* Redis's: the Jones polynomial, reflected */
    for (uint64_t i = 0, c, k; i < 256; crc_table[i++] = c)
        for (c = i, k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? 0x95ac9329ac4bc9b5ULL : 0);
}

static uint64_t crc64(uint64_t crc, const unsigned char *p, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

typedef struct { char *p; Py_ssize_t len, cap; } Out;

static int out_put(Out *o, const void *data, Py_ssize_t n) {
    if (o->len + n > o->cap) {
        Py_ssize_t cap = (o->cap ? o->cap * 2 : 1 << 16);
        while (cap < o->len + n) cap *= 2;
        char *p = PyMem_Realloc(o->p, (size_t)cap);
        if (p == NULL) return PyErr_NoMemory(), -1;
        o->p = p, o->cap = cap;
    }
    memcpy(o->p + o->len, data, (size_t)n);
    o->len += n;
    return 0;
}

/* V's decimal text into OUT (24 bytes): its length (snprintf's, without its cost). */
static int decimal(char *out, long long v) {
    char tmp[24];
    int n = 0, len = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do tmp[n++] = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = tmp[--n];
    return len;
}

/* A RESP header: KIND ('*' or '$'), V, CRLF. */
static int out_text(Out *o, char kind, long long v) {
    char tmp[28] = {kind};
    int n = 1 + decimal(tmp + 1, v);
    tmp[n] = '\r', tmp[n + 1] = '\n';
    return out_put(o, tmp, n + 2);
}

/* One RESP argument: its bytes, or a number's text. */
static int out_arg(Out *o, const void *data, Py_ssize_t n) {
    return out_text(o, '$', n) | out_put(o, data, n) | out_put(o, "\r\n", 2);
}

static int out_num(Out *o, long long v) { char t[24]; return out_arg(o, t, decimal(t, v)); }

/* The value types held in one string (records.py's _ONE_STRING). */
static int one_string(int t) {
    return t == 0 || (t >= 9 && t <= 13) || t == 16 || t == 17 || t == 20;
}

/* One record as a RESTORE into O: 1 done, 2 expired (skipped), 0 to stop (nothing written). */
static int one_restore(Cur *c, int first_op, int64_t now, int skip_expired,
                       const unsigned char *tail, Out *o, uint64_t *types, int64_t *size) {
    int64_t expire = 0, idle = -1;
    int has_expire = 0, freq = -1;
    for (unsigned char op; c->p < c->len && ((op = c->buf[c->p]) == OP_IDLE || op == OP_FREQ ||
                                             op == OP_EXPIRETIME_MS || op == OP_EXPIRETIME);) {
        if (op == OP_IDLE) {
            if (c->p++, length(c, &idle) < 0) return 0;
            continue;
        }
        int width = op == OP_FREQ ? 1 : op == OP_EXPIRETIME_MS ? 8 : 4;
        if (c->p + 1 + width > c->len) return 0;
        const unsigned char *b = c->buf + c->p + 1;
        if (op == OP_FREQ) freq = b[0];
        else expire = width == 8 ? le64_signed(b) : (int64_t)le32(b) * 1000, has_expire = 1;
        c->p += 1 + width;
    }
    if (c->p >= c->len || c->buf[c->p] >= first_op || !one_string(c->buf[c->p])) return 0;
    int rtype = c->buf[c->p++], gone = has_expire && expire <= now;
    if (gone && !skip_expired) return 0;  /* --keep-expired: Python's */
    int64_t n;  /* the key's length */
    int enc;
    char num[24];  /* an integer key's text */
    const unsigned char *key;
    if (length_or_enc(c, &n, &enc) < 0) return 0;
    if (!enc) {
        if (n > c->len - c->p) return 0;
        key = c->buf + c->p;
        c->p += (Py_ssize_t)n;
    } else {
        int width = int_width(n);
        if (width == 0 || c->p + width > c->len) return 0;  /* an LZF key: Python's */
        n = decimal(num, (long long)le_signed(c->buf + c->p, width));
        key = (const unsigned char *)num;
        c->p += width;
    }
    Py_ssize_t begin = c->p;
    Val v;
    if (read_string(c, &v) < 0) return 0;
    Py_ssize_t vlen = c->p - begin;
    *types |= (uint64_t)1 << rtype;
    if (gone) return 2;  /* skipped, counted expired */
    unsigned char head = (unsigned char)rtype, trailer[10] = {tail[0], tail[1]};
    uint64_t crc = crc64(crc64(crc64(0, &head, 1), c->buf + begin, vlen), tail, 2);
    for (int i = 0; i < 8; i++) trailer[2 + i] = (unsigned char)(crc >> (8 * i));
    int64_t meta = idle >= 0 ? idle : freq;
    int r = out_text(o, '*', 4 + has_expire + (meta >= 0) * 2) | out_arg(o, "RESTORE", 7);
    r |= out_arg(o, key, n);
    r |= has_expire ? out_num(o, expire) : out_arg(o, "0", 1);
    r |= out_text(o, '$', (long long)(vlen + 11)) | out_put(o, &head, 1);
    r |= out_put(o, c->buf + begin, vlen) | out_put(o, trailer, 10) | out_put(o, "\r\n", 2);
    if (has_expire) r |= out_arg(o, "ABSTTL", 6);
    if (meta >= 0)  /* as stream.py's _command: the idle time first */
        r |= out_arg(o, idle >= 0 ? "IDLETIME" : "FREQ", idle >= 0 ? 8 : 4) | out_num(o, meta);
    if (r) return -1;
    *size += vlen + 11;
    return 1;
}

static PyObject *restores(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer view, tailv;
    Py_ssize_t pos, max_keys, max_bytes;
    int first_op, skip_expired;
    long long now;
    if (!PyArg_ParseTuple(args, "y*niLpy*nn", &view, &pos, &first_op, &now, &skip_expired,
                          &tailv, &max_keys, &max_bytes))
        return NULL;
    PyObject *res = NULL;
    if (tailv.len != 2 && PyErr_Format(PyExc_ValueError, "a 2-byte version tail expected") == NULL)
        goto done;
    Cur c = {(const unsigned char *)view.buf, view.len, pos};
    if (pos < 0 || pos > view.len) c.p = view.len;
    Out o = {NULL, 0, 0};
    uint64_t types = 0;  /* a bit per value type framed */
    int64_t size = 0, keys = 0, expired = 0;
    int r = 1;
    for (Py_ssize_t start = c.p; keys < max_keys && o.len < max_bytes; start = c.p) {
        r = one_restore(&c, first_op, (int64_t)now, skip_expired, tailv.buf, &o, &types, &size);
        if (r <= 0 && (c.p = start) >= 0) break;  /* that record is left to Python */
        keys += r == 1, expired += r == 2;
    }
    if (r >= 0)
        res = Py_BuildValue("ny#LLKL", c.p, o.p ? o.p : "", o.len, (long long)keys,
                            (long long)size, (unsigned long long)types, (long long)expired);
    PyMem_Free(o.p);
done:
    PyBuffer_Release(&view);
    PyBuffer_Release(&tailv);
    return res;
}

static PyMethodDef methods[] = {
    {"elements", elements, METH_VARARGS,
     "elements(buf, pos, count, mode, small=0) -> (pos, read, sds_bytes): the elements of a "
     "hashtable or skiplist value (mode 0: strings, 1: with binary scores, 2: with text "
     "scores; small: in the 8-byte quantum's size classes)."},
    {"records", records, METH_VARARGS,
     "records(buf, pos, first_opcode, clock_ms, flags, columns, max_rows) -> (pos, keys, "
     "expired, empty, with_idle, with_freq): key records read from buf[pos:] into the nine "
     "column lists, up to the first record left to the Python reader."},
    {"restores", restores, METH_VARARGS,
     "restores(buf, pos, first_op, now_ms, skip_expired, tail, max_keys, max_bytes) -> (pos, "
     "commands, keys, payload_bytes, type_bits, expired): RESTOREs of the records at buf[pos:]."},
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
    crc_init();
    return PyModule_Create(&module);
}
