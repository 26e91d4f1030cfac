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
 * How, fast: most lines of a capture are printable ASCII, spaces and tabs up to the end of
 * their third field; there a blank is only a space or a tab, and the first 64 bytes of the
 * line are classified at once (SSE2; 8 bytes at a time elsewhere). A line with any other byte
 * before its third field ends (a control byte, which may be \r, \v or \f; a byte >= 0x80,
 * which may start a Unicode space) or that may be a separator is read by the full rules.
 * Types up to 8 bytes are found by their bytes as a number among the last 8 seen. A buffer
 * of `split` bytes or more is counted in two threads, one half each (cut at a line end),
 * the halves' counts added up and the second half's line numbers moved on.
 *
 * count(buffer, split=8 MiB) -> (lines, types, cartels, skipped, skipped_total)
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
#define SPLIT ((Py_ssize_t)8 << 20) /* bytes: count in two threads from this size */
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

/* A type seen before, by its bytes (up to 8) as a number: most lines find their type here
   with one or two compares, without hashing. */
typedef struct {
    uint64_t word;
    Py_ssize_t len;
    Entry *entry; /* in types: valid until the table grows */
} Recent;

#define MAX_RECENT 8

typedef struct {
    Table types;
    Table cartels;
    Recent recent[MAX_RECENT];
    int n_recent;
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

/* The first three fields of a line: fields[0..5] are f1, f1 end, f2, f2 end, f3, f3 end;
   a field that is not there is empty (start == end == eol). */
typedef struct {
    const char *f[6];
} Fields;

/* The fields by the full rules: any blank, ASCII or Unicode. */
static void
fields_full(const char *line, const char *eol, Fields *out)
{
    const char *p = line;
    for (int i = 0; i < 6; i += 2) {
        p = skip_blanks(p, eol);
        out->f[i] = p;
        p = skip_field(p, eol);
        out->f[i + 1] = p;
    }
}

/*
 * The fast path, for the bytes of a line up to the end of its third field when they are
 * all printable ASCII, spaces and tabs (every line of a capture that was not pasted): there
 * a blank is only a space or a tab. Eight bytes at a time where the platform allows it.
 * Any other byte (a control byte other than tab, which may be \r, \v or \f; a byte >= 0x80,
 * which may start a Unicode space), or a first field that may start a separator line,
 * returns 0: the caller then reads the line by the full rules. Bytes after the third field
 * are never looked at here, nor by the full rules' field split.
 */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t
load8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}
#endif

/* Past spaces and tabs. */
static inline const char *
fast_blanks(const char *p, const char *eol)
{
    for (;;) {
#ifdef SWAR
        while (eol - p >= 8) {
            uint64_t x = load8(p) ^ (ONES * ' ');
            if (x != 0) {
                p += __builtin_ctzll(x) >> 3; /* the first byte that is not a space */
                goto stop;
            }
            p += 8;
        }
#endif
        while (p < eol && *p == ' ') {
            p++;
        }
#ifdef SWAR
    stop:
#endif
        if (p < eol && *p == '\t') {
            p++;
            continue;
        }
        return p;
    }
}

/* Past printable ASCII (0x21-0x7F): to a space, a tab, a special byte or eol. */
static inline const char *
fast_field(const char *p, const char *eol)
{
#ifdef SWAR
    while (eol - p >= 8) {
        uint64_t w = load8(p);
        /* high bit of each byte < 0x21 or >= 0x80; the lowest one flagged is exact (a
           borrow only carries out of a byte that is itself flagged) */
        uint64_t stop = (((w - ONES * 0x21) & ~w) | w) & HIGHS;
        if (stop != 0) {
            return p + (__builtin_ctzll(stop) >> 3);
        }
        p += 8;
    }
#endif
    while (p < eol) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x80) {
            return p;
        }
        p++;
    }
    return p;
}

/* 1: out holds the fields (or f1 == eol: a blank line); 0: read the line by the full rules. */
static inline int
fields_fast(const char *line, const char *eol, Fields *out)
{
    const char *p = line;
    for (int i = 0; i < 6; i += 2) {
        p = fast_blanks(p, eol);
        if (p == eol) {
            for (; i < 6; i++) {
                out->f[i] = eol;
            }
            return 1;
        }
        unsigned char c = (unsigned char)*p;
        if (c < ' ' || c >= 0x80) {
            return 0; /* a control byte (maybe \r, \v, \f) or maybe a Unicode space */
        }
        if (i == 0 && (c == '-' || c == '=' || c == '|' || c == '+')) {
            return 0; /* maybe a separator line: the full rules look at the whole line */
        }
        out->f[i] = p;
        p = fast_field(p, eol);
        out->f[i + 1] = p;
        if (p < eol && *p != ' ' && *p != '\t') {
            return 0;
        }
    }
    return 1;
}

#ifdef __SSE2__
#include <emmintrin.h>
#define WINDOW 64

/*
 * The fast path again, for SSE2 (every x86-64): the first 64 bytes of the line classified
 * at once (blank: space or tab; special: any other byte < 0x20 or >= 0x80), the fields'
 * ends found with bit operations. 1: done; 0: read the line by the full rules; -1: the first
 * three fields do not end within 64 bytes, or fewer than 64 bytes are left in the buffer.
 */
