/*
 * pipeline.xlsx._scan: the worksheet and shared-strings readers of pipeline/xlsx/sheet.py
 * and parts.py, with the expat callbacks in C.
 *
 * Why: expat tokenises a workbook in about 1.6 ms; the Python handlers on top of it (two
 * calls and an attribute dict per element) cost about 5 ms more. Here the handlers are C
 * functions working on expat's own strings, and only the results become Python objects.
 *
 * What stays the same: the XML is parsed by the expat that ships with Python (through the
 * "pyexpat.expat_CAPI" capsule, the way _elementtree uses it), so no new XML parser is
 * trusted. This file is a line-by-line translation of the Python handlers: the same state
 * machine, the same results and the same error texts; tests/test_native_scan.py compares
 * both readers on every test workbook, the hostile corpus and fuzzed files. Rare inputs
 * (non-ASCII cell references, odd shared-string indices, "_xHHHH_" escapes, over-long texts)
 * are handed to the Python helpers in pipeline/xlsx/native.py instead of being re-implemented.
 *
 * The caller (Package.parse) must have seen the part's prolog first: the capsule has no
 * XML_StopParser, so a DOCTYPE found here stops our handlers but not expat's DTD
 * processing of the rest of the chunk. Package.parse runs a Python parser over the prolog
 * before the first byte reaches this scanner (see package.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* ---- the part of expat.h that the capsule's function pointers need ------------------ */
/* pyexpat.h requires expat.h, which is not installed everywhere Python is; these are the
 * declarations of expat 2.x (XML_Char is char: Python builds expat without XML_UNICODE). */
typedef char XML_Char;
typedef char XML_LChar;
typedef struct XML_ParserStruct *XML_Parser;
typedef unsigned long XML_Size;
enum XML_Status { XML_STATUS_ERROR = 0, XML_STATUS_OK = 1, XML_STATUS_SUSPENDED = 2 };
enum XML_Error { XML_ERROR_NONE = 0 };
typedef struct {
    void *(*malloc_fcn)(size_t size);
    void *(*realloc_fcn)(void *ptr, size_t size);
    void (*free_fcn)(void *ptr);
} XML_Memory_Handling_Suite;
typedef struct {
    int map[256];
    void *data;
    int (*convert)(void *data, const char *s);
    void (*release)(void *data);
} XML_Encoding;
typedef void (*XML_StartElementHandler)(void *, const XML_Char *, const XML_Char **);
typedef void (*XML_EndElementHandler)(void *, const XML_Char *);
typedef void (*XML_CharacterDataHandler)(void *, const XML_Char *, int);
typedef void (*XML_StartDoctypeDeclHandler)(void *, const XML_Char *, const XML_Char *,
                                            const XML_Char *, int);
typedef int (*XML_UnknownEncodingHandler)(void *, const XML_Char *, XML_Encoding *);
typedef void (*unused_fn)(void);

#define CAPSULE_NAME "pyexpat.expat_CAPI"

struct PyExpat_CAPI {  /* pyexpat.h; members are only ever appended */
    char *magic;
    int size;
    int MAJOR_VERSION;
    int MINOR_VERSION;
    int MICRO_VERSION;
    const XML_LChar *(*ErrorString)(enum XML_Error code);
    enum XML_Error (*GetErrorCode)(XML_Parser parser);
    XML_Size (*GetErrorColumnNumber)(XML_Parser parser);
    XML_Size (*GetErrorLineNumber)(XML_Parser parser);
    enum XML_Status (*Parse)(XML_Parser parser, const char *s, int len, int isFinal);
    XML_Parser (*ParserCreate_MM)(const XML_Char *encoding,
                                  const XML_Memory_Handling_Suite *memsuite,
                                  const XML_Char *namespaceSeparator);
    void (*ParserFree)(XML_Parser parser);
    void (*SetCharacterDataHandler)(XML_Parser parser, XML_CharacterDataHandler handler);
    unused_fn SetCommentHandler;
    unused_fn SetDefaultHandlerExpand;
    void (*SetElementHandler)(XML_Parser parser, XML_StartElementHandler start,
                              XML_EndElementHandler end);
    unused_fn SetNamespaceDeclHandler;
    unused_fn SetProcessingInstructionHandler;
    void (*SetUnknownEncodingHandler)(XML_Parser parser, XML_UnknownEncodingHandler handler,
                                      void *encodingHandlerData);
    void (*SetUserData)(XML_Parser parser, void *userData);
    void (*SetStartDoctypeDeclHandler)(XML_Parser parser, XML_StartDoctypeDeclHandler start);
    enum XML_Status (*SetEncoding)(XML_Parser parser, const XML_Char *encoding);
    int (*DefaultUnknownEncodingHandler)(void *encodingHandlerData, const XML_Char *name,
                                         XML_Encoding *info);
};

