/*
 * tempfile.c -- the temporary files that outputs are written to before they are renamed into
 * place: their names, the registry of those in flight (for signal handlers) and the removal of
 * stale ones that a killed process left behind (issue 11 #3).
 *
 * Name: "<dir>/<stem>.tmp.<pid>.XXXXXX" (mkstemp fills the X). <stem> is the output's file name,
 * or, when that name is too long for the suffix to fit NAME_MAX (255), its first
 * PT2C__TMP_KEEP bytes + '~' + 16 hex digits of a hash of the whole name. The pid tells whether
 * the writer is still running; see pt2c__tmp_remove_stale.
 */
#define _DEFAULT_SOURCE /* dirfd, fstatat, unlinkat */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

/* MARK: names */

#define NAME_LIMIT 255 /* NAME_MAX of every Linux file system pt2c writes to */
/* ".tmp." + up to 10 pid digits + "." + "XXXXXX" */
#define SUFFIX_MAX (5 + 10 + 1 + 6)
#define STEM_MAX (NAME_LIMIT - SUFFIX_MAX) /* 233 */
#define HASH_TAIL 17                       /* "~" + 16 hex digits */

static uint64_t fnv1a64(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3u;
	}
	return h;
}

size_t pt2c__short_name(char *dst, const char *name, size_t n, size_t max)
{
	if (n <= max) {
		memcpy(dst, name, n);
		dst[n] = '\0';
		return n;
	}
	size_t keep = max - HASH_TAIL;
	memcpy(dst, name, keep);
	snprintf(dst + keep, HASH_TAIL + 1, "~%016llx", (unsigned long long)fnv1a64(name, n));
	return max;
}

/* The stem of `path`'s temporary files into stem[STEM_MAX + 1]; *dir_len = length of the folder
 * part of path including its '/' (0 for a bare name). */
static void tmp_stem(const char *path, char *stem, size_t *dir_len)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	*dir_len = (size_t)(base - path);
	pt2c__short_name(stem, base, strlen(base), STEM_MAX);
}

char *pt2c__tmp_template(const char *path, const pt2c_allocator *alloc)
{
	char stem[STEM_MAX + 1];
	size_t dir_len;
	tmp_stem(path, stem, &dir_len);
	char suffix[SUFFIX_MAX + 1];
	int sn = snprintf(suffix, sizeof suffix, ".tmp.%ld.XXXXXX", (long)getpid());
	size_t stem_len = strlen(stem), n;
	if (sn < 0 || pt2c__add_ovf(dir_len, stem_len + (size_t)sn + 1, &n))
		return NULL;
	char *t = pt2c__malloc(alloc, n);
	if (!t)
		return NULL;
	memcpy(t, path, dir_len);
	memcpy(t + dir_len, stem, stem_len);
	memcpy(t + dir_len + stem_len, suffix, (size_t)sn + 1);
	return t;
}

/* MARK: the registry of temporary files in flight */

/*
 * Fixed slots, so that a signal handler can walk them without locks or allocation. A slot is
 * FREE, FILLING (its owner copies a path in), READY (the path is a temporary file in flight),
 * UNLINKING (a handler is removing it) or GONE (removed by a handler; the owner frees the slot).
 */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "signal handlers need lock-free atomic ints");
enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_UNLINKING, SLOT_GONE };
#define SLOTS 64
#define SLOT_PATH 4096
static struct {
	atomic_int state;
	pid_t owner; /* a child made by fork() inherits the slots: it leaves its parent's files alone */
	char path[SLOT_PATH];
} slots[SLOTS];

static int tmpreg_add(const char *tmp_path)
{
	size_t n = strlen(tmp_path);
	if (n >= SLOT_PATH)
		return -1;
	for (int i = 0; i < SLOTS; i++) {
		int expect = SLOT_FREE;
		if (!atomic_compare_exchange_strong(&slots[i].state, &expect, SLOT_FILLING))
			continue;
		memcpy(slots[i].path, tmp_path, n + 1);
		slots[i].owner = getpid();
		atomic_store(&slots[i].state, SLOT_READY);
		return i;
	}
	return -1; /* all taken: this file is not removed by a signal handler */
}

void pt2c__tmpreg_drop(int slot)
{
	if (slot < 0 || slot >= SLOTS)
		return;
	for (;;) {
		int s = atomic_load(&slots[slot].state);
		if (s == SLOT_UNLINKING) { /* a handler on another thread is reading the path */
			sched_yield();
			continue;
		}
		if (atomic_compare_exchange_strong(&slots[slot].state, &s, SLOT_FREE))
			return;
	}
}

void pt2c__tmpreg_unlink_all(void)
{
	/* async-signal-safe: lock-free atomics, getpid and unlink only */
	pid_t self = getpid();
	for (int i = 0; i < SLOTS; i++) {
		int expect = SLOT_READY;
		if (!atomic_compare_exchange_strong(&slots[i].state, &expect, SLOT_UNLINKING))
			continue;
		if (slots[i].owner == self) {
			(void)unlink(slots[i].path);
			atomic_store(&slots[i].state, SLOT_GONE);
		} else {
			atomic_store(&slots[i].state, SLOT_READY);
		}
	}
}

int pt2c__tmp_create(char *tmpl, int *slot)
{
	/* No asynchronous signal between the file's creation and its registration: a handler that
	 * runs in that window would not know the file. Synchronous ones cannot be blocked usefully. */
	sigset_t all, old;
	sigfillset(&all);
	static const int sync_sigs[] = { SIGBUS, SIGSEGV, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT };
	for (size_t i = 0; i < sizeof sync_sigs / sizeof sync_sigs[0]; i++)
		sigdelset(&all, sync_sigs[i]);
	bool masked = pthread_sigmask(SIG_BLOCK, &all, &old) == 0;
	int fd = mkstemp(tmpl);
	int e = errno;
	*slot = fd >= 0 ? tmpreg_add(tmpl) : -1;
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return fd;
}

/* MARK: stale temporary files */

/* Does `name` read "<stem>.tmp.<pid>.XXXXXX" (pid: decimal without leading zero; X: [A-Za-z0-9])?
 * *pid receives the pid. */
static bool stale_name(const char *name, const char *stem, size_t stem_len, long *pid)
{
	if (strncmp(name, stem, stem_len) != 0 || strncmp(name + stem_len, ".tmp.", 5) != 0)
		return false;
	const char *p = name + stem_len + 5;
	long v = 0;
	size_t digits = 0;
	while (p[digits] >= '0' && p[digits] <= '9') {
		if (digits == 10)
			return false;
		v = v * 10 + (p[digits] - '0');
		digits++;
	}
	if (digits == 0 || p[0] == '0' || p[digits] != '.' || v > 0x7fffffffL)
		return false;
	p += digits + 1;
	for (int i = 0; i < 6; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	if (p[6] != '\0')
		return false;
	*pid = v;
	return true;
}

int pt2c__tmp_remove_stale(const char *path)
{
	char stem[STEM_MAX + 1];
	size_t dir_len;
	tmp_stem(path, stem, &dir_len);
	size_t stem_len = strlen(stem);
	char dir[4096];
	if (dir_len == 0) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		if (dir_len >= sizeof dir)
			return 0;
		memcpy(dir, path, dir_len);
		dir[dir_len] = '\0';
	}
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int dfd = dirfd(d), removed = 0;
	uid_t me = geteuid();
	long self = (long)getpid();
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		long pid;
		if (!stale_name(de->d_name, stem, stem_len, &pid) || pid == self)
			continue;
		/* the writer must be gone: ESRCH (EPERM means it runs, as another user) */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != me || st.st_nlink != 1)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
