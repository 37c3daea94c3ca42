/* What _fast.c reads a value with: RDB lengths and strings, partial LZF, compact-encoding
 * headers, one reader per value type it handles, and the memory model of memest.py. Every
 * read checks the buffer first and returns -1 to stop (the Python reader then takes over
 * the record). Included once, by _fast.c, after Python.h. */

#ifndef RDB_FAST_VALUES_H
#define RDB_FAST_VALUES_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ROBJ 16
#define DICT_ENTRY 24
#define QUICKLIST 40
#define QUICKLIST_NODE 40
#define MAX_NEEDED ((int64_t)64 << 20)
/* The longest compressed string whose size is counted here (1 TiB): longer ones go to the
 * Python reader, so no size sum below can overflow an int64. */
#define MAX_COUNTED ((int64_t)1 << 40)

/* A length field's first byte: two kinds by their top bits, two wider ones (Redis's rdb.h). */
#define LEN_6BIT 0
#define LEN_14BIT 1
#define LEN_ENCVAL 3
#define LEN_32BIT 0x80
#define LEN_64BIT 0x81

/* A string's special encodings, as stream.py names them. */
#define ENC_INT8 0
#define ENC_INT16 1
#define ENC_INT32 2
#define ENC_LZF 3

/* The value types read here, named as in Redis's rdb.h (the keys of values.py's READERS);
 * any other type goes to the Python reader. */
#define RDB_TYPE_STRING 0
#define RDB_TYPE_HASH_ZIPMAP 9
#define RDB_TYPE_LIST_ZIPLIST 10
#define RDB_TYPE_SET_INTSET 11
#define RDB_TYPE_ZSET_ZIPLIST 12
#define RDB_TYPE_HASH_ZIPLIST 13
#define RDB_TYPE_LIST_QUICKLIST 14
#define RDB_TYPE_HASH_LISTPACK 16
#define RDB_TYPE_ZSET_LISTPACK 17
#define RDB_TYPE_LIST_QUICKLIST_2 18
#define RDB_TYPE_SET_LISTPACK 20

/* A quicklist 2 node's container (Redis's quicklist.h). */
#define QUICKLIST_NODE_PLAIN 1
#define QUICKLIST_NODE_PACKED 2

enum { T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, E_INT, E_EMBSTR, E_RAW, E_LISTPACK, E_ZIPLIST,
       E_INTSET, E_ZIPMAP, E_QUICKLIST, N_NAMES };

typedef struct {
    const unsigned char *buf;
    Py_ssize_t len;
    Py_ssize_t p;
} Cur;

typedef struct {
    int vtype, enc;
    int64_t n, mem;
} Val;

static int64_t size_class(int64_t n) {
    if (n <= 8) return 8;
    if (n <= 128) return (n + 15) & ~(int64_t)15;
    int bits = 64 - __builtin_clzll((unsigned long long)(n - 1));
    int64_t spacing = (int64_t)1 << (bits - 3);
    return (n + spacing - 1) & ~(spacing - 1);
}

/* jemalloc built with an 8-byte quantum (as Redis and Valkey build their bundled copy):
 * 8, 16, 24 ... 64, then as size_class. */
static int64_t size_class_8(int64_t n) {
    return n <= 64 ? (n + 7) & ~(int64_t)7 : size_class(n);
}

static int64_t sds_need(int64_t n, int type5) {
    int head = (n < 32 && type5) ? 1 : n < 256 ? 3 : n < 65536 ? 5 : 9;
    return head + n + 1;
}

static int64_t sds_alloc(int64_t n, int type5) { return size_class(sds_need(n, type5)); }

static int64_t string_value(int64_t n, int is_int) {
    if (is_int) return ROBJ;
    if (n <= 44) return size_class(ROBJ + 3 + n + 1);
    return ROBJ + sds_alloc(n, 0);
}

static int64_t compact(int64_t blob) { return ROBJ + size_class(blob); }