static struct PyExpat_CAPI *capi;

/* ---- module state: set once by configure() -------------------------------------------- */
static PyObject *RawCell;       /* pipeline.xlsx.model.RawCell (a tuple subclass) */
static PyObject *XlsxError;     /* pipeline.xlsx.model.XlsxError */
static PyObject *ExpatError;    /* xml.parsers.expat.ExpatError */
static PyObject *column_of;     /* (letters) -> (number, canonical); ValueError if bad */
static PyObject *decode_xstring;/* str -> str */
static PyObject *kind_n, *kind_s, *kind_b, *kind_e, *kind_d, *kind_none, *empty_str;

/* "ä" of "enthält": PyUnicode_FromFormat takes ASCII formats and UTF-8 %s arguments */
#define CONTAINS "\xc3\xa4lt"
#define MAX_ROW 1048576
#define MAX_COL 16384

/* ---- a growable byte buffer ------------------------------------------------------------ */
typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buf;

static int buf_add(Buf *b, const char *s, Py_ssize_t n) {
    if (n == 0) return 0;  /* s may be NULL then (an empty buffer); memcpy must not see it */
    if (b->len + n > b->cap) {
        Py_ssize_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) {
            if (cap > PY_SSIZE_T_MAX / 2) { PyErr_NoMemory(); return -1; }
            cap *= 2;
        }
        char *data = PyMem_Realloc(b->data, cap);
        if (!data) { PyErr_NoMemory(); return -1; }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static int buf_copy(Buf *to, const Buf *from) {
    to->len = 0;
    return buf_add(to, from->data ? from->data : "", from->len);
}

static void buf_free(Buf *b) { PyMem_Free(b->data); b->data = NULL; b->len = b->cap = 0; }

static PyObject *buf_str(const Buf *b) {
    return PyUnicode_DecodeUTF8(b->data ? b->data : "", b->len, "strict");
}

static Py_ssize_t utf8_chars(const Buf *b) {  /* code points in valid UTF-8 */
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < b->len; i++)
        n += ((unsigned char)b->data[i] & 0xC0) != 0x80;
    return n;
}

static int has_xescape(const Buf *b) {
    for (Py_ssize_t i = 0; i + 1 < b->len; i++)
        if (b->data[i] == '_' && b->data[i + 1] == 'x') return 1;
    return 0;
}

/* ---- the scanner object ------------------------------------------------------------------ */
enum Tag { T_OTHER, T_C, T_V, T_F, T_ROW, T_IS, T_T, T_RPH, T_MERGE, T_SI };
enum Kind { K_ABSENT, K_N, K_S, K_STR, K_INLINE, K_B, K_E, K_D, K_OTHER };

typedef struct {
    PyObject_HEAD
    XML_Parser parser;
    int strings_mode;      /* 1: sharedStrings.xml, 0: a worksheet */
    int failed;            /* a handler set a Python exception: ignore the rest */
    int finished;
    PyObject *part;        /* str, for messages */
    Py_ssize_t max_text;
    /* results */
    PyObject *cells;       /* dict (row, col) -> RawCell */
    PyObject *merged;      /* list of str */
    PyObject *strings;     /* list of str (strings mode) */
    Py_ssize_t max_strings;
    /* worksheet inputs */
    PyObject *shared;      /* list of str */
    PyObject *date_styles; /* set/frozenset of str */
    long long left;        /* workbook-wide budget of <c> elements */
    /* state, as in sheet.py */
    Buf text, value, formula, inline_, pieces, ref;
    int has_value, has_formula, has_inline, has_ref;
    long row, col;
    char row_text[16];     /* digits of `row` as written, when canonical */
    int has_row_text;
    enum Kind kind;
    Buf style;
    int has_style;
    int in_inline;
    long phonetic;
    /* memo of the last style attribute looked up in date_styles */
    Buf last_style;
    int last_style_valid, last_style_date;
} Scanner;

static PyTypeObject ScannerType;

static void fail(Scanner *s) { s->failed = 1; }

