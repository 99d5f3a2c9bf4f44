/*
 * fuzz: the temporary folder and file helpers of fuzz.h. Nothing here may write
 * outside the per-process folder, and the folder goes at exit so replays leave no trace.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[PATH_MAX];

static int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw);
static void fuzz_cleanup(void);

static int
fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void
fuzz_cleanup(void)
{
	if (fuzz_dir[0] != '\0')
		nftw(fuzz_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_tmpdir(void)
{
	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	const char *base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	int n = snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/rogatory-fuzz-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(fuzz_dir) || mkdtemp(fuzz_dir) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_dir;
}

const char *
fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), name);
	if (n < 0 || (size_t)n >= sizeof(path))
		abort();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);
		if (w <= 0) {
			perror(path);
			abort();
		}
		done += (size_t)w;
	}
	close(fd);
	return path;
}

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
