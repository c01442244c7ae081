/* rpxy: the command line; serving is supervisor.c's job. */
#include <stdio.h>

#include "cli.h"
#include "config/config.h"
#include "config/reference.h"
#include "config/summary.h"
#include "supervisor.h"

static int run_check(const char *path)
{
    struct cfg_diags diags = { 0 };
    struct cfg *cfg = cfg_load_file(path, &diags);
    cfg_diags_print(&diags, stderr);
    int status = 1;
    if (cfg) {
        cfg_print_summary(cfg, stdout);
        printf("%s: configuration is valid (%zu warning%s)\n", path, diags.n,
               diags.n == 1 ? "" : "s");
        status = 0;
    } else {
        fprintf(stderr, "%s: configuration is invalid (%zu error%s)\n", path, diags.n_errors,
                diags.n_errors == 1 ? "" : "s");
    }
    cfg_free(cfg);
    cfg_diags_free(&diags);
    return status;
}

int main(int argc, char **argv)
{
    struct cli_options o = cli_parse(argc, argv, stderr);
    switch (o.action) {
    case CLI_HELP: cli_print_help(stdout); return 0;
    case CLI_VERSION: printf("rpxy %s\n", RPXY_VERSION); return 0;
    case CLI_USAGE_ERROR: return 2;
    case CLI_REFERENCE: cfg_print_reference(stdout); return 0;
    case CLI_MAN: cli_print_man(stdout); return 0;
    case CLI_CONFIG_MAN: cfg_print_man(stdout); return 0;
    case CLI_CHECK: return run_check(o.config_path);
    case CLI_RUN: break;
    }
    return supervisor_run(&o);
}