static void fail_xlsx(Scanner *s, const char *code, PyObject *detail) {
    /* raise XlsxError(code, detail); steals nothing */
    if (!PyErr_Occurred()) {
        PyObject *exc = PyObject_CallFunction(XlsxError, "sO", code, detail ? detail : empty_str);
        if (exc) {
            PyErr_SetObject(XlsxError, exc);
            Py_DECREF(exc);
        }
    }
    fail(s);
}

static void fail_bad(Scanner *s, PyObject *what) {  /* _bad(part, what) */
    if (!what) { fail(s); return; }
    PyObject *detail = PyUnicode_FromFormat("%U: %U", s->part, what);
    Py_DECREF(what);
    if (!detail) { fail(s); return; }
    fail_xlsx(s, "bad_xml", detail);
    Py_DECREF(detail);
}

static enum Tag tag_of(const char *name) {
    const char *colon = strrchr(name, ':');
    const char *local = colon ? colon + 1 : name;
    switch (local[0]) {
    case 'c': if (!local[1]) return T_C; break;
    case 'v': if (!local[1]) return T_V; break;
    case 'f': if (!local[1]) return T_F; break;
    case 't': if (!local[1]) return T_T; break;
    case 'r':
        if (!strcmp(local, "row")) return T_ROW;
        if (!strcmp(local, "rPh")) return T_RPH;
        break;
    case 'i': if (!strcmp(local, "is")) return T_IS; break;
    case 'm': if (!strcmp(local, "mergeCell")) return T_MERGE; break;
    case 's': if (!strcmp(local, "si")) return T_SI; break;
    }
    return T_OTHER;
}

static const char *attr(const XML_Char **atts, const char *name) {
    for (; atts[0]; atts += 2)
        if (!strcmp(atts[0], name)) return atts[1];
    return NULL;
}

static enum Kind kind_of(const char *t) {
    if (!t) return K_ABSENT;
    if (!strcmp(t, "n")) return K_N;
    if (!strcmp(t, "s")) return K_S;
    if (!strcmp(t, "str")) return K_STR;
    if (!strcmp(t, "inlineStr")) return K_INLINE;
    if (!strcmp(t, "b")) return K_B;
    if (!strcmp(t, "e")) return K_E;
    if (!strcmp(t, "d")) return K_D;
    return K_OTHER;
}

/* row_of(digits): the row number, and whether its digits are canonical (no leading 0).
 * Returns 0, or -1 with the error raised. */
static int row_of(Scanner *s, const char *digits, Py_ssize_t n) {
    int ok = n > 0;
    for (Py_ssize_t i = 0; ok && i < n; i++) ok = digits[i] >= '0' && digits[i] <= '9';
    long number = 0;
    if (ok) {
        Py_ssize_t i = 0;
        while (i < n && digits[i] == '0') i++;
        if (n - i > 7) ok = 0;
        for (; ok && i < n; i++) number = number * 10 + (digits[i] - '0');
        ok = ok && number >= 1 && number <= MAX_ROW;
    }
    if (!ok) {
        PyObject *text = PyUnicode_DecodeUTF8(digits, n, "strict");
        if (!text) { fail(s); return -1; }
        fail_bad(s, PyUnicode_FromFormat("bad row number %R", text));
        Py_DECREF(text);
        return -1;
    }
    s->row = number;
    s->has_row_text = digits[0] != '0';
    if (s->has_row_text) {
        memcpy(s->row_text, digits, n);  /* n <= 7 here: leading zeros excluded it */
        s->row_text[n] = '\0';
    }
    return 0;
}

/* The column of `letters` (ref[:n]) and whether they are canonical (upper case).
 * Plain ASCII letters are done here; anything else goes to the Python helper. */
