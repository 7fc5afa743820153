/*
 * pt2c/common.h -- error reporting, allocator and version, shared by every pt2c API.
 *
 * Error model: every fallible function returns an int, 0 on success and one of the negative
 * PT2C_E* codes on failure. Functions that parse or transform take an optional `pt2c_error *err`
 * that receives the code, a one-line message, and where the problem is (file, archive member,
 * byte offset or JSON pointer). Filling an error never allocates, so out-of-memory is reported too.
 *
 * Every function documents the codes it returns. Two hold everywhere and are not repeated:
 * PT2C_EINVALID for API misuse (a NULL where a pointer is required, an options struct of an
 * unknown version; err then says "invalid argument: <expression>"), and PT2C_ENOMEM when an
 * allocation fails. Whatever fails, the object a call was made on is left exactly as it was
 * (tests/lib/test_api_oom.c fails every allocation of every call in turn and compares), unless
 * the function says it consumes or frees it.
 *
 * Ownership rule (whole library): an object returned through `**out` belongs to the caller, who
 * frees it with the matching pt2c_<type>_free(), which accepts NULL. On failure every `*out` is
 * set to NULL. A pointer returned directly is borrowed from its parent and stays valid until the
 * parent is modified or freed. Strings and bytes handed out (the print and summary functions,
 * engine bytes, archive listings) are freed with pt2c_free().
 *
 * Memory: every allocation a call makes goes through the allocator the object was made with
 * (pt2c_allocator; NULL = the C library), hand-outs included.
 *
 * Thread-safety: distinct handles may be used from distinct threads; one handle must not be used
 * from two threads at once, not even by functions taking it `const` (some cache strings in it).
 * The only global mutable state is the lock-free registry of the temporary files of writes in
 * progress (see pt2c_temp_files_remove) and a few atomic counters for tests; the functions of
 * this header are safe from any thread. Calls on large graphs (reading or writing them, with the
 * C library's allocator) may run part of their work on threads of their own, all joined before
 * the call returns: a caller sees one call on its own thread.
 */
#ifndef PT2C_COMMON_H
#define PT2C_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PT2C_VERSION_MAJOR 0
#define PT2C_VERSION_MINOR 1
#define PT2C_VERSION_PATCH 0
#define PT2C_VERSION_STRING "0.1.0"

/** Error codes. 0 is success; all failures are negative. */
enum {
	PT2C_OK = 0,
	PT2C_EINVALID = -1,     /**< API misuse or an invalid argument from the caller */
	PT2C_ENOMEM = -2,       /**< an allocation failed */
	PT2C_EIO = -3,          /**< the operating system reported an I/O error */
	PT2C_ECORRUPT = -4,     /**< input bytes are malformed (archive, JSON, pickle, record) */
	PT2C_EUNSUPPORTED = -5, /**< well-formed input that uses a feature pt2c does not support */
	PT2C_ENOTFOUND = -6,    /**< a named thing (member, node, attribute, schema) does not exist */
	PT2C_EGRAPH = -7,       /**< the graph violates an invariant (lint failure, dangling ref, cycle) */
};

/** Size of the fixed buffers inside pt2c_error. */
#define PT2C_ERROR_MESSAGE_MAX 512
#define PT2C_ERROR_WHERE_MAX 256

/**
 * Details of the last failure. Zero-initialise it (PT2C_ERROR_INIT) before use.
 * - code:    the PT2C_E* code that the failing function returned.
 * - message: one line, no trailing newline.
 * - file:    the file being read or written ("" if none).
 * - member:  the archive member or JSON pointer where the problem is ("" if none).
 * - offset:  byte offset of the problem inside `member` (or the file), or UINT64_MAX if unknown.
 */
typedef struct pt2c_error {
	int code;
	char message[PT2C_ERROR_MESSAGE_MAX];
	char file[PT2C_ERROR_WHERE_MAX];
	char member[PT2C_ERROR_WHERE_MAX];
	uint64_t offset;
} pt2c_error;

