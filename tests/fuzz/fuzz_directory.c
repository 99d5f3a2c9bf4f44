/*
 * fuzz_directory: directory.conf parsing (directory_load) from a file in the harness's
 * temporary folder; a loaded directory is then walked as the daemon does (find by id,
 * kind names).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "directory.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s", fuzz_write_file("directory.conf", data, size));
	struct diag d = { 0 };
	struct directory *dir = NULL;
	if (directory_load(path, &dir, &d) == 0) {
		for (size_t i = 0; i < dir->n; i++) {
			const struct authority *a = &dir->authorities[i];
			if (directory_find(dir, a->id) == NULL || a->n_languages == 0 ||
			    a->languages[a->n_languages] != NULL)
				abort();
			for (unsigned k = 0; k < 32; k++)
				if ((a->kinds & (1u << k)) != 0 &&
				    directory_kind_name(1u << k) == NULL)
					abort();
		}
		directory_free(dir);
	}
	diag_free(&d);
	return 0;
}
