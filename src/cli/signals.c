/*
 * signals.c -- what the pt2c command does on signals (issue 11 #3).
 *
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT: remove the temporary files of the writes in progress
 * (pt2c_temp_files_remove, async-signal-safe), then die by the same signal with its default
 * action, so the exit status is the signal's (130 for SIGINT in a shell, ...).
 * SIGBUS with BUS_ADRERR: a mapped input shrank under us (truncated or rewritten in place while
 * being read). Report "input file changed while being read: <path>", remove the temporary files
 * and exit with EXIT_IO (3). Any other SIGBUS: remove the temporary files, default action.
 * SIGXFSZ: ignored, so that a write over `ulimit -f` fails with EFBIG and is reported.
 * SIGKILL cannot be caught: it leaves the temporary file, which the next write of the same
 * output removes (see pt2c/common.h).
 */
#define _DEFAULT_SOURCE /* siginfo_t, BUS_ADRERR */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *volatile input_path;

void cli_set_input(const char *path)
{
	input_path = path;
}

static void put(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void die_by(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig); /* blocked while the handler runs: delivered, with the default action, on return */
}

static void on_terminate(int sig)
{
	pt2c_temp_files_remove();
	die_by(sig);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	pt2c_temp_files_remove();
	if (si && si->si_code == BUS_ADRERR) {
		const char *p = input_path;
		put(cli_progress_drawn() ? "\npt2c: " : "pt2c: ");
		put("input file changed while being read: ");
		put(p ? p : "(unknown)");
		put(" (it was truncated or rewritten while pt2c had it mapped; nothing was written)\n");
		_exit(EXIT_IO);
	}
	die_by(sig);
}

void cli_signals_install(void)
{
	/* over the file size limit a write fails with EFBIG (reported, the temporary file removed)
	 * instead of the process dying by SIGXFSZ with the temporary file left behind */
	signal(SIGXFSZ, SIG_IGN);
	static const int terminating[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigfillset(&sa.sa_mask); /* no other handler runs in the middle of this one */
	sa.sa_handler = on_terminate;
	for (size_t i = 0; i < sizeof terminating / sizeof terminating[0]; i++) {
		struct sigaction old;
		/* a signal ignored on entry (nohup, a shell's background job) stays ignored */
		if (sigaction(terminating[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(terminating[i], &sa, NULL);
	}
	memset(&sa, 0, sizeof sa);
	sigfillset(&sa.sa_mask);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
}
