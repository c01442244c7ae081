/* Unit tests for src/acme/registry.c: SPEC 10's file names (hashes computed
 * independently with Python's hashlib), the dir_url normalisation that fixes
 * rpxy's quirk, the start-up checks and the atomic write. */
#include "../tap.h"
#include "acme/registry.h"
#include "config/config.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char le[] = "https://acme-v02.api.letsencrypt.org/directory";

int main(void)
{
    char out[512];
    acme_dir_url_normalize(le, out, sizeof(out));
    TAP_STR_EQ(out, le, "a URL with a path is kept");
    acme_dir_url_normalize("HTTPS://CA.Example", out, sizeof(out));
    TAP_STR_EQ(out, "https://ca.example/", "no path: lower-cased and '/' added");
    acme_dir_url_normalize("https://ca.example:14000", out, sizeof(out));
    TAP_STR_EQ(out, "https://ca.example:14000/", "no path, a port");
    acme_dir_url_normalize("https://ca.example/Dir", out, sizeof(out));
    TAP_STR_EQ(out, "https://ca.example/dir", "lower-cased as rpxy does");

    acme_registry_hash("mailto:admin@example.com", le, out);
    TAP_STR_EQ(out, "J3OkSsRQbaycj2GkSrwOqm96aqpF2B5-8XBzYGczKXc", "account hash");
    acme_registry_hash("a.example", le, out);
    TAP_STR_EQ(out, "Tv07d1FIsL9sD4MKRub6H1MZ1gHW6kThe5aD-qiWZJ8", "certificate hash");

    struct cfg_acme acme = { .enabled = true,
                             .dir_url = "https://ca.example",
                             .email = "admin@example.com",
                             .registry_path = "/Reg/Path" };
    TAP_INT_EQ(acme_registry_cert_path(&acme, "a.example", out, sizeof(out)), 0, "cert path");
    TAP_STR_EQ(out, "/Reg/Path/a.example/cached_cert__0-o3zjY8O9dSPWHsW0_yMjlosPmnAAPsDkI47gUDFM",
               "upper-case registry kept, dir_url without a path normalised");
    TAP_INT_EQ(acme_registry_account_path(&acme, out, 10), -1, "a path that does not fit");

    /* start-up checks and writes in a scratch directory */
    char dir[] = "/tmp/rpxy-acme-test-XXXXXX";
    TAP_OK(mkdtemp(dir) != NULL, "scratch directory");
    char reg[600], path[700];
    snprintf(reg, sizeof(reg), "%s/Registry", dir);
    struct cfg_app app = { .server_name = "a.example" };
    app.tls.enabled = true;
    app.tls.acme = true;
    struct cfg cfg = { .apps = &app, .n_apps = 1 };
    cfg.acme = acme;
    cfg.acme.registry_path = reg;
    char err[512];
    TAP_INT_EQ(acme_registry_check(&cfg, err, sizeof(err)), 0, "a new registry is created");
    struct stat st;
    snprintf(path, sizeof(path), "%s/a.example", reg);
    TAP_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700, "domain directory 0700");
    snprintf(path, sizeof(path), "%s/a.example/f", reg);
    TAP_INT_EQ(acme_registry_write(path, "one", 3, err, sizeof(err)), 0, "write");
    TAP_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "new file 0600");
    chmod(path, 0640);
    TAP_INT_EQ(acme_registry_write(path, "two!", 4, err, sizeof(err)), 0, "rewrite");
    TAP_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "an existing file keeps its mode");
    size_t len = 0;
    char *data = acme_registry_read(path, 100, &len);
    TAP_OK(data && len == 4 && memcmp(data, "two!", 4) == 0, "read back");
    free(data);
    TAP_OK(acme_registry_read(path, 3, &len) == NULL, "a file over the cap is refused");

    snprintf(path, sizeof(path), "%s/file", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    cfg.acme.registry_path = path;
    TAP_INT_EQ(acme_registry_check(&cfg, err, sizeof(err)), -1, "registry that is a file");
    TAP_STR_EQ(err, "Invalid acme registry path", "rpxy's message");

    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    TAP_INT_EQ(system(path), 0, "cleanup");
    return tap_done();
}