static inline int
fields_window(const char *line, const char *eol, const char *end, Fields *out)
{
    if (end - line < WINDOW) {
        return -1;
    }
    const __m128i space = _mm_set1_epi8(' ');
    const __m128i tab = _mm_set1_epi8('\t');
    const __m128i control = _mm_set1_epi8(' '); /* signed: < ' ' is < 0x20 or >= 0x80 */
    uint64_t blank = 0;
    uint64_t special = 0;
    for (int k = 0; k < WINDOW / 16; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(line + 16 * k));
        __m128i is_tab = _mm_cmpeq_epi8(v, tab);
        __m128i is_blank = _mm_or_si128(_mm_cmpeq_epi8(v, space), is_tab);
        __m128i is_special = _mm_andnot_si128(is_tab, _mm_cmplt_epi8(v, control));
        blank |= (uint64_t)(unsigned)_mm_movemask_epi8(is_blank) << (16 * k);
        special |= (uint64_t)(unsigned)_mm_movemask_epi8(is_special) << (16 * k);
    }
    Py_ssize_t len = eol - line;
    if (len < WINDOW) { /* bytes past the line end: blanks */
        uint64_t past = ~0ULL << len;
        blank |= past;
        special &= ~past;
    }
    const char *at[6];
    uint64_t from = ~0ULL; /* positions not passed yet */
    Py_ssize_t last = 0;
    for (int i = 0; i < 6; i += 2) {
        uint64_t starts = ~blank & from;
        if (starts == 0) {
            if (len >= WINDOW) {
                return -1;
            }
            for (; i < 6; i++) {
                at[i] = eol;
            }
            break;
        }
        int start = __builtin_ctzll(starts);
        uint64_t ends = blank & (~0ULL << start);
        if (ends == 0) {
            return -1;
        }
        int stop = __builtin_ctzll(ends);
        at[i] = line + start;
        at[i + 1] = line + stop;
        last = stop;
        from = ~0ULL << stop; /* a blank: the next field starts after it */
    }
    if (last > 0 && (special & (~0ULL >> (WINDOW - last))) != 0) {
        return 0; /* a control byte or a byte >= 0x80 before the third field ends */
    }
    if (at[0] != eol) {
        char c = *at[0];
        if (c == '-' || c == '=' || c == '|' || c == '+') {
            return 0; /* maybe a separator line */
        }
    }
    memcpy(out->f, at, sizeof at);
    return 1;
}
#endif

/* The entry of type [key, key + len), end: the buffer's end; NULL when out of memory. */
static inline Entry *
type_get(Scan *s, const char *key, Py_ssize_t len, const char *end)
{
#ifdef SWAR
    if (len <= 8 && end - key >= 8) {
        uint64_t word = load8(key);
        if (len < 8) {
            word &= (1ULL << (8 * len)) - 1;
        }
        for (int i = 0; i < s->n_recent; i++) {
            Recent *r = &s->recent[i];
            if (r->word == word && r->len == len) {
                return r->entry;
            }
        }
        size_t cap = s->types.cap;
        Entry *e = table_get(&s->types, key, len);
        if (e == NULL) {
            return NULL;
        }
        if (s->types.cap != cap) {
            s->n_recent = 0; /* the table grew: its entries moved */
        }
        if (s->n_recent < MAX_RECENT) {
            Recent *r = &s->recent[s->n_recent++];
            r->word = word;
            r->len = len;
            r->entry = e;
        }
        return e;
    }
#else
    (void)end;
#endif
    return table_get(&s->types, key, len);
}

/* Count one line [line, eol); 0 when it is bad (s->bad_reason says why) or out of memory. */
static int
count_line(Scan *s, const char *line, const char *eol, const char *end)
{
    Fields fl;
#ifdef __SSE2__
    int fast = fields_window(line, eol, end, &fl);
    if (fast < 0) {
        fast = fields_fast(line, eol, &fl);
    }
#else
    int fast = fields_fast(line, eol, &fl);
#endif
    if (!fast) {
        fields_full(line, eol, &fl);
    }
    const char *f1 = fl.f[0], *f1_end = fl.f[1], *f2 = fl.f[2], *f2_end = fl.f[3];
    const char *f3 = fl.f[4], *f3_end = fl.f[5];
    if (f1 == eol) {
        return 1;
    }
    if (equals(f1, f1_end, "Cartel", 6) || (!fast && is_separator(f1, eol))) {
        return 1;
    }
    if (f3 == f3_end) {
        s->bad_reason = BAD_FEW_FIELDS;
        return 0;
    }
    if (!is_cartel_id(f1, f1_end - f1)) {
        s->bad_reason = BAD_CARTEL_ID;
        return 0;
    }
    Entry *type = type_get(s, f3, f3_end - f3, end);
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
    /* `grep vmgfx` looks at the whole line, but the line up to here is a cartel ID, `vmx`,
       `CHAR` and blanks (no `g`, no `f`): `vmgfx` can only be after the third field. */
    if (equals(f2, f2_end, "vmx", 3)
        && memmem(f3_end, (size_t)(eol - f3_end), "vmgfx", 5) != NULL) {
        cartel->second++;
    }
    return 1;
}