#define PT2C_ERROR_INIT { 0, {0}, {0}, {0}, UINT64_MAX }

/**
 * A short static name for an error code ("corrupt input", ...; "unknown error" for a code that is
 * not one of PT2C_E*). Never NULL, never fails, never allocates.
 */
const char *pt2c_strerror(int code);

/**
 * Write "<file>: <member>: <message> (at byte N)" into buf (parts that are empty are left out; an
 * empty message is replaced by pt2c_strerror(err->code); err NULL gives ""). Truncates like
 * snprintf and NUL-terminates when size > 0. Never allocates.
 * @return the number of characters that the full text needs, like snprintf (never negative).
 */
int pt2c_error_format(const pt2c_error *err, char *buf, size_t size);

/**
 * A custom allocator. Every callback receives `ctx`. `realloc` receives the old size and may be
 * NULL (then malloc + copy + free). NULL where an allocator is expected means the C library's
 * malloc/realloc/free. The struct is read when an object is made and copied into strings handed
 * out; `ctx` must stay valid until every object and hand-out made with it is freed. The callbacks
 * run on the thread that made the pt2c call (pt2c_program_write's worker threads do not allocate;
 * pt2c_free calls `free` on the thread that calls it): an allocator shared by handles that are
 * used from several threads must be thread-safe.
 */
typedef struct pt2c_allocator {
	void *(*malloc)(void *ctx, size_t size);
	void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t new_size);
	void (*free)(void *ctx, void *ptr);
	void *ctx;
} pt2c_allocator;

/** The library version as "MAJOR.MINOR.PATCH" (a static string). Never fails. */
const char *pt2c_version(void);

/*
 * Output files. Every writer (pt2c_program_write, pt2c_module_write, pt2c_file_write, ...) writes
 * to "<stem>.tmp.<pid>.XXXXXX" in the output's folder and renames it into place when complete
 * (<stem> is the output's file name, shortened with a hash when the temporary name would not fit
 * 255 bytes). Before it creates its own, a writer removes the stale temporary files of the same
 * output: exactly that pattern, regular files of the effective user, whose <pid> no longer runs.
 */

/**
 * Remove the temporary files of every write in progress in this process. Async-signal-safe:
 * meant for a SIGINT/SIGTERM/SIGHUP handler that then ends the process (the pt2c command does
 * this). A write that goes on afterwards fails at its rename (PT2C_EIO). Thread-safe. At most 64
 * writes in progress at once, with temporary paths shorter than 4096 bytes, are known to it.
 */
void pt2c_temp_files_remove(void);

/**
 * Write data[0..len) to `path` the way archives are written: a temporary file in the same
 * folder (mode 0666 less the umask), fsync, rename. A previous `path` stays untouched on failure.
 * @return 0; PT2C_EINVALID (path NULL or empty, data NULL with len > 0); PT2C_ENOMEM; PT2C_EIO
 *         (err names the cause, e.g. "No space left on device"). Thread-safe.
 */
int pt2c_file_write(const char *path, const void *data, size_t len, pt2c_error *err);

/**
 * Escape untrusted text (names and strings read from an archive) for a terminal or a
 * line-oriented listing: printable ASCII and valid UTF-8 stay as they are; backslash, newline,
 * tab and CR become \\, \n, \t, \r; other control characters (C0, DEL, C1, the bidirectional
 * overrides and isolates) and bytes of invalid UTF-8 become \xHH each. The pt2c command and the
 * text summaries print every archive string this way.
 * @param out  NUL-terminated text from the C library's allocator, freed with pt2c_free(); NULL
 *             on failure
 * @param len  receives its length (may be NULL)
 * @return 0; PT2C_ENOMEM; PT2C_EINVALID (s or out NULL). Thread-safe.
 */
int pt2c_text_escape(const char *s, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