static int column(Scanner *s, const char *ref, Py_ssize_t n, int *canonical) {
    int ascii = n > 0 && n <= 3, upper = 1;
    long number = 0;
    for (Py_ssize_t i = 0; ascii && i < n; i++) {
        char c = ref[i];
        if (c >= 'A' && c <= 'Z') number = number * 26 + (c - 'A' + 1);
        else if (c >= 'a' && c <= 'z') { number = number * 26 + (c - 'a' + 1); upper = 0; }
        else ascii = 0;
    }
    if (ascii && number <= MAX_COL) {
        s->col = number;
        *canonical = upper;
        return 0;
    }
    PyObject *letters = PyUnicode_DecodeUTF8(ref, n, "strict");
    PyObject *hit = letters ? PyObject_CallOneArg(column_of, letters) : NULL;
    Py_XDECREF(letters);
    if (hit && PyTuple_Check(hit) && PyTuple_GET_SIZE(hit) == 2) {
        long number2 = PyLong_AsLong(PyTuple_GET_ITEM(hit, 0));
        int truth = PyObject_IsTrue(PyTuple_GET_ITEM(hit, 1));
        Py_DECREF(hit);
        if (number2 == -1 && PyErr_Occurred()) { fail(s); return -1; }
        if (truth < 0) { fail(s); return -1; }
        s->col = number2;
        *canonical = truth;
        return 0;
    }
    Py_XDECREF(hit);
    if (hit || PyErr_ExceptionMatches(PyExc_ValueError)) {
        PyErr_Clear();
        PyObject *whole = PyUnicode_DecodeUTF8(ref, (Py_ssize_t)strlen(ref), "strict");
        if (!whole) { fail(s); return -1; }
        fail_bad(s, PyUnicode_FromFormat("bad cell reference %R", whole));
        Py_DECREF(whole);
        return -1;
    }
    fail(s);
    return -1;
}

/* address(): the reference of the current cell, or NULL with the error raised */
static PyObject *address(Scanner *s) {
    if (!(1 <= s->row && s->row <= MAX_ROW && s->col <= MAX_COL)) {
        fail_bad(s, PyUnicode_FromFormat("cell %ld of row %ld lies outside the grid",
                                         s->col, s->row));
        return NULL;
    }
    char letters[8];
    int i = 7;
    letters[i] = '\0';
    for (long number = s->col; number;) {
        long rest = (number - 1) % 26;
        number = (number - 1) / 26;
        letters[--i] = (char)('A' + rest);
    }
    return PyUnicode_FromFormat("%s%ld", letters + i, s->row);
}

/* check_length: a text longer than Excel's limit per cell (counted after "_xHHHH_" decoding) */
static int check_length(Scanner *s, const Buf *content) {
    if (content->len <= s->max_text || utf8_chars(content) <= s->max_text) return 0;
    PyObject *text = buf_str(content);
    PyObject *decoded = text ? PyObject_CallOneArg(decode_xstring, text) : NULL;
    Py_XDECREF(text);
    if (!decoded) { fail(s); return -1; }
    Py_ssize_t length = PyUnicode_GET_LENGTH(decoded);
    Py_DECREF(decoded);
    if (length <= s->max_text) return 0;
    PyObject *where = s->has_ref ? buf_str(&s->ref) : address(s);
    if (!where) { fail(s); return -1; }
    fail_bad(s, PyUnicode_FromFormat("Zelle %U enth%s %zd Zeichen, erlaubt sind %zd",
                                     where, CONTAINS, length, s->max_text));
    Py_DECREF(where);
    return -1;
}

static PyObject *decoded_str(const Buf *b) {  /* decode_xstring(text) */
    PyObject *text = buf_str(b);
    if (!text || !has_xescape(b)) return text;
    PyObject *decoded = PyObject_CallOneArg(decode_xstring, text);
    Py_DECREF(text);
    return decoded;
}

static PyObject *shared_string(Scanner *s) {
    const Buf *v = &s->value;
    Py_ssize_t size = PyList_GET_SIZE(s->shared);
    int digits = v->len > 0 && v->len <= 18;
    long long position = 0;
    for (Py_ssize_t i = 0; digits && i < v->len; i++) {
        char c = v->data[i];
        if (c < '0' || c > '9') digits = 0;
        else position = position * 10 + (c - '0');
    }
    PyObject *index = buf_str(v);
    if (!index) return NULL;
    if (!digits) {  /* int(index) as Python reads it: spaces, '+', '_' and other digits */
        PyObject *number = PyLong_FromUnicodeObject(index, 10);
        if (number) {
            int overflow;
            position = PyLong_AsLongLongAndOverflow(number, &overflow);
            if (overflow) position = overflow > 0 ? size : -1;
            Py_DECREF(number);
            digits = 1;
        } else if (PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
        } else {
            Py_DECREF(index);
            return NULL;
        }
    }
    if (digits && position >= 0 && position < size) {
        Py_DECREF(index);
        PyObject *string = PyList_GET_ITEM(s->shared, (Py_ssize_t)position);
        Py_INCREF(string);
        return string;
    }
    fail_bad(s, PyUnicode_FromFormat("shared string %R does not exist", index));
    Py_DECREF(index);
    return NULL;
}