/* A length field: 0 on success, -1 when it is encoded, malformed or past the buffer.
 * *encoded is set for a special (string encoding) field. */
static int length_or_enc(Cur *c, int64_t *out, int *encoded) {
    if (c->p >= c->len) return -1;
    unsigned char first = c->buf[c->p];
    int kind = first >> 6;
    *encoded = 0;
    if (kind == LEN_6BIT) { *out = first; c->p += 1; return 0; }
    if (kind == LEN_14BIT) {
        if (c->p + 2 > c->len) return -1;
        *out = ((int64_t)(first & 0x3F) << 8) | c->buf[c->p + 1];
        c->p += 2;
        return 0;
    }
    if (kind == LEN_ENCVAL) { *out = first & 0x3F; *encoded = 1; c->p += 1; return 0; }
    int width = first == LEN_32BIT ? 4 : first == LEN_64BIT ? 8 : 0;
    if (width == 0 || c->p + 1 + width > c->len) return -1;
    uint64_t v = 0;
    for (int i = 0; i < width; i++) v = (v << 8) | c->buf[c->p + 1 + i];
    if (v > (uint64_t)INT64_MAX) return -1;
    *out = (int64_t)v;
    c->p += 1 + width;
    return 0;
}

static int length(Cur *c, int64_t *out) {
    int enc;
    return (length_or_enc(c, out, &enc) < 0 || enc) ? -1 : 0;
}

