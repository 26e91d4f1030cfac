/*
 * bot.esx._lsofcount: count `vmkvsitools lsof` output at C speed (optional accelerator).
 *
 * `aio-bot analyze` reads lsof captures of a million lines and more; doing the per-line
 * work below in Python costs about twice what KB 408376's awk pipeline costs. This module
 * does exactly what `bot.esx.lsof._count_line` does, on a whole buffer, without the GIL:
 *
 *   - a line ends at "\n" (a last line without one counts too); a buffer with no "\n" at all
 *     but with "\r" ends its lines at "\r";
 *   - fields are runs of bytes other than blanks: space, tab, \r, \v, \f (busybox awk's
 *     default FS) and the UTF-8 Unicode spaces U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
 *     U+202F, U+205F, U+3000 and U+FEFF (what a paste puts in);
 *   - blank lines, header lines (first field `Cartel`) and separator lines (only the bytes
 *     `-=|+` and blanks) are skipped;
 *   - a line with fewer than 3 fields, or whose first field is not a canonical cartel ID
 *     (`0`, or 1 to 18 digits without a leading zero), is not counted: the first 20 are
 *     reported, all of them are counted as skipped;
 *   - every other line counts once under its Type ($3); a CHAR line counts for its cartel
 *     ($1), and as a vmgfx handle when its World name ($2) is exactly `vmx` and the line
 *     contains `vmgfx` anywhere.
 *
 * count(buffer) -> (lines, types, cartels, skipped, skipped_total)
 *   lines:   lines read
 *   types:   {type bytes: lines}
 *   cartels: {cartel ID bytes: (CHAR lines, vmgfx lines)}, cartels with a CHAR line only
 *   skipped: [(line number, start offset, end offset, reason)] of the first 20 lines not
 *            counted; reason 1: fewer than 3 fields, 2: the first field is not a cartel ID.
 *   skipped_total: how many lines were not counted.
 *
 * `bot.esx.lsof` falls back to Python when this module is not built; the tests check that
 * both give the same answer on the same input.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_CARTEL_DIGITS 18
#define MAX_SHOWN 20
#define BAD_FEW_FIELDS 1
#define BAD_CARTEL_ID 2

/* A hash table keyed by byte strings that point into the buffer being counted. */
typedef struct {
    const char *key;
    Py_ssize_t len;
    uint64_t hash;
    Py_ssize_t first;  /* types: lines; cartels: CHAR lines */
    Py_ssize_t second; /* cartels: vmgfx lines */
} Entry;

typedef struct {
    Entry *slots;
    size_t cap; /* a power of two */
    size_t used;
    Entry *last; /* the entry found last: lsof lists a cartel's lines together */
} Table;

typedef struct {
    Py_ssize_t line;
    Py_ssize_t start;
    Py_ssize_t end;
    int reason;
} Bad;

typedef struct {
    Table types;
    Table cartels;
    Py_ssize_t lines;
    Bad bad[MAX_SHOWN];
    Py_ssize_t bad_total;
    int bad_reason;
    int no_memory;
} Scan;