static int is_date_style(Scanner *s) {
    if (!s->has_style) return 0;
    if (s->last_style_valid && s->last_style.len == s->style.len
        && !memcmp(s->last_style.data, s->style.data, s->style.len))
        return s->last_style_date;
    PyObject *style = buf_str(&s->style);
    if (!style) return -1;
    int hit = PySequence_Contains(s->date_styles, style);
    Py_DECREF(style);
    if (hit < 0) return -1;
    if (buf_copy(&s->last_style, &s->style) < 0) return -1;
    s->last_style_valid = 1;
    s->last_style_date = hit;
    return hit;
}

static void end_cell(Scanner *s) {
    PyObject *kind = NULL, *text = NULL, *has;
    if (s->has_value && (s->value.len > 0 || s->kind == K_STR)) {
        switch (s->kind) {
        case K_ABSENT: kind = kind_n; text = buf_str(&s->value); break;
        case K_S: kind = kind_s; text = shared_string(s); break;
        case K_N: kind = kind_n; text = buf_str(&s->value); break;
        case K_B: kind = kind_b; text = buf_str(&s->value); break;
        case K_E: kind = kind_e; text = buf_str(&s->value); break;
        case K_D: kind = kind_d; text = buf_str(&s->value); break;
        default: kind = kind_s; text = decoded_str(&s->value); break;
        }
        has = Py_True;
    } else if (s->has_inline) {
        kind = kind_s;
        text = decoded_str(&s->inline_);
        has = Py_True;
    } else if (!s->has_formula) {
        return;  /* only a style: nothing to read */
    } else {
        kind = kind_none;
        text = empty_str;
        Py_INCREF(text);
        has = Py_False;
    }
    if (!text) { fail(s); return; }
    PyObject *ref = s->has_ref ? buf_str(&s->ref) : address(s);
    PyObject *formula = s->has_formula ? buf_str(&s->formula) : Py_NewRef(Py_None);
    int date = is_date_style(s);
    PyObject *key = Py_BuildValue("(ll)", s->row, s->col);
    PyObject *row = PyLong_FromLong(s->row), *col = PyLong_FromLong(s->col);
    PyObject *cell = NULL;
    if (ref && formula && date >= 0 && key && row && col) {
        cell = ((PyTypeObject *)RawCell)->tp_alloc((PyTypeObject *)RawCell, 8);
    }
    if (!cell) {
        Py_XDECREF(ref); Py_XDECREF(formula); Py_XDECREF(key); Py_XDECREF(row);
        Py_XDECREF(col); Py_DECREF(text);
        fail(s);
        return;
    }
    Py_INCREF(kind);
    Py_INCREF(has);
    PyObject *date_obj = date ? Py_True : Py_False;
    Py_INCREF(date_obj);
    PyTuple_SET_ITEM(cell, 0, ref);
    PyTuple_SET_ITEM(cell, 1, row);
    PyTuple_SET_ITEM(cell, 2, col);
    PyTuple_SET_ITEM(cell, 3, kind);
    PyTuple_SET_ITEM(cell, 4, text);
    PyTuple_SET_ITEM(cell, 5, formula);
    PyTuple_SET_ITEM(cell, 6, has);
    PyTuple_SET_ITEM(cell, 7, date_obj);
    int rc = PyDict_SetItem(s->cells, key, cell);
    Py_DECREF(key);
    Py_DECREF(cell);
    if (rc < 0) fail(s);
}

static void start_cell(Scanner *s, const XML_Char **atts) {
    if (--s->left < 0) {
        PyObject *detail = PyUnicode_FromFormat("%U: more cells than allowed", s->part);
        if (!detail) { fail(s); return; }
        fail_xlsx(s, "too_many_cells", detail);
        Py_DECREF(detail);
        return;
    }
    const char *ref = attr(atts, "r");
    s->has_ref = 0;
    if (ref && ref[0]) {
        Py_ssize_t n = (Py_ssize_t)strlen(ref), letters = n;
        while (letters > 0 && ref[letters - 1] >= '0' && ref[letters - 1] <= '9') letters--;
        int canonical;
        if (column(s, ref, letters, &canonical) < 0) return;
        const char *digits = ref + letters;
        Py_ssize_t ndigits = n - letters;
        int same = s->has_row_text && (Py_ssize_t)strlen(s->row_text) == ndigits
                   && !memcmp(s->row_text, digits, ndigits);
        if (!same && row_of(s, digits, ndigits) < 0) return;
        if (canonical && s->has_row_text) {
            s->ref.len = 0;
            if (buf_add(&s->ref, ref, n) < 0) { fail(s); return; }
            s->has_ref = 1;
        }
    } else {
        s->col += 1;
    }
    s->kind = kind_of(attr(atts, "t"));
    const char *style = attr(atts, "s");
    s->has_style = style != NULL;
    if (style) {
        s->style.len = 0;
        if (buf_add(&s->style, style, (Py_ssize_t)strlen(style)) < 0) { fail(s); return; }
    }
    s->has_value = s->has_formula = s->has_inline = 0;
}