/* Count the lines in [from, to), which starts a line; buf: the buffer's start (line offsets
   are from there), limit: its end (the fast paths may read that far). */
static void
scan_part(Scan *s, const char *buf, const char *from, const char *to, const char *limit,
          int eol_char)
{
    const char *p = from;
    while (p < to) {
        const char *nl = memchr(p, eol_char, (size_t)(to - p));
        const char *eol = nl != NULL ? nl : to;
        s->lines++;
        if (!count_line(s, p, eol, limit)) {
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
        p = nl != NULL ? nl + 1 : to;
    }
}

static int
scan_init(Scan *s)
{
    memset(s, 0, sizeof *s);
    return table_init(&s->types) && table_init(&s->cartels);
}

static void
scan_free(Scan *s)
{
    free(s->types.slots);
    free(s->cartels.slots);
}

/* Add the counts of `later`, which counted the lines after those of `s`. */
static void
scan_merge(Scan *s, Scan *later)
{
    s->no_memory |= later->no_memory;
    for (size_t i = 0; !s->no_memory && i < later->types.cap; i++) {
        Entry *e = &later->types.slots[i];
        if (e->key != NULL) {
            Entry *to = table_get(&s->types, e->key, e->len);
            if (to == NULL) {
                s->no_memory = 1;
                break;
            }
            to->first += e->first;
        }
    }
    for (size_t i = 0; !s->no_memory && i < later->cartels.cap; i++) {
        Entry *e = &later->cartels.slots[i];
        if (e->key != NULL) {
            Entry *to = table_get(&s->cartels, e->key, e->len);
            if (to == NULL) {
                s->no_memory = 1;
                break;
            }
            to->first += e->first;
            to->second += e->second;
        }
    }
    Py_ssize_t shown = later->bad_total < MAX_SHOWN ? later->bad_total : MAX_SHOWN;
    for (Py_ssize_t i = 0; i < shown && s->bad_total + i < MAX_SHOWN; i++) {
        s->bad[s->bad_total + i] = later->bad[i];
        s->bad[s->bad_total + i].line += s->lines;
    }
    s->bad_total += later->bad_total;
    s->lines += later->lines;
}

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <unistd.h>
#define THREADS 1

typedef struct {
    Scan scan;
    const char *buf, *from, *to, *limit;
    int eol_char;
} Part;

static void *
scan_thread(void *arg)
{
    Part *part = arg;
    scan_part(&part->scan, part->buf, part->from, part->to, part->limit, part->eol_char);
    return NULL;
}
#endif

/* Count the buffer; one of at least `split` bytes is counted in two halves at once (cut at a
   line end) when there is more than one CPU: the same answer, in about half the time. */
static void
scan(Scan *s, const char *buf, Py_ssize_t n, Py_ssize_t split)
{
    const char *end = buf + n;
    int eol_char = '\n';
    if (memchr(buf, '\n', (size_t)n) == NULL && memchr(buf, '\r', (size_t)n) != NULL) {
        eol_char = '\r'; /* old Mac line ends */
    }
#ifdef THREADS
    const char *cut = NULL;
    if (n >= split && n >= 2 && sysconf(_SC_NPROCESSORS_ONLN) > 1) {
        cut = memchr(buf + n / 2, eol_char, (size_t)(n - n / 2));
        cut = cut != NULL && cut + 1 < end ? cut + 1 : NULL;
    }
    Part part;
    pthread_t thread;
    if (cut != NULL && scan_init(&part.scan)) {
        part.buf = buf;
        part.from = cut;
        part.to = end;
        part.limit = end;
        part.eol_char = eol_char;
        int started = pthread_create(&thread, NULL, scan_thread, &part) == 0;
        scan_part(s, buf, buf, cut, end, eol_char);
        if (started) {
            pthread_join(thread, NULL);
        } else {
            scan_thread(&part);
        }
        scan_merge(s, &part.scan);
        scan_free(&part.scan);
        return;
    }
    if (cut != NULL) {
        scan_free(&part.scan); /* scan_init failed part way */
    }
#else
    (void)split;
#endif
    scan_part(s, buf, buf, end, end, eol_char);
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
lsofcount_count(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *arg;
    Py_ssize_t split = SPLIT;
    if (!PyArg_ParseTuple(args, "O|n:count", &arg, &split)) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Scan s;
    PyObject *out = NULL;
    if (!scan_init(&s)) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    scan(&s, (const char *)view.buf, view.len, split);
    Py_END_ALLOW_THREADS
    if (s.no_memory) {
        PyErr_NoMemory();
        goto done;
    }
    out = result(&s);
done:
    scan_free(&s);
    PyBuffer_Release(&view);
    return out;
}

static PyMethodDef methods[] = {
    {"count", lsofcount_count, METH_VARARGS,
     "count(buffer, split=8 MiB) -> (lines, types, cartels, skipped, skipped_total): count "
     "`vmkvsitools lsof` output; a buffer of at least `split` bytes in two threads."},
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