static uint64_t
hash_bytes(const char *p, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int
table_init(Table *t)
{
    t->cap = 64;
    t->used = 0;
    t->last = NULL;
    t->slots = calloc(t->cap, sizeof(Entry));
    return t->slots != NULL;
}

static int
table_grow(Table *t)
{
    size_t cap = t->cap * 2;
    Entry *slots = calloc(cap, sizeof(Entry));
    if (slots == NULL) {
        return 0;
    }
    for (size_t i = 0; i < t->cap; i++) {
        Entry *e = &t->slots[i];
        if (e->key == NULL) {
            continue;
        }
        size_t j = (size_t)e->hash & (cap - 1);
        while (slots[j].key != NULL) {
            j = (j + 1) & (cap - 1);
        }
        slots[j] = *e;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    t->last = NULL;
    return 1;
}

/* The entry for key (created with zero counts when new); NULL when out of memory. */
static Entry *
table_get(Table *t, const char *key, Py_ssize_t len)
{
    Entry *last = t->last;
    if (last != NULL && last->len == len && memcmp(last->key, key, (size_t)len) == 0) {
        return last;
    }
    uint64_t h = hash_bytes(key, len);
    size_t i = (size_t)h & (t->cap - 1);
    for (;;) {
        Entry *e = &t->slots[i];
        if (e->key == NULL) {
            break;
        }
        if (e->hash == h && e->len == len && memcmp(e->key, key, (size_t)len) == 0) {
            t->last = e;
            return e;
        }
        i = (i + 1) & (t->cap - 1);
    }
    if ((t->used + 1) * 2 > t->cap) {
        if (!table_grow(t)) {
            return NULL;
        }
        return table_get(t, key, len);
    }
    Entry *e = &t->slots[i];
    e->key = key;
    e->len = len;
    e->hash = h;
    t->used++;
    t->last = e;
    return e;
}

/* The length of the blank at p (0: none): an ASCII space or a UTF-8 Unicode space. */
static inline Py_ssize_t
blank_len(const char *p, const char *end)
{
    unsigned char c = (unsigned char)*p;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
        return 1;
    }
    if (c < 0xC2) {
        return 0;
    }
    Py_ssize_t n = end - p;
    const unsigned char *u = (const unsigned char *)p;
    if (c == 0xC2) {
        return n >= 2 && u[1] == 0xA0 ? 2 : 0;
    }
    if (n < 3) {
        return 0;
    }
    if (c == 0xE2 && u[1] == 0x80) {
        unsigned char t = u[2];
        return (t >= 0x80 && t <= 0x8A) || t == 0xA8 || t == 0xA9 || t == 0xAF ? 3 : 0;
    }
    if ((c == 0xE2 && u[1] == 0x81 && u[2] == 0x9F) || (c == 0xE1 && u[1] == 0x9A && u[2] == 0x80)
        || (c == 0xE3 && u[1] == 0x80 && u[2] == 0x80)
        || (c == 0xEF && u[1] == 0xBB && u[2] == 0xBF)) {
        return 3;
    }
    return 0;
}

static const char *
skip_blanks(const char *p, const char *end)
{
    Py_ssize_t n;
    while (p < end && (n = blank_len(p, end)) > 0) {
        p += n;
    }
    return p;
}

/* The end of the field at p. Printable ASCII (the bulk of every field) is passed over
   without looking further; only control bytes and bytes >= 0x80 can start a blank. */
static const char *
skip_field(const char *p, const char *end)
{
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c > ' ' && c < 0x80) {
            p++;
        } else if (blank_len(p, end) > 0) {
            return p;
        } else {
            p++;
        }
    }
    return p;
}

static int
is_separator(const char *p, const char *end)
{
    while (p < end) {
        char c = *p;
        Py_ssize_t n = blank_len(p, end);
        if (n > 0) {
            p += n;
        } else if (c == '-' || c == '=' || c == '|' || c == '+') {
            p++;
        } else {
            return 0;
        }
    }
    return 1;
}