static void on_start(void *data, const XML_Char *name, const XML_Char **atts) {
    Scanner *s = data;
    if (s->failed) return;
    s->text.len = 0;  /* <v>, <f> and <t> hold only text: what follows their start is theirs */
    enum Tag tag = tag_of(name);
    if (s->strings_mode) {
        if (tag == T_SI) s->pieces.len = 0;
        else if (tag == T_RPH) s->phonetic++;
        return;
    }
    switch (tag) {
    case T_C: start_cell(s, atts); break;
    case T_ROW: {
        const char *digits = attr(atts, "r");
        if (digits && digits[0]) {
            row_of(s, digits, (Py_ssize_t)strlen(digits));
        } else {
            s->row += 1;
            s->has_row_text = 0;
        }
        s->col = 0;
        break;
    }
    case T_IS: s->in_inline = 1; s->pieces.len = 0; break;
    case T_RPH: s->phonetic++; break;
    case T_MERGE: {
        const char *ref = attr(atts, "ref");
        PyObject *text = PyUnicode_FromString(ref ? ref : "");
        PyObject *upper = text ? PyObject_CallMethod(text, "upper", NULL) : NULL;
        Py_XDECREF(text);
        if (!upper || PyList_Append(s->merged, upper) < 0) fail(s);
        Py_XDECREF(upper);
        break;
    }
    default: break;
    }
}

static void end_string(Scanner *s) {  /* </si> in sharedStrings.xml */
    PyObject *string = decoded_str(&s->pieces);
    if (!string) { fail(s); return; }
    Py_ssize_t length = PyUnicode_GET_LENGTH(string), count = PyList_GET_SIZE(s->strings);
    if (length > s->max_text) {
        Py_DECREF(string);
        fail_bad(s, PyUnicode_FromFormat("Text Nr. %zd enth%s %zd Zeichen, erlaubt sind %zd",
                                         count + 1, CONTAINS, length, s->max_text));
        return;
    }
    if (count >= s->max_strings) {
        Py_DECREF(string);
        PyObject *detail = PyUnicode_FromFormat("%U: mehr als %zd Texte", s->part,
                                                s->max_strings);
        if (!detail) { fail(s); return; }
        fail_xlsx(s, "too_many_cells", detail);
        Py_DECREF(detail);
        return;
    }
    if (PyList_Append(s->strings, string) < 0) fail(s);
    Py_DECREF(string);
}

static void on_end(void *data, const XML_Char *name) {
    Scanner *s = data;
    if (s->failed) return;
    enum Tag tag = tag_of(name);
    if (s->strings_mode) {
        if (tag == T_T) {
            if (!s->phonetic && buf_add(&s->pieces, s->text.data, s->text.len) < 0) fail(s);
        } else if (tag == T_SI) {
            end_string(s);
        } else if (tag == T_RPH) {
            s->phonetic--;
        }
        return;
    }
    switch (tag) {
    case T_V:
        if (buf_copy(&s->value, &s->text) < 0) { fail(s); return; }
        s->has_value = 1;
        check_length(s, &s->value);
        break;
    case T_C: end_cell(s); break;
    case T_F:
        if (buf_copy(&s->formula, &s->text) < 0) { fail(s); return; }
        s->has_formula = 1;
        check_length(s, &s->formula);
        break;
    case T_T:
        if (s->in_inline && !s->phonetic && buf_add(&s->pieces, s->text.data, s->text.len) < 0)
            fail(s);
        break;
    case T_IS:
        if (buf_copy(&s->inline_, &s->pieces) < 0) { fail(s); return; }
        s->has_inline = 1;
        s->in_inline = 0;
        check_length(s, &s->inline_);
        break;
    case T_RPH: s->phonetic--; break;
    default: break;
    }
}

static void on_text(void *data, const XML_Char *text, int len) {
    Scanner *s = data;
    if (!s->failed && buf_add(&s->text, text, len) < 0) fail(s);
}