static int64_t le_signed(const unsigned char *b, int width) {
    if (width == 1) return (int8_t)b[0];
    if (width == 2) return (int16_t)(b[0] | (b[1] << 8));
    return (int32_t)((uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
                     ((uint32_t)b[3] << 24));
}

static int int_width(int64_t enc) {
    return enc == ENC_INT8 ? 1 : enc == ENC_INT16 ? 2 : enc == ENC_INT32 ? 4 : 0;
}

static int decimal_len(int64_t v) {
    char tmp[24];
    return snprintf(tmp, sizeof tmp, "%lld", (long long)v);
}

/* The key: a plain string or an integer encoding (its decimal text); NULL to stop (LZF, past
 * the buffer, malformed). A new reference. */
static PyObject *key_string(Cur *c) {
    int64_t n;
    int enc;
    if (length_or_enc(c, &n, &enc) < 0) return NULL;
    if (!enc) {
        if (n > c->len - c->p) return NULL;
        PyObject *k = PyBytes_FromStringAndSize((const char *)c->buf + c->p, (Py_ssize_t)n);
        c->p += (Py_ssize_t)n;
        return k;
    }
    int width = int_width(n);
    if (width == 0 || c->p + width > c->len) return NULL;
    char tmp[24];
    int w = snprintf(tmp, sizeof tmp, "%lld", (long long)le_signed(c->buf + c->p, width));
    c->p += width;
    return PyBytes_FromStringAndSize(tmp, w);
}

/* Whether TEXT is how the server writes an integer it keeps as one (string2l). */
static int is_long(const unsigned char *s, int64_t n) {
    if (n < 1 || n > 20) return 0;
    int neg = s[0] == '-';
    int64_t i = neg;
    if (i >= n) return 0;
    if (s[i] == '0') return n == 1;  /* "0" only: no leading zero, no "-0" */
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    return neg ? v <= (uint64_t)INT64_MAX + 1 : v <= (uint64_t)INT64_MAX;
}

static int read_string(Cur *c, Val *v) {
    int64_t n;
    int enc;
    if (length_or_enc(c, &n, &enc) < 0) return -1;
    v->vtype = T_STRING;
    if (!enc) {
        if (n > c->len - c->p) return -1;
        int integer = n <= 20 && is_long(c->buf + c->p, n);
        c->p += (Py_ssize_t)n;
        v->enc = integer ? E_INT : n <= 44 ? E_EMBSTR : E_RAW;
        v->n = n;
        v->mem = string_value(n, integer);
        return 0;
    }
    if (n == ENC_LZF) {  /* skipped, its length is the uncompressed one */
        int64_t clen, ulen;
        if (length(c, &clen) < 0 || length(c, &ulen) < 0 || clen > c->len - c->p) return -1;
        if (ulen > MAX_COUNTED) return -1;
        c->p += (Py_ssize_t)clen;
        v->enc = ulen <= 44 ? E_EMBSTR : E_RAW;
        v->n = ulen;
        v->mem = string_value(ulen, 0);
        return 0;
    }
    int width = int_width(n);
    if (width == 0 || c->p + width > c->len) return -1;
    v->enc = E_INT;
    v->n = decimal_len(le_signed(c->buf + c->p, width));
    v->mem = ROBJ;
    c->p += width;
    return 0;
}

/* liblzf's format, decompressed only until NEED bytes are out (a header). */
static int lzf_head(const unsigned char *in, int64_t in_len, unsigned char *out, int need) {
    int64_t i = 0;
    int o = 0;
    while (i < in_len && o < need) {
        unsigned ctrl = in[i++];
        if (ctrl < 32) {
            int run = (int)ctrl + 1;
            if (i + run > in_len) return -1;
            memcpy(out + o, in + i, (size_t)run);
            i += run;
            o += run;
            continue;
        }
        int len = (int)(ctrl >> 5);
        if (len == 7) {
            if (i >= in_len) return -1;
            len += in[i++];
        }
        if (i >= in_len) return -1;
        int ref = o - (int)((ctrl & 0x1F) << 8) - in[i++] - 1;
        if (ref < 0) return -1;
        len += 2;
        for (int k = 0; k < len; k++) out[o + k] = out[ref + k];
        o += len;
    }
    return o;
}

enum { C_LISTPACK, C_ZIPLIST, C_INTSET, C_ZIPMAP };

/* A listpack's or ziplist's count field when the count does not fit it (walk the entries). */
#define COUNT_UNKNOWN 65535
/* A zipmap's count byte from here on does not count (ZIPMAP_BIGLEN and up). */
#define ZIPMAP_BIGLEN 254

static uint32_t le32(const unsigned char *b) {
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
           ((uint32_t)b[3] << 24);
}

/* A string holding a compact encoding: its element count from the header and its size; -1 to
 * stop (a header that does not count, a compressed blob that does not decompress, a bad head:
 * the Python reader says what is wrong). */
static int counted(Cur *c, int kind, int64_t *count, int64_t *size) {
    static const int heads[] = {6, 10, 8, 1};
    int need = heads[kind];
    unsigned char tmp[600];
    const unsigned char *head;
    int64_t n, have;
    int enc;
    if (length_or_enc(c, &n, &enc) < 0) return -1;
    if (!enc) {
        if (n > c->len - c->p || n > MAX_NEEDED) return -1;
        head = c->buf + c->p;
        have = n;
        *size = n;
        c->p += (Py_ssize_t)n;
    } else {
        int64_t clen, ulen;
        if (n != ENC_LZF || length(c, &clen) < 0 || length(c, &ulen) < 0) return -1;
        if (clen > c->len - c->p || ulen > MAX_NEEDED) return -1;
        int got = lzf_head(c->buf + c->p, clen, tmp, need);
        if (got < need) return -1;
        head = tmp;
        have = got;
        *size = ulen;
        c->p += (Py_ssize_t)clen;
    }
    if (have < need) return -1;
    if (kind == C_LISTPACK || kind == C_ZIPLIST) {
        if (*size < (kind == C_LISTPACK ? 7 : 11) || le32(head) != (uint64_t)*size) return -1;
        *count = kind == C_LISTPACK ? (head[4] | (head[5] << 8)) : (head[8] | (head[9] << 8));
        return *count == COUNT_UNKNOWN ? -1 : 0;
    }
    if (kind == C_INTSET) {
        uint32_t width = le32(head);
        *count = le32(head + 4);
        if (width != 2 && width != 4 && width != 8) return -1;
        return *size == 8 + (int64_t)width * *count ? 0 : -1;
    }
    if (*size < 2 || head[0] >= ZIPMAP_BIGLEN) return -1;
    *count = head[0];
    return 0;
}

static int read_compact(Cur *c, Val *v, int vtype, int enc, int kind, int per, int valkey) {
    int64_t count, size;
    if (counted(c, kind, &count, &size) < 0) return -1;
    v->vtype = vtype;
    v->enc = enc;
    if (enc == E_INTSET && valkey) {
        v->n = count;
        v->mem = ROBJ + size;
    } else {
        v->n = count / per;
        v->mem = compact(size);
    }
    return 0;
}

static int read_quicklist(Cur *c, Val *v, int version, int listpack_lists) {
    int64_t nodes, total = 0, mem = ROBJ + QUICKLIST, first_size = 0;
    int64_t container = QUICKLIST_NODE_PACKED;
    if (length(c, &nodes) < 0 || nodes > c->len - c->p) return -1;
    for (int64_t i = 0; i < nodes; i++) {
        int64_t size, count;
        if (version == 2 && length(c, &container) < 0) return -1;
        if (container == QUICKLIST_NODE_PLAIN) {  /* one big element */
            int64_t n;
            int enc;
            if (length_or_enc(c, &n, &enc) < 0 || enc || n > c->len - c->p) return -1;
            c->p += (Py_ssize_t)n;
            size = n;
            total += 1;
        } else if (container == QUICKLIST_NODE_PACKED) {
            if (counted(c, version == 2 ? C_LISTPACK : C_ZIPLIST, &count, &size) < 0) return -1;
            total += count;
        } else {
            return -1;
        }
        if (i == 0) first_size = size;
        mem += QUICKLIST_NODE + size_class(size);
    }
    v->vtype = T_LIST;
    v->n = total;
    if (listpack_lists && version == 2 && nodes == 1 && container == QUICKLIST_NODE_PACKED) {
        v->enc = E_LISTPACK;
        v->mem = compact(first_size);
    } else {
        v->enc = E_QUICKLIST;
        v->mem = mem;
    }
    return 0;
}

static int read_value(Cur *c, int rtype, int flags, Val *v) {
    int lp_lists = flags & 1, valkey = (flags >> 1) & 1;
    switch (rtype) {
    case RDB_TYPE_STRING: return read_string(c, v);
    case RDB_TYPE_HASH_ZIPMAP: return read_compact(c, v, T_HASH, E_ZIPMAP, C_ZIPMAP, 1, valkey);
    case RDB_TYPE_LIST_ZIPLIST: return read_compact(c, v, T_LIST, E_ZIPLIST, C_ZIPLIST, 1, valkey);
    case RDB_TYPE_SET_INTSET: return read_compact(c, v, T_SET, E_INTSET, C_INTSET, 1, valkey);
    case RDB_TYPE_ZSET_ZIPLIST: return read_compact(c, v, T_ZSET, E_ZIPLIST, C_ZIPLIST, 2, valkey);
    case RDB_TYPE_HASH_ZIPLIST: return read_compact(c, v, T_HASH, E_ZIPLIST, C_ZIPLIST, 2, valkey);
    case RDB_TYPE_LIST_QUICKLIST: return read_quicklist(c, v, 1, lp_lists);
    case RDB_TYPE_HASH_LISTPACK:
        return read_compact(c, v, T_HASH, E_LISTPACK, C_LISTPACK, 2, valkey);
    case RDB_TYPE_ZSET_LISTPACK:
        return read_compact(c, v, T_ZSET, E_LISTPACK, C_LISTPACK, 2, valkey);
    case RDB_TYPE_LIST_QUICKLIST_2: return read_quicklist(c, v, 2, lp_lists);
    case RDB_TYPE_SET_LISTPACK: return read_compact(c, v, T_SET, E_LISTPACK, C_LISTPACK, 1, valkey);
    default: return -1;
    }
}

#endif