static int
is_cartel_id(const char *p, Py_ssize_t n)
{
    if (n < 1 || n > MAX_CARTEL_DIGITS || (n > 1 && p[0] == '0')) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int
equals(const char *p, const char *end, const char *word, Py_ssize_t n)
{
    return end - p == n && memcmp(p, word, (size_t)n) == 0;
}

/* Count one line [line, eol); 0 when it is bad (s->bad_reason says why) or out of memory. */
static int
count_line(Scan *s, const char *line, const char *eol)
{
    const char *f1 = skip_blanks(line, eol);
    if (f1 == eol) {
        return 1;
    }
    const char *f1_end = skip_field(f1, eol);
    if (equals(f1, f1_end, "Cartel", 6) || is_separator(f1, eol)) {
        return 1;
    }
    const char *f2 = skip_blanks(f1_end, eol);
    const char *f2_end = skip_field(f2, eol);
    const char *f3 = skip_blanks(f2_end, eol);
    const char *f3_end = skip_field(f3, eol);
    if (f3 == f3_end) {
        s->bad_reason = BAD_FEW_FIELDS;
        return 0;
    }
    if (!is_cartel_id(f1, f1_end - f1)) {
        s->bad_reason = BAD_CARTEL_ID;
        return 0;
    }
    Entry *type = table_get(&s->types, f3, f3_end - f3);
    if (type == NULL) {
        s->no_memory = 1;
        return 0;
    }
    type->first++;
    if (!equals(f3, f3_end, "CHAR", 4)) {
        return 1;
    }
    Entry *cartel = table_get(&s->cartels, f1, f1_end - f1);
    if (cartel == NULL) {
        s->no_memory = 1;
        return 0;
    }
    cartel->first++;
    if (equals(f2, f2_end, "vmx", 3) && memmem(line, (size_t)(eol - line), "vmgfx", 5) != NULL) {
        cartel->second++;
    }
    return 1;
}

static void
scan(Scan *s, const char *buf, Py_ssize_t n)
{
    const char *p = buf;
    const char *end = buf + n;
    int eol_char = '\n';
    if (memchr(buf, '\n', (size_t)n) == NULL && memchr(buf, '\r', (size_t)n) != NULL) {
        eol_char = '\r'; /* old Mac line ends */
    }
    while (p < end) {
        const char *nl = memchr(p, eol_char, (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        s->lines++;
        if (!count_line(s, p, eol)) {
            if (s->no_memory) {
                return;
            }
            if (s->bad_total < MAX_SHOWN) {
                Bad *b = &s->bad[s->bad_total];
                b->line = s->lines;
                b->start = p - buf;
                b->end = eol - buf;
                b->reason = s->bad_reason;
            }
            s->bad_total++;
        }
        p = nl != NULL ? nl + 1 : end;
    }
}

/* {key bytes: value}; the value is `first`, or `(first, second)` when `pairs`. */
static PyObject *
table_dict(Table *t, int pairs)
{
    PyObject *d = PyDict_New();
    for (size_t i = 0; d != NULL && i < t->cap; i++) {
        Entry *e = &t->slots[i];
        if (e->key == NULL) {
            continue;
        }
        PyObject *k = PyBytes_FromStringAndSize(e->key, e->len);
        PyObject *v = pairs ? Py_BuildValue("(nn)", e->first, e->second)
                            : PyLong_FromSsize_t(e->first);
        if (k == NULL || v == NULL || PyDict_SetItem(d, k, v) < 0) {
            Py_CLEAR(d);
        }
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *
result(Scan *s)
{
    PyObject *types = table_dict(&s->types, 0);
    PyObject *cartels = types != NULL ? table_dict(&s->cartels, 1) : NULL;
    if (cartels == NULL) {
        Py_XDECREF(types);
        return NULL;
    }
    Py_ssize_t shown = s->bad_total < MAX_SHOWN ? s->bad_total : MAX_SHOWN;
    PyObject *bad = PyList_New(shown);
    for (Py_ssize_t i = 0; bad != NULL && i < shown; i++) {
        Bad *b = &s->bad[i];
        PyObject *item = Py_BuildValue("(nnni)", b->line, b->start, b->end, b->reason);
        if (item == NULL) {
            Py_CLEAR(bad);
            break;
        }
        PyList_SET_ITEM(bad, i, item);
    }
    if (bad == NULL) {
        Py_DECREF(types);
        Py_DECREF(cartels);
        return NULL;
    }
    return Py_BuildValue("(nNNNn)", s->lines, types, cartels, bad, s->bad_total);
}

static PyObject *
lsofcount_count(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Scan s;
    memset(&s, 0, sizeof s);
    PyObject *out = NULL;
    if (!table_init(&s.types) || !table_init(&s.cartels)) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    scan(&s, (const char *)view.buf, view.len);
    Py_END_ALLOW_THREADS
    if (s.no_memory) {
        PyErr_NoMemory();
        goto done;
    }
    out = result(&s);
done:
    free(s.types.slots);
    free(s.cartels.slots);
    PyBuffer_Release(&view);
    return out;
}

static PyMethodDef methods[] = {
    {"count", lsofcount_count, METH_O,
     "count(buffer) -> (lines, types, cartels, skipped, skipped_total): count "
     "`vmkvsitools lsof` output."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lsofcount",
    "Count `vmkvsitools lsof` output at C speed (see bot.esx.lsof).", -1, methods,
};

PyMODINIT_FUNC
PyInit__lsofcount(void)
{
    return PyModule_Create(&module);
}