static void on_doctype(void *data, const XML_Char *a, const XML_Char *b, const XML_Char *c,
                       int d) {
    Scanner *s = data;
    (void)a; (void)b; (void)c; (void)d;
    if (!s->failed) fail_xlsx(s, "dtd", NULL);
}

/* ---- Python interface ------------------------------------------------------------------ */
static void Scanner_dealloc(Scanner *s) {
    if (s->parser) capi->ParserFree(s->parser);
    Py_XDECREF(s->part); Py_XDECREF(s->cells); Py_XDECREF(s->merged);
    Py_XDECREF(s->strings); Py_XDECREF(s->shared); Py_XDECREF(s->date_styles);
    buf_free(&s->text); buf_free(&s->value); buf_free(&s->formula); buf_free(&s->inline_);
    buf_free(&s->pieces); buf_free(&s->ref); buf_free(&s->style); buf_free(&s->last_style);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static Scanner *new_scanner(PyObject *part, Py_ssize_t max_text) {
    if (!RawCell) {
        PyErr_SetString(PyExc_RuntimeError, "pipeline.xlsx._scan is not configured");
        return NULL;
    }
    Scanner *s = PyObject_New(Scanner, &ScannerType);
    if (!s) return NULL;
    memset((char *)s + sizeof(PyObject), 0, sizeof(Scanner) - sizeof(PyObject));
    s->part = Py_NewRef(part);
    s->max_text = max_text;
    s->parser = capi->ParserCreate_MM(NULL, NULL, NULL);
    if (!s->parser) { Py_DECREF(s); return (Scanner *)PyErr_NoMemory(); }
    capi->SetUserData(s->parser, s);
    capi->SetElementHandler(s->parser, on_start, on_end);
    capi->SetCharacterDataHandler(s->parser, on_text);
    capi->SetStartDoctypeDeclHandler(s->parser, on_doctype);
    capi->SetUnknownEncodingHandler(s->parser, capi->DefaultUnknownEncodingHandler, NULL);
    return s;
}

/* sheet_scanner(part, shared, date_styles, cells_left, max_text) */
static PyObject *sheet_scanner(PyObject *self, PyObject *args) {
    PyObject *part, *shared, *date_styles;
    long long left;
    Py_ssize_t max_text;
    if (!PyArg_ParseTuple(args, "UO!OLn", &part, &PyList_Type, &shared, &date_styles, &left,
                          &max_text))
        return NULL;
    Scanner *s = new_scanner(part, max_text);
    if (!s) return NULL;
    s->shared = Py_NewRef(shared);
    s->date_styles = Py_NewRef(date_styles);
    s->left = left;
    s->cells = PyDict_New();
    s->merged = PyList_New(0);
    if (!s->cells || !s->merged) { Py_DECREF(s); return NULL; }
    return (PyObject *)s;
}

/* strings_scanner(part, max_text, max_strings) */
static PyObject *strings_scanner(PyObject *self, PyObject *args) {
    PyObject *part;
    Py_ssize_t max_text, max_strings;
    if (!PyArg_ParseTuple(args, "Unn", &part, &max_text, &max_strings)) return NULL;
    Scanner *s = new_scanner(part, max_text);
    if (!s) return NULL;
    s->strings_mode = 1;
    s->max_strings = max_strings;
    s->strings = PyList_New(0);
    if (!s->strings) { Py_DECREF(s); return NULL; }
    return (PyObject *)s;
}

/* After a failure: give the cells back at once. Out of memory, the caller can only turn
 * the MemoryError into a refusal if memory is free again while the exception (whose
 * traceback keeps this scanner alive) is handled. */
static void release(Scanner *s) {
    if (s->cells) PyDict_Clear(s->cells);
    if (s->merged) Py_SETREF(s->merged, PyList_New(0));
    if (s->strings) Py_SETREF(s->strings, PyList_New(0));
    buf_free(&s->text); buf_free(&s->value); buf_free(&s->formula); buf_free(&s->inline_);
    buf_free(&s->pieces);
}

/* Parse(data, final): as pyexpat's xmlparser.Parse; raises ExpatError, or whatever a
 * handler raised (XlsxError, MemoryError). */
static PyObject *Scanner_Parse(Scanner *s, PyObject *args) {
    Py_buffer data;
    int final = 0;
    if (!PyArg_ParseTuple(args, "y*|p", &data, &final)) return NULL;
    if (s->finished) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_RuntimeError, "parsing finished");
        return NULL;
    }
    const char *bytes = data.buf;
    Py_ssize_t left = data.len;
    enum XML_Status status = XML_STATUS_OK;
    do {  /* expat takes an int length */
        int n = left > (1 << 30) ? (1 << 30) : (int)left;
        int last = final && n == left;
        status = capi->Parse(s->parser, bytes, n, last);
        bytes += n;
        left -= n;
    } while (left > 0 && status == XML_STATUS_OK && !s->failed);
    PyBuffer_Release(&data);
    if (final) s->finished = 1;
    if (s->failed || PyErr_Occurred()) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "scanner failed");
        s->failed = 1;
        release(s);
        return NULL;
    }
    if (status != XML_STATUS_OK) {
        enum XML_Error code = capi->GetErrorCode(s->parser);
        PyObject *message = PyUnicode_FromFormat(
            "%s: line %lu, column %lu", capi->ErrorString(code),
            (unsigned long)capi->GetErrorLineNumber(s->parser),
            (unsigned long)capi->GetErrorColumnNumber(s->parser));
        if (message) {
            PyErr_SetObject(ExpatError, message);
            Py_DECREF(message);
        }
        s->failed = 1;
        release(s);
        return NULL;
    }
    return PyLong_FromLong(1);
}

