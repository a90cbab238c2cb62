/* libFuzzer target: the daemon's YAML config (FUZZ_COLUMNS: the column map
 * instead). Both loaders read a path, so the input goes to a file under
 * /dev/shm first. Every problem must come back as diag lines, never a
 * crash; a config that loads must pass fini cleanly. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "feedio.h"
#include "fundwatch/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0')
        snprintf(path, sizeof path, "/dev/shm/fw-fuzz-%d.yaml", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    struct fw_diag d;
    fw_diag_init(&d);
#ifdef FUZZ_COLUMNS
    struct fw_colmap *m = fw_columns_load(path, &d);
    if (m == NULL && d.n == 0)
        abort();
    fw_colmap_free(m);
#else
    struct fw_config c;
    int rc = fw_config_load(path, &c, &d);
    if (rc < 0 && d.n == 0)
        abort();
    fw_config_fini(&c);
#endif
    for (size_t i = 0; i < d.n; i++)
        if (d.items[i] == NULL || d.items[i][0] == '\0')
            abort();
    fw_diag_fini(&d);
    return 0;
}
