/*
 * nofile: raises (or sets) RLIMIT_NOFILE at start. Never fatal: a limit we cannot change
 * is logged with the value in force, and the listener survives exhaustion anyway
 * (server pauses accepting on EMFILE).
 */
#include "nofile.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"

uint64_t
nofile_apply(uint32_t max_open_files)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("descriptors: cannot read RLIMIT_NOFILE: %s", strerror(errno));
		return 0;
	}
	struct rlimit want = rl;
	if (max_open_files == 0)
		want.rlim_cur = rl.rlim_max;
	else {
		want.rlim_cur = max_open_files;
		/* Only root may raise the hard limit; it is then raised to match. */
		if (rl.rlim_max != RLIM_INFINITY && want.rlim_cur > rl.rlim_max)
			want.rlim_max = want.rlim_cur;
	}
	if (want.rlim_cur == rl.rlim_cur && want.rlim_max == rl.rlim_max) {
		log_info("descriptors: RLIMIT_NOFILE %llu (hard %llu)",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
		return rl.rlim_cur;
	}
	if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
		log_warn("descriptors: cannot set RLIMIT_NOFILE to %llu (hard %llu): %s; "
		         "running with %llu",
		    (unsigned long long)want.rlim_cur, (unsigned long long)want.rlim_max,
		    strerror(errno), (unsigned long long)rl.rlim_cur);
		return rl.rlim_cur;
	}
	log_notice("descriptors: RLIMIT_NOFILE set from %llu to %llu (hard %llu)",
	    (unsigned long long)rl.rlim_cur, (unsigned long long)want.rlim_cur,
	    (unsigned long long)want.rlim_max);
	return want.rlim_cur;
}