/* result(): (cells, merged, cells_left) for a worksheet, the list of strings otherwise */
static PyObject *Scanner_result(Scanner *s, PyObject *unused) {
    if (!s->finished || s->failed) {
        PyErr_SetString(PyExc_RuntimeError, "no result: parsing not finished");
        return NULL;
    }
    if (s->strings_mode) return Py_NewRef(s->strings);
    return Py_BuildValue("(OOL)", s->cells, s->merged, s->left);
}

static PyMethodDef Scanner_methods[] = {
    {"Parse", (PyCFunction)Scanner_Parse, METH_VARARGS, "Parse(data, final=False)"},
    {"result", (PyCFunction)Scanner_result, METH_NOARGS, "the parsed result"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pipeline.xlsx._scan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = Scanner_methods,
};

/* configure(RawCell, XlsxError, ExpatError, column_of, decode_xstring) */
static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *raw_cell, *xlsx_error, *expat_error, *column_fn, *decode_fn;
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyType_Type, &raw_cell, &xlsx_error, &expat_error,
                          &column_fn, &decode_fn))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)raw_cell, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "RawCell must be a tuple subclass");
        return NULL;
    }
    Py_XSETREF(RawCell, Py_NewRef(raw_cell));
    Py_XSETREF(XlsxError, Py_NewRef(xlsx_error));
    Py_XSETREF(ExpatError, Py_NewRef(expat_error));
    Py_XSETREF(column_of, Py_NewRef(column_fn));
    Py_XSETREF(decode_xstring, Py_NewRef(decode_fn));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS, "set the Python types and helpers"},
    {"sheet_scanner", sheet_scanner, METH_VARARGS,
     "sheet_scanner(part, shared, date_styles, cells_left, max_text)"},
    {"strings_scanner", strings_scanner, METH_VARARGS,
     "strings_scanner(part, max_text, max_strings)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pipeline.xlsx._scan",
    "Worksheet and shared-strings readers with expat callbacks in C.", -1, module_methods,
};

static int intern_kinds(void) {
    kind_n = PyUnicode_InternFromString("n");
    kind_s = PyUnicode_InternFromString("s");
    kind_b = PyUnicode_InternFromString("b");
    kind_e = PyUnicode_InternFromString("e");
    kind_d = PyUnicode_InternFromString("d");
    kind_none = PyUnicode_InternFromString("");
    empty_str = kind_none;
    return kind_n && kind_s && kind_b && kind_e && kind_d && kind_none ? 0 : -1;
}

PyMODINIT_FUNC PyInit__scan(void) {
    PyObject *pyexpat = PyImport_ImportModule("pyexpat");
    if (!pyexpat) return NULL;
    Py_DECREF(pyexpat);
    capi = PyCapsule_Import(CAPSULE_NAME, 0);
    if (!capi) return NULL;
    if (strncmp(capi->magic, CAPSULE_NAME, strlen(CAPSULE_NAME)) != 0
        || (size_t)capi->size < sizeof(struct PyExpat_CAPI) || capi->MAJOR_VERSION != 2) {
        PyErr_SetString(PyExc_ImportError, "pyexpat C API too old or unknown");
        return NULL;
    }
    if (PyType_Ready(&ScannerType) < 0 || intern_kinds() < 0) return NULL;
    return PyModule_Create(&module);
}
